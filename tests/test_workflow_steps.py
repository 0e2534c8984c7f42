"""The workflows' shell steps, run as GitHub Actions runs them, on GitHub's published payloads.

Each test takes a `run:` script out of a workflow file in .github/workflows (never a copy of it),
gives it the environment the runner would: the standard variables (GITHUB_EVENT_NAME,
GITHUB_EVENT_PATH with a payload from tests/fixtures/github/github-webhooks, GITHUB_REPOSITORY,
GITHUB_API_URL pointing at the loopback GitHub, RUNNER_TEMP, GITHUB_STEP_SUMMARY, ...) plus the
step's own `env:` with its `${{ }}` expressions evaluated against that event, and runs it with
bash in a real git checkout. The "install" step's result is a venv whose promotion-bot is this
checkout's (a symlink), since tests have no network for pip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.adapters.files import sha256_file
from tests.conftest import EXAMPLE, git
from tests.github_fixtures import webhook_payload
from tests.github_server import FakeGitHub
from tests.test_workflows import PROJECT, REUSABLE_DIR, load_workflow

SERVER_URL = "https://github.com"
PIN = "0123456789abcdef0123456789abcdef01234567"
RULESET = "configs/routing_tables/routing_rules_v1.1.0.json"


# --- running one step ----------------------------------------------------------------------


def workflow_step(file: str, name_part: str) -> dict[str, Any]:
    workflow = load_workflow((REUSABLE_DIR / file).read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    matches = [step for step in job["steps"] if name_part in step.get("name", "")]
    assert len(matches) == 1, f"{file}: no single step named like {name_part!r}"
    return matches[0]


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PATH_PART = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d+)\]")


def evaluate(text: str, context: Mapping[str, Any]) -> str:
    """`${{ a.b[0].c || d.e }}` inside text: property paths and `||` only (all the workflows
    use in env:). Anything else is an error, so an expression this cannot read fails loudly."""

    def lookup(path: str) -> Any:
        value: Any = context
        position = 0
        while position < len(path):
            match = PATH_PART.match(path, position)
            assert match, f"cannot evaluate {path!r}"
            key = match.group(1) if match.group(1) is not None else int(match.group(2))
            if isinstance(value, Mapping):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int):
                value = value[key] if key < len(value) else None
            else:
                value = None
            position = match.end()
        return value

    def replace(match: re.Match[str]) -> str:
        for operand in match.group(1).split("||"):
            operand = operand.strip()
            assert operand.split(".")[0] in ("github", "inputs", "secrets", "steps", "runner"), \
                operand
            value = lookup(operand)
            if value not in (None, "", False, 0):
                return str(value)
        return ""

    return EXPRESSION.sub(replace, text)


@dataclass
class Runner:
    """One job's runner: a workspace, RUNNER_TEMP with the installed bot, an event."""

    workspace: Path
    temp: Path
    event_name: str
    payload: dict[str, Any]
    repository: str
    api_url: str = "https://api.github.com"
    inputs: dict[str, str] | None = None
    secrets: dict[str, str] | None = None
    steps: dict[str, Any] | None = None

    @property
    def summary(self) -> Path:
        return self.temp / "step-summary.md"

    def install_bot(self) -> None:
        bin_dir = self.temp / "promotion-bot" / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in ("promotion-bot", "python"):
            (bin_dir / name).symlink_to(Path(sys.executable).parent / name)

    def github_context(self) -> dict[str, Any]:
        pull = self.payload.get("pull_request") or {}
        pull_event = self.event_name in ("pull_request", "pull_request_target")
        return {
            "event_name": self.event_name,
            "event": self.payload,
            "repository": self.repository,
            "server_url": SERVER_URL,
            "api_url": self.api_url,
            "base_ref": pull.get("base", {}).get("ref", "") if pull_event else "",
            "head_ref": pull.get("head", {}).get("ref", "") if pull_event else "",
        }

    def run(self, step: dict[str, Any], extra_path: Path | None = None,
            extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        context = {"github": self.github_context(), "inputs": self.inputs or {},
                   "secrets": self.secrets or {}, "steps": self.steps or {},
                   "runner": {"temp": str(self.temp)}}
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(self.payload))
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("GITHUB_", "PROMOTION_BOT_", "RUNNER_"))}
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": self.event_name, "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": self.repository, "GITHUB_SERVER_URL": SERVER_URL,
            "GITHUB_API_URL": self.api_url, "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "1", "RUNNER_TEMP": str(self.temp),
            # the loopback GitHub needs none of the courtesy pacing api.github.com asks for
            "PROMOTION_BOT_REQUEST_PACE": "0",
        })
        if extra_path is not None:
            env["PATH"] = f"{extra_path}{os.pathsep}{env['PATH']}"
        env.update(extra_env or {})
        for name, value in (step.get("env") or {}).items():
            env[name] = evaluate(value, context)
        script = self.temp / "step.sh"
        script.write_text(step["run"])
        # GitHub's default for `run:` on Linux: bash -e {0}
        return subprocess.run(["bash", "-e", str(script)], cwd=self.workspace, env=env,
                              capture_output=True, text=True, timeout=120, check=False)


def make_runner(tmp_path: Path, workspace: Path, event_name: str, payload: dict[str, Any],
                **kwargs: Any) -> Runner:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    repository = payload["repository"]["full_name"]
    return Runner(workspace, temp, event_name, payload, repository, **kwargs)


# --- the install step (every reusable workflow has the same one) ---------------------------

PYTHON_STUB = """#!/usr/bin/env bash
# stands in for `python`: records its arguments, makes the venv layout the step expects
echo "python $*" >> "$STUB_LOG"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  printf '#!/usr/bin/env bash\\necho "promotion-bot $*" >> "$STUB_LOG"\\n' > "$3/bin/promotion-bot"
  chmod +x "$3/bin/promotion-bot"
fi
"""
REUSABLE = ["promotion-checks.yml", "promotion-gate.yml", "promotion-record.yml",
            "promotion-rollback.yml"]


def stub_python(tmp_path: Path) -> tuple[Path, Path]:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "python").write_text(PYTHON_STUB)
    (stubs / "python").chmod(0o755)
    return stubs, tmp_path / "stub.log"


def action_step() -> dict[str, Any]:
    """The one step of promotion-bot's composite action (action.yml at the project's root)."""
    action = load_workflow((PROJECT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    (step,) = action["runs"]["steps"]
    return step  # type: ignore[no-any-return]


def test_action_installs_exactly_its_own_files(tmp_path: Path) -> None:
    """The composite action installs the files the runner fetched for it (GITHUB_ACTION_PATH:
    the pinned commit), nothing named or resolved elsewhere."""
    stubs, log = stub_python(tmp_path)
    source = tmp_path / "_actions" / "OWNER" / "promotion-bot" / PIN
    source.mkdir(parents=True)
    (source / "pyproject.toml").write_text('[project]\nname = "promotion-bot"\n')
    runner = make_runner(tmp_path, tmp_path, "push", webhook_payload("push", "payload.json"))
    outputs = tmp_path / "github-output"
    result = runner.run(action_step(), extra_path=stubs,
                        extra_env={"STUB_LOG": str(log), "GITHUB_ACTION_PATH": str(source),
                                   "GITHUB_OUTPUT": str(outputs)})
    assert result.returncode == 0, result.stderr
    venv = runner.temp / "promotion-bot"
    assert log.read_text().splitlines() == [
        f"python -m venv {venv}",
        f"python -m pip install --quiet --disable-pip-version-check {source}",
        "promotion-bot --version",
    ]
    assert outputs.read_text() == f"bin={venv}/bin\n"


def test_action_refuses_a_folder_that_is_not_promotion_bot(tmp_path: Path) -> None:
    stubs, log = stub_python(tmp_path)
    runner = make_runner(tmp_path, tmp_path, "push", webhook_payload("push", "payload.json"))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.run(action_step(), extra_path=stubs,
                        extra_env={"STUB_LOG": str(log), "GITHUB_ACTION_PATH": str(empty),
                                   "GITHUB_OUTPUT": str(tmp_path / "out")})
    assert result.returncode == 2
    assert "::error::" in result.stdout and "pyproject.toml" in result.stdout
    assert not log.exists()


@pytest.mark.parametrize("file", REUSABLE)
def test_each_reusable_workflow_installs_the_bot_through_its_action_at_bot_ref(file: str) -> None:
    fetch = workflow_step(file, "Fetch promotion-bot")
    assert fetch["with"]["repository"] == "${{ inputs.bot-repository }}"
    assert fetch["with"]["ref"] == "${{ inputs.bot-ref }}"
    install = workflow_step(file, "Install promotion-bot")
    assert install["uses"] == "./" + fetch["with"]["path"]


@pytest.mark.parametrize("file", REUSABLE)
def test_pin_check_accepts_a_full_commit_sha(tmp_path: Path, file: str) -> None:
    runner = make_runner(tmp_path, tmp_path, "push", webhook_payload("push", "payload.json"),
                         inputs={"bot-repository": "OWNER/promotion-bot", "bot-ref": PIN})
    result = runner.run(workflow_step(file, "Refuse anything but a pinned"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("file", REUSABLE)
@pytest.mark.parametrize("repository, ref", [
    ("OWNER/promotion-bot", "main"),  # a branch moves
    ("OWNER/promotion-bot", "v1.2.0"),  # so does a tag
    ("OWNER/promotion-bot", PIN[:12]),  # a short SHA is ambiguous
    ("OWNER/promotion-bot", PIN.upper()),
    ("OWNER/promotion-bot", f"{PIN}\nmain"),
    ("OWNER/promotion-bot@main#", PIN),
    ("OWNER/promotion-bot x", PIN),
    ("../../evil", PIN),
])
def test_pin_check_refuses_anything_but_a_commit(
        tmp_path: Path, file: str, repository: str, ref: str) -> None:
    """The step before the bot is fetched: a refusal stops the job before anything is checked
    out or installed (tests/test_workflows.py asserts the order)."""
    runner = make_runner(tmp_path, tmp_path, "push", webhook_payload("push", "payload.json"),
                         inputs={"bot-repository": repository, "bot-ref": ref})
    result = runner.run(workflow_step(file, "Refuse anything but a pinned"))
    assert result.returncode == 2
    assert "::error::" in result.stdout


# --- checks: promotion-bot check on the merge commit of a pull request ---------------------


def governed_origin(
    tmp_path: Path, base_ref: str, prepare: Callable[[Path], None] | None = None
) -> tuple[Path, str, str]:
    """A bare origin whose `base_ref` is the example repository (changed by `prepare`) and
    whose `changes` branch promotes routing rules 1.1.0 with its change request; returns
    (origin, base, head)."""
    work = tmp_path / "author"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("snapshots"))
    if prepare is not None:
        prepare(work)
    git(work, "init", "-q", "-b", base_ref)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "base")
    base = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "changes")
    source = work / "configs/routing_tables/routing_rules_v1.0.0.json"
    (work / RULESET).write_text(source.read_text().replace('"1.0.0"', '"1.1.0"'))
    (work / "change-requests/CR-2026-0005.yaml").write_text(
        "change_id: CR-2026-0005\nchange_type: ruleset\ntarget: routing-rules\n"
        'title: Tune the fraud keywords\nproposed_version: "1.1.0"\ncurrent_version: "1.0.0"\n'
        f"artifacts:\n  - path: {RULESET}\n    sha256: {sha256_file(work / RULESET)}\n"
        "rollback_plan: Revert the pull request; 1.0.0 becomes current again.\n")
    subprocess.run(["bash", "scripts/update_pack.sh"], cwd=work, check=True,
                   capture_output=True)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "CR-2026-0005")
    head = git(work, "rev-parse", "HEAD")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(origin))
    return origin, base, head


def checkout_merge_commit(tmp_path: Path, origin: Path, base_ref: str) -> Path:
    """What actions/checkout does for pull_request with fetch-depth 0: every branch as
    origin/*, and the merge of the head into the base (refs/pull/N/merge) checked out."""
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", "--no-checkout", str(origin), str(workspace))
    git(workspace, "checkout", "-q", "--detach", f"origin/{base_ref}")
    git(workspace, "merge", "-q", "--no-ff", "origin/changes", "-m", "Merge into base")
    return workspace


def test_checks_step_on_a_published_pull_request_payload(tmp_path: Path) -> None:
    payload = webhook_payload("pull_request", "opened.payload.json")
    base_ref = payload["pull_request"]["base"]["ref"]  # "master" in GitHub's example
    origin, base, head = governed_origin(tmp_path, base_ref)
    workspace = checkout_merge_commit(tmp_path, origin, base_ref)
    runner = make_runner(tmp_path, workspace, "pull_request", payload)
    runner.install_bot()

    result = runner.run(workflow_step("promotion-checks.yml", "Run the required checks"))

    assert result.returncode == 0, result.stdout + result.stderr
    evidence = json.loads((runner.temp / "promotion-evidence.json").read_text())
    assert evidence["result"] == "passed"
    assert (evidence["base"]["ref"], evidence["base"]["sha"]) == (f"origin/{base_ref}", base)
    assert evidence["head"]["sha"] == git(workspace, "rev-parse", "HEAD")
    assert [cr["change_id"] for cr in evidence["change_requests"]] == ["CR-2026-0005"]
    assert head in git(workspace, "log", "--format=%H")
    summary = runner.summary.read_text()
    assert "promotion-bot check passed" in summary and "CR-2026-0005" in summary
    # The upload step takes the evidence from where this step wrote it.
    upload = workflow_step("promotion-checks.yml", "Upload the evidence")
    assert evaluate(upload["with"]["path"], {"runner": {"temp": str(runner.temp)}}) == str(
        runner.temp / "promotion-evidence.json")


def test_checks_step_on_a_merge_group(tmp_path: Path) -> None:
    origin, base, _head = governed_origin(tmp_path, "main")
    workspace = checkout_merge_commit(tmp_path, origin, "main")
    merged = git(workspace, "rev-parse", "HEAD")
    # No merge_group example is published with the fixtures; the fields GitHub documents.
    payload = {
        "action": "checks_requested",
        "merge_group": {"head_sha": merged, "head_ref": f"refs/heads/gh-readonly-queue/main/"
                        f"pr-2-{base}", "base_sha": base, "base_ref": "refs/heads/main"},
        "repository": webhook_payload("pull_request", "opened.payload.json")["repository"],
    }
    runner = make_runner(tmp_path, workspace, "merge_group", payload)
    runner.install_bot()

    result = runner.run(workflow_step("promotion-checks.yml", "Run the required checks"))

    assert result.returncode == 0, result.stdout + result.stderr
    evidence = json.loads((runner.temp / "promotion-evidence.json").read_text())
    assert evidence["base"]["sha"] == base and evidence["head"]["sha"] == merged


@pytest.mark.parametrize("event, fixture", [
    ("pull_request_target", ("pull_request", "opened.payload.json")),
    ("workflow_run", ("workflow_run", "completed.with-pull-requests.payload.json")),
    ("push", ("push", "payload.json")),
])
def test_checks_step_runs_only_in_the_untrusted_events(
        tmp_path: Path, event: str, fixture: tuple[str, str] | None) -> None:
    """The checks run pull request code: called from a privileged event they refuse."""
    payload = webhook_payload(*fixture)
    runner = make_runner(tmp_path, tmp_path, event, payload)
    runner.install_bot()
    result = runner.run(workflow_step("promotion-checks.yml", "Run the required checks"))
    assert result.returncode == 2
    assert f"not {event}" in result.stdout
    assert not (runner.temp / "promotion-evidence.json").exists()


WHEEL_NAME = "govdep-1.0-py3-none-any.whl"


def write_wheel(folder: Path) -> Path:
    """A tiny wheel of the package `govdep`, installable offline (pip --no-index)."""
    files = {
        "govdep/__init__.py": b"ANSWER = 42\n",
        "govdep-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: govdep\nVersion: 1.0\n",
        "govdep-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{name},sha256="
        f"{base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n"
        for name, data in files.items()
    ) + "govdep-1.0.dist-info/RECORD,,\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("govdep-1.0.dist-info/RECORD", record)
    return wheel


def needs_a_dependency(work: Path) -> None:
    """The governed repository's ruleset checks import a package of its own requirements."""
    write_wheel(work / "vendor")
    (work / "requirements-checks.txt").write_text(f"--no-index\n./vendor/{WHEEL_NAME}\n")
    policy = work / ".promotion/policy.yaml"
    text = policy.read_text()
    text = text.replace(
        "checks:\n",
        "checks:\n  uses-dependency:\n"
        "    run: [python3, -c, 'import govdep; print(\"govdep\", govdep.ANSWER)']\n",
        1,
    ).replace(
        "required_checks: [rules-lint, rules-simulate, pack-verify]",
        "required_checks: [uses-dependency, rules-lint, rules-simulate, pack-verify]",
    )
    policy.write_text(text)


@pytest.mark.parametrize(
    ("inputs", "code", "dependency"),
    [
        ({}, 1, "ModuleNotFoundError: No module named 'govdep'"),
        ({"requirements": "requirements-checks.txt"}, 0, "govdep 42"),
        ({"setup": f"python -m pip install --no-index vendor/{WHEEL_NAME}"}, 0, "govdep 42"),
    ],
    ids=["nothing-installed", "requirements", "setup-command"],
)
def test_checks_step_installs_the_governed_repositorys_dependencies(
    tmp_path: Path, inputs: dict[str, str], code: int, dependency: str
) -> None:
    payload = webhook_payload("pull_request", "opened.payload.json")
    base_ref = payload["pull_request"]["base"]["ref"]
    origin, _base, _head = governed_origin(tmp_path, base_ref, prepare=needs_a_dependency)
    workspace = checkout_merge_commit(tmp_path, origin, base_ref)
    runner = make_runner(tmp_path, workspace, "pull_request", payload, inputs=inputs)
    runner.install_bot()
    python = Path(sys.executable).parent  # `python` on PATH, as setup-python leaves it

    setup = runner.run(workflow_step("promotion-checks.yml", "dependencies"), extra_path=python)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    # an environment only when there is something to install in it
    assert (runner.temp / "checks-env/bin/python").exists() == bool(inputs)
    result = runner.run(workflow_step("promotion-checks.yml", "Run the required checks"),
                        extra_path=python)

    assert result.returncode == code, result.stdout + result.stderr
    evidence = json.loads((runner.temp / "promotion-evidence.json").read_text())
    check = next(c for c in evidence["checks"] if c["name"] == "uses-dependency")
    assert dependency in check["output"]["tail"]


def test_checks_step_refuses_a_requirements_file_that_is_not_there(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, tmp_path, "pull_request",
                         webhook_payload("pull_request", "opened.payload.json"),
                         inputs={"requirements": "requirements/missing.txt"})
    result = runner.run(workflow_step("promotion-checks.yml", "dependencies"),
                        extra_path=Path(sys.executable).parent)
    assert result.returncode == 2
    assert "::error::requirements: requirements/missing.txt is not a file" in result.stdout
    assert not (runner.temp / "checks-env").exists()  # refused before making the environment


# --- gate: fails closed without the App's credentials --------------------------------------


@pytest.mark.parametrize("event, fixture", [
    ("pull_request_target", ("pull_request", "synchronize.payload.json")),
    ("workflow_run", ("workflow_run", "completed.with-pull-requests.payload.json")),
])
@pytest.mark.parametrize("secrets", [{}, {"PROMOTION_BOT_APP_ID": "12345"},
                                     {"PROMOTION_BOT_APP_PRIVATE_KEY": "-----BEGIN..."}])
def test_gate_step_without_app_credentials_writes_nothing_and_fails(
        tmp_path: Path, event: str, fixture: tuple[str, str], secrets: dict[str, str]) -> None:
    """An environment secret that did not resolve (wrong branch, not passed by the caller)
    is an empty string: the gate stops before asking GitHub anything, and the pull request
    keeps no status, so it stays unmergeable."""
    payload = webhook_payload(*fixture)
    with FakeGitHub() as fake:
        fake.add_repo(payload["repository"]["full_name"])
        runner = make_runner(tmp_path, tmp_path, event, payload, api_url=fake.base_url,
                             secrets=secrets)
        runner.install_bot()
        result = runner.run(workflow_step("promotion-gate.yml", "Evaluate approvals"))
        assert result.returncode == 2
        assert "PROMOTION_BOT_APP_ID and PROMOTION_BOT_APP_PRIVATE_KEY" in result.stdout
        assert fake.requests == [] and fake.statuses == []


# --- record: every unrecorded merge, pushed, nothing persisted ------------------------------


def serve_history(fake: FakeGitHub, repository: str, origin: Path, snapshots: Path,
                  evidence: Path) -> None:
    """What GitHub knows about a GovernedHistory: its merged pull requests (with reviews and
    team members) and the evidence artifacts their checks runs uploaded."""
    fake.add_repo(repository, git_dir=origin)
    for path in sorted(snapshots.glob("*.json")):
        data = json.loads(path.read_text())
        for team, entry in data["teams"].items():
            org, slug = team.split("/")
            fake.add_team(org, slug, {m["login"]: "active" for m in entry["members"]})
        pull = data["pull_request"]
        fake.add_pull(repository, pull["number"], user=pull["user"]["login"],
                      base_ref=pull["base"]["ref"], base_sha=pull["base"]["sha"],
                      head_ref=pull["head"]["ref"], head_sha=pull["head"]["sha"],
                      title=pull["title"], state="closed", merged=True,
                      merge_commit_sha=pull["merge_commit_sha"],
                      merged_by=pull["merged_by"]["login"])
        for review in data["reviews"]:
            fake.add_review(repository, pull["number"], user=review["user"]["login"],
                            state=review["state"], commit_id=review["commit_id"],
                            submitted_at=review["submitted_at"])
    for path in sorted(evidence.glob("*.json")):
        document = json.loads(path.read_text())
        fake.add_artifact(repository, "promotion-evidence", head_sha=document["head"]["sha"],
                          files={"promotion-evidence.json": path.read_bytes()})


def test_record_step_records_every_unrecorded_merge_and_pushes_the_tags(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from tests.ledger_repo import GovernedHistory

    history = GovernedHistory.create(tmp_path)
    origin = tmp_path / "origin.git"
    history.git("init", "-q", "--bare", str(origin))
    history.git("remote", "add", "origin", str(origin))
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")  # the run of the first push was replaced
    history.git("push", "-q", "origin", "main")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(origin), str(workspace))  # actions/checkout, depth 0
    config_before = (workspace / ".git" / "config").read_text()
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()

    payload = webhook_payload("push", "payload.json")
    with FakeGitHub() as fake:
        serve_history(fake, payload["repository"]["full_name"], origin, history.snapshots,
                      history.evidence)
        runner = make_runner(
            tmp_path, workspace, "push", payload, api_url=fake.base_url,
            secrets={"PROMOTION_BOT_SIGNING_KEY": history.key_file.read_text(),
                     "PROMOTION_BOT_APP_ID": str(fake.app_id),
                     "PROMOTION_BOT_APP_PRIVATE_KEY": app_key},
            steps={"app-token": {"outputs": {"token": "ghs_installation", "app-slug": "promo"}}})
        runner.install_bot()
        step = workflow_step("promotion-record.yml", "Record every unrecorded merge")

        first = runner.run(step)
        # the facts come from GitHub through the App: both merges were approved, so both are
        # recorded as clean promotions and the run is green
        assert first.returncode == 0, first.stdout + first.stderr
        assert fake.installation_tokens, "the App's installation token was not used"
        assert fake.server_errors == []
    remote_tags = git(workspace, "ls-remote", "--tags", "origin")
    for change_id in ("CR-2026-0005", "CR-2026-0006"):
        assert f"refs/tags/promotion/{change_id}" in remote_tags
    assert "violation" not in first.stdout
    tagger = git(workspace, "for-each-ref", "--format=%(taggername) %(taggeremail)",
                 "refs/tags/promotion/CR-2026-0006")
    assert tagger == "promo[bot] <promo[bot]@users.noreply.github.com>"
    assert (workspace / ".git" / "config").read_text() == config_before  # no credential kept
    assert "ghs_installation" not in first.stdout + first.stderr

    second = runner.run(step)  # nothing left to record: no GitHub needed
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to record" in second.stdout
    assert git(workspace, "ls-remote", "--tags", "origin") == remote_tags


def test_record_step_without_the_signing_key_writes_nothing(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, tmp_path, "push", webhook_payload("push", "payload.json"),
                         secrets={"PROMOTION_BOT_APP_ID": "1", "PROMOTION_BOT_APP_PRIVATE_KEY": "k"},
                         steps={"app-token": {"outputs": {"token": "t", "app-slug": "promo"}}})
    runner.install_bot()
    result = runner.run(workflow_step("promotion-record.yml", "Record every unrecorded merge"))
    assert result.returncode == 2
    assert "PROMOTION_BOT_SIGNING_KEY is empty" in result.stdout


# --- rollback and the review trigger ------------------------------------------------------


@pytest.mark.parametrize("change_id", ["main", "CR-2026-42", "CR-2026-0042; curl x | sh",
                                       "$(id)", "CR-2026-0042\nCR-2026-0043", ""])
def test_rollback_step_refuses_a_malformed_change_id(tmp_path: Path, change_id: str) -> None:
    runner = make_runner(tmp_path, tmp_path, "workflow_dispatch",
                         webhook_payload("workflow_dispatch", "payload.json"),
                         inputs={"change_id": change_id},
                         secrets={"PROMOTION_BOT_APP_ID": "1", "PROMOTION_BOT_APP_PRIVATE_KEY": "k"})
    # no bot installed: reaching it would fail with 127, not the step's own 2
    result = runner.run(workflow_step("promotion-rollback.yml", "Open the revert"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "change_id must look like CR-2026-0042" in result.stdout


def test_review_trigger_does_nothing(tmp_path: Path) -> None:
    caller = load_workflow((REUSABLE_DIR.parents[1] / "examples" / "governed-repo" / ".github" /
                            "workflows" / "promotion-review-trigger.yml").read_text())
    (job,) = caller["jobs"].values()
    (step,) = job["steps"]
    runner = make_runner(tmp_path, tmp_path, "pull_request_review",
                         webhook_payload("pull_request_review", "submitted.payload.json"))
    result = runner.run(step)
    assert result.returncode == 0
    assert sorted(p.name for p in runner.temp.iterdir()) == ["event.json", "step.sh"]


# --- concurrency: one gate per pull request, one recorder per repository --------------------


def concurrency_group(file: str, event_name: str, payload: dict[str, Any]) -> str:
    workflow = load_workflow((REUSABLE_DIR / file).read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    context = {"github": {"repository": "example-org/intake", "event_name": event_name,
                          "event": payload}}
    return evaluate(job["concurrency"]["group"], context)


def test_gate_runs_for_one_pull_request_queue_behind_each_other() -> None:
    """A push (pull_request_target) and a review (workflow_run) of the same pull request share
    one group, so an older evaluation can never overwrite a newer one's status; other pull
    requests have their own group, so their pending runs never replace each other."""
    opened = webhook_payload("pull_request", "opened.payload.json")
    review_run = webhook_payload("workflow_run", "completed.with-pull-requests.payload.json")
    number = review_run["workflow_run"]["pull_requests"][0]["number"]
    assert opened["pull_request"]["number"] == number
    push_group = concurrency_group("promotion-gate.yml", "pull_request_target", opened)
    review_group = concurrency_group("promotion-gate.yml", "workflow_run", review_run)
    assert push_group == review_group == f"promotion-gate-example-org/intake-{number}"
    other = json.loads(json.dumps(opened))
    other["pull_request"]["number"] = number + 1
    assert concurrency_group("promotion-gate.yml", "pull_request_target", other) != push_group
    # A fork's review: GitHub lists no pull request; the run is keyed by the head commit.
    fork_run = json.loads(json.dumps(review_run))
    fork_run["workflow_run"]["pull_requests"] = []
    assert concurrency_group("promotion-gate.yml", "workflow_run", fork_run).endswith(
        fork_run["workflow_run"]["head_sha"])
    # The schedule re-judges every open pull request: one queue of its own.
    scheduled = concurrency_group("promotion-gate.yml", "schedule", {"schedule": "7,37 * * * *"})
    assert scheduled == "promotion-gate-example-org/intake-schedule"


def test_one_recorder_per_repository_whatever_the_push() -> None:
    groups = {concurrency_group("promotion-record.yml", "push", webhook_payload("push", name))
              for name in ("payload.json", "with-new-branch.payload.json")}
    assert groups == {"promotion-record-example-org/intake"}


# --- gate: the whole step with the App's credentials, on GitHub's published payloads --------


@pytest.mark.parametrize("event, fixture", [
    ("pull_request_target", ("pull_request", "synchronize.payload.json")),
    ("workflow_run", ("workflow_run", "completed.with-pull-requests.payload.json")),
    ("schedule", None),  # every open pull request into main, again
])
def test_gate_step_with_the_app_sets_the_status_on_the_evaluated_head(
        tmp_path: Path, event: str, fixture: tuple[str, str] | None) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from tests.flows.test_gate import TEAMS, make_origin

    origin, base, head = make_origin(tmp_path)
    # a schedule's event names only its cron; GitHub sets GITHUB_REPOSITORY
    payload = webhook_payload(*fixture) if fixture else {
        "schedule": "7,37 * * * *", "repository": {"full_name": "example-org/intake"}}
    # the event names the commit it is about: the head of the pull request
    if event == "workflow_run":
        payload["workflow_run"]["head_sha"] = head
    elif event != "schedule":
        payload["pull_request"]["head"]["sha"] = head
    repository = payload["repository"]["full_name"]
    number = 2  # the pull request both published payloads name
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with FakeGitHub() as fake:
        fake.add_repo(repository, git_dir=origin)
        for slug, members in TEAMS.items():
            fake.add_team("example-org", slug, members)
        fake.add_pull(repository, number, user="gh-author", base_ref="main", base_sha=base,
                      head_ref="cr-5", head_sha=head)
        for login in ("rita", "alice"):
            fake.add_review(repository, number, user=login, state="APPROVED", commit_id=head)
        runner = make_runner(
            tmp_path, tmp_path, event, payload, api_url=fake.base_url,
            secrets={"PROMOTION_BOT_APP_ID": str(fake.app_id),
                     "PROMOTION_BOT_APP_PRIVATE_KEY": app_key})
        if event == "schedule":
            del payload["repository"]
        runner.install_bot()
        result = runner.run(workflow_step("promotion-gate.yml", "Evaluate approvals"))
        assert result.returncode == 0, result.stdout + result.stderr
        statuses = [s for s in fake.statuses if s["context"] == "promotion/approvals"]
        assert [(s["sha"], s["state"]) for s in statuses] == [(head, "pending"),
                                                                (head, "success")]
        [comment] = fake.comments
        assert comment["user"] == "promotion-bot[bot]"  # the App's identity, which it edits
        assert fake.installation_tokens  # through the App, not a workflow token
        assert fake.server_errors == []


@pytest.mark.parametrize(("governed", "expected"), [
    ("", "pending"),  # the default branch only: a pull request into release/1 is not judged
    ("main release/*", "success"),
])
def test_gate_step_judges_the_branches_the_caller_governs(
        tmp_path: Path, governed: str, expected: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from tests.flows.test_gate import TEAMS, make_origin

    origin, base, head = make_origin(tmp_path)
    git(origin, "branch", "release/1", base)
    payload = webhook_payload("pull_request", "synchronize.payload.json")
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["base"]["ref"] = "release/1"
    repository = payload["repository"]["full_name"]
    number = payload["pull_request"]["number"]
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with FakeGitHub() as fake:
        fake.add_repo(repository, git_dir=origin)
        for slug, members in TEAMS.items():
            fake.add_team("example-org", slug, members)
        fake.add_pull(repository, number, user="gh-author", base_ref="release/1", base_sha=base,
                      head_ref="cr-5", head_sha=head)
        for login in ("rita", "alice"):
            fake.add_review(repository, number, user=login, state="APPROVED", commit_id=head)
        runner = make_runner(
            tmp_path, tmp_path, "pull_request_target", payload, api_url=fake.base_url,
            inputs={"governed-branches": governed},
            secrets={"PROMOTION_BOT_APP_ID": str(fake.app_id),
                     "PROMOTION_BOT_APP_PRIVATE_KEY": app_key})
        runner.install_bot()
        result = runner.run(workflow_step("promotion-gate.yml", "Evaluate approvals"))
        assert result.returncode == 0, result.stdout + result.stderr
        statuses = [s for s in fake.statuses if s["context"] == "promotion/approvals"]
        assert statuses[-1]["state"] == expected, statuses[-1]
        assert fake.server_errors == []
