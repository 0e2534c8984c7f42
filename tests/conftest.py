"""Shared test set-up: no network but loopback, deterministic git, the example repository."""

from __future__ import annotations

import compileall
import fcntl
import ipaddress
import os
import pickle
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import promotion_bot
from promotion_bot.flows.demo import DemoResult, run_demo
from tests.gitrepo import built_once

# Fuzzing budget (tests/test_fuzz_loaders.py). "ci" is the default: small and derandomised, so
# the suite stays fast and a failure reproduces; `--hypothesis-profile=deep` is for a long
# local run that explores new inputs each time.
FUZZ_EXAMPLES = {"ci": 40, "deep": 4000}
settings.register_profile(
    "ci", max_examples=FUZZ_EXAMPLES["ci"], deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep", max_examples=FUZZ_EXAMPLES["deep"], deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "governed-repo"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise OSError(f"tests may not reach the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network_and_fixed_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    gitconfig = tmp_path_factory.getbasetemp() / "gitconfig"
    if not gitconfig.exists():
        gitconfig.write_text(
            "[user]\n\tname = Test Author\n\temail = author@example.com\n"
            "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
            "[tag]\n\tgpgsign = false\n[advice]\n\tdetachedHead = false\n"
        )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME",
                 "GITHUB_TOKEN", "PROMOTION_BOT_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)


def pytest_configure(config: pytest.Config) -> None:
    """Write the package's bytecode once, before the workers start. The suite starts
    promotion-bot as a subprocess about two hundred times; where PYTHONDONTWRITEBYTECODE is
    set (as in some CI images) and the install is editable, each of those would otherwise
    compile every module it imports again (the generated schema validators alone take
    tenths of a second). compileall writes even when that variable is set; a read-only
    install is left as it is."""
    if hasattr(config, "workerinput"):
        return
    package = Path(promotion_bot.__file__).parent
    if os.access(package, os.W_OK):
        compileall.compile_dir(package, quiet=2)


# modules whose tests wait seconds on real processes (venvs, wheels, workflow steps, timeouts):
# run early, they share the workers with quick tests instead of being the last ones left
SLOW_MODULES = (
    "tests/test_workflow_steps.py",
    "tests/test_packaging.py",
    "tests/test_workflows.py",
    "tests/test_adoption_guide.py",
    "tests/adapters/test_sandbox.py",
    "tests/core/formats/test_schema_fast_path.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read the one run of the demo (`demo_run`) come first: pytest-xdist hands
    each worker a first batch in this order, so one worker runs the demo at the start and the
    other never waits for it on the fixture's lock. The slow modules come next: at the end of
    the order they left one worker busy for ten seconds while the other had nothing to do."""
    def order(item: pytest.Item) -> tuple[bool, bool]:
        module = item.nodeid.split("::", 1)[0]
        return "demo_run" not in getattr(item, "fixturenames", ()), module not in SLOW_MODULES

    items.sort(key=order)


@pytest.fixture(scope="session", autouse=True)
def _python3_is_the_tests_python() -> Iterator[None]:
    """The checks the tests run (`python3 tools/ieimctl.py ...`) find the Python that runs the
    tests first on PATH, as in an activated virtual environment, not whichever `python3` the
    machine has (a pyenv shim, for one, is a bash script that costs 0.1 s of CPU per start)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(Path(sys.executable).parent), prepend=os.pathsep)
        yield


@pytest.fixture
def git_processes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The arguments of each git process the adapters start through `git.run_git` from here
    on (every git process but the background `worktree add`)."""
    from promotion_bot.adapters import git as git_adapter

    seen: list[tuple[str, ...]] = []
    real_run_git = git_adapter.run_git

    def counted(repo: Path, *args: str, **kwargs: Any) -> Any:
        seen.append(args)
        return real_run_git(repo, *args, **kwargs)

    monkeypatch.setattr(git_adapter, "run_git", counted)
    return seen


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


@pytest.fixture
def example_repo(tmp_path: Path) -> Iterator[Path]:
    """A copy of examples/governed-repo as its own git repository, committed on main (built
    once per worker, then copied with its .git)."""
    root = tmp_path / "governed"
    built_once("example_repo", root, commit_example)
    yield root


def commit_example(root: Path) -> None:
    """examples/governed-repo copied to `root` and committed on main in a new repository."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("snapshots"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial promotions")


@dataclass
class DemoRun:
    """One run of `promotion-bot demo` (the flow), with every line it reported."""

    result: DemoResult
    lines: list[str]


class RecordingListener:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def heading(self, text: str) -> None:
        self.lines.append(f"== {text}")

    def note(self, text: str) -> None:
        self.lines.append(f"# {text}")

    def command(self, text: str) -> None:
        self.lines.append(f"$ {text}")

    def output(self, text: str) -> None:
        self.lines.append(text)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo, run once for the whole session: under pytest-xdist the first worker that
    needs it runs it and the others wait for its result (a lock file in the folder the
    workers share)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    saved = shared / "demo-run.pickle"
    with (shared / "demo-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if saved.exists():
            loaded: DemoRun = pickle.loads(saved.read_bytes())
            return loaded
        listener = RecordingListener()
        result = run_demo(shared / "promotion-bot-demo-tests", listener)
        run = DemoRun(result, listener.lines)
        saved.write_bytes(pickle.dumps(run))
        return run
