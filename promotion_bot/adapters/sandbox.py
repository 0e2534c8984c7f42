"""The demo's sandbox: real git repositories in a folder of their own, where the people of the
example act under their own names, and the processes they run (`promotion-bot`, the example's
scripts) with their output streamed as it comes.

Nothing here reads the user's git configuration or acts as CI: every process gets the caller's
environment without GIT_*, GITHUB_* and PROMOTION_BOT_* variables (a demo run inside GitHub
Actions must not write job summaries or pick up a real signing key), with no global or system
git configuration (no signing hooks, no aliases), and with the identity of the person acting.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.core.errors import ConfigError, GitError, PromotionBotError

COMMAND_TIMEOUT_SECONDS = 300
_DROPPED_PREFIXES = ("GIT_", "GITHUB_", "PROMOTION_BOT_", "RUNNER_")
_DROPPED = {"CI", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    email: str


def environment(person: Person, caller: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a process `person` runs in the sandbox."""
    source = os.environ if caller is None else caller
    env = {
        key: value
        for key, value in source.items()
        if not key.startswith(_DROPPED_PREFIXES) and key not in _DROPPED
    }
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": person.name,
            "GIT_AUTHOR_EMAIL": person.email,
            "GIT_COMMITTER_NAME": person.name,
            "GIT_COMMITTER_EMAIL": person.email,
            "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as they were written
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def git(repo: Path, *args: str, person: Person, input_bytes: bytes | None = None) -> str:
    """Run git in `repo` as `person`; its output, stripped. A failure is a GitError with
    git's own words."""
    command = ["git", "-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false",
               "-C", str(repo), *args]
    try:
        result = subprocess.run(command, input=input_bytes, capture_output=True,
                                env=environment(person), check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and retry") from None
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"`git {' '.join(args)}` failed in {repo} (exit {result.returncode}): "
                       f"{stderr or 'no message'}")
    return result.stdout.decode("utf-8", "surrogateescape").strip()


@dataclass(frozen=True)
class Finished:
    exit_code: int
    output: str  # stdout and stderr together, in the order they were written


def run(argv: Sequence[str], cwd: Path, person: Person, on_line: Callable[[str], None],
        timeout: float = COMMAND_TIMEOUT_SECONDS) -> Finished:
    """Run a command as `person`, passing each line of its output to `on_line` as it comes.
    A command that cannot start is exit 127; one that runs longer than `timeout` is killed
    (exit -9) and says so."""
    try:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=environment(person), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
    except OSError as error:
        line = f"{argv[0]}: cannot start ({error.strerror or error})"
        on_line(line)
        return Finished(127, line + "\n")
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            on_line(line)
        code = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if timed_out.is_set():
        lines.append(f"(killed after {timeout:g} s)")
        on_line(lines[-1])
    return Finished(code, "".join(f"{line}\n" for line in lines))


def promotion_bot_argv(args: Sequence[str]) -> list[str]:
    """The installed promotion-bot, run by this Python."""
    return [sys.executable, "-m", "promotion_bot", *args]


_SERVER_STOPPED = "the demo's command server stopped; run the demo again"


class PreloadedBot:
    """Runs promotion-bot commands as `run` does, each in a process of its own, but forked from
    a server that has imported every command once (promotion_bot/cli/preloaded.py): a command
    then starts in milliseconds instead of a third of a second. Where processes cannot fork,
    each command is started anew. `close` stops the server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder  # where the server runs
        self._server: subprocess.Popen[str] | None = None

    def run(self, args: Sequence[str], cwd: Path, person: Person,
            on_line: Callable[[str], None],
            timeout: float = COMMAND_TIMEOUT_SECONDS) -> Finished:
        if not hasattr(os, "fork"):
            return run(promotion_bot_argv(args), cwd, person, on_line, timeout)
        server = self._started(person)
        assert server.stdin is not None and server.stdout is not None
        request = {"argv": list(args), "cwd": str(cwd), "env": environment(person)}
        try:
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
        except OSError:
            self.close()
            raise PromotionBotError(_SERVER_STOPPED) from None
        pid = self._next(server).get("pid")
        if not isinstance(pid, int):
            self.close()
            raise PromotionBotError("the demo's command server did not start the command")
        timed_out = threading.Event()
        finished = threading.Event()

        def kill() -> None:
            if not finished.is_set():
                timed_out.set()
                os.kill(pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        lines: list[str] = []
        code: int | None = None
        try:
            while code is None:
                message = self._next(server)
                if "line" in message:
                    lines.append(str(message["line"]))
                    on_line(lines[-1])
                else:
                    code = int(message["exit"])
            finished.set()
        finally:
            timer.cancel()
            if code is None:  # interrupted, or the server stopped: the command stops too
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                self.close()
        if timed_out.is_set():
            lines.append(f"(killed after {timeout:g} s)")
            on_line(lines[-1])
        return Finished(code, "".join(f"{line}\n" for line in lines))

    def _started(self, person: Person) -> subprocess.Popen[str]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [sys.executable, "-m", "promotion_bot.cli.preloaded"], cwd=self.folder,
                env=environment(person), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, encoding="utf-8",
            )
        return self._server

    def _next(self, server: subprocess.Popen[str]) -> dict[str, Any]:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            self.close()
            raise PromotionBotError(_SERVER_STOPPED)
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        assert server.stdin is not None and server.stdout is not None
        with contextlib.suppress(OSError):
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


def bundled_example() -> Path:
    """The example governed repository: the copy inside the wheel, else the checkout's."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "example", package.parent / "examples" / "governed-repo"):
        if (candidate / ".promotion" / "policy.yaml").is_file():
            return candidate
    raise ConfigError(
        "the bundled example (examples/governed-repo) is not installed with promotion-bot; "
        "run the demo from a checkout of the project (pip install -e .)"
    )


def copy_example(example: Path, destination: Path) -> None:
    """The example's files, without its PR snapshots (they belong to another history) and
    without anything a run of its tools left behind."""
    shutil.copytree(
        example,
        destination,
        ignore=shutil.ignore_patterns("snapshots", "__pycache__", "*.pyc", ".venv"),
        dirs_exist_ok=True,
    )
