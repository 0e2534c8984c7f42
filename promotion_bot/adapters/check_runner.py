"""The check runner: every check subprocess, its timeout and its output, and the parallel pool.

A command check runs from the repository root of a work tree of the head commit, without a
shell, with a clean environment (PATH, HOME and TMPDIR in a temporary folder, LANG/LC_ALL and
nothing else: no tokens or secrets), stdin closed and stdout+stderr captured to one file. It
runs in its own process group: on timeout the whole group is terminated, then killed, and any
process a finished check left behind is killed too. A check that cannot start, times out, is
killed by a signal or exits non-zero fails; so does any error inside the runner. Nothing
passes by default.

The head's scripts are executed: this is the untrusted, read-only CI tier. Never run it in a
job that holds secrets or a write token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters.clock import utc_now
from promotion_bot.core.check_results import (
    ERROR,
    FAILED,
    PASSED,
    TIMEOUT,
    CheckResult,
    OutputFile,
)

Clock = Callable[[], dt.datetime]
TERMINATE_GRACE_SECONDS = 2.0


def output_file(path: Path, relative_to: Path) -> OutputFile:
    """A captured output file (empty when the check wrote none), relative to the output folder."""
    data = path.read_bytes() if path.is_file() else b""
    return OutputFile.of_bytes(path.relative_to(relative_to).as_posix(), data)


def check_environment(
    home: Path,
    tmpdir: Path,
    caller: Mapping[str, str] | None = None,
    promotion: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment a check command sees: nothing is inherited but PATH, plus the
    PROMOTION_* facts about the change (promotion_bot.core.check_commands)."""
    source = os.environ if caller is None else caller
    facts = dict(promotion or {})
    stray = sorted(name for name in facts if not name.startswith("PROMOTION_"))
    if stray:  # a bug: only the change's facts may be added, never the caller's variables
        raise ValueError(f"not a PROMOTION_ variable: {', '.join(stray)}")
    return {
        "PATH": source.get("PATH") or os.defpath,
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **facts,
    }


@dataclass(frozen=True)
class CommandRun:
    """One command as it ran: how it ended, when, for how long, and where its output is."""

    argv: tuple[str, ...]
    status: str  # exited | timeout | killed | not-started
    exit_code: int | None
    started_at: dt.datetime
    duration: float
    reason: str
    log: Path

    @property
    def ok(self) -> bool:
        return self.status == "exited" and self.exit_code == 0


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    log: Path,
    scratch: Path,
    clock: Clock = utc_now,
    environ: Mapping[str, str] | None = None,
    promotion: Mapping[str, str] | None = None,
) -> CommandRun:
    """Run one command (no shell) with a timeout; stdout and stderr go to `log`."""
    home, tmpdir = scratch / "home", scratch / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmpdir.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = check_environment(home, tmpdir, environ, promotion)
    started_at, start = clock(), time.monotonic()
    with log.open("wb") as output:
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            reason = _start_failure(argv, error, env["PATH"])
            output.write(f"promotion-bot: {reason}\n".encode())
            return CommandRun(tuple(argv), "not-started", None, started_at, 0.0, reason, log)
        status, reason = _wait(process, timeout)
    duration = time.monotonic() - start
    code = process.returncode
    if status == "exited" and code is not None and code < 0:
        status, reason = "killed", f"killed by signal {_signal_name(-code)}"
    elif status == "exited":
        reason = f"exit {code}"
    return CommandRun(tuple(argv), status, code, started_at, duration, reason, log)


def _start_failure(argv: Sequence[str], error: OSError, path: str) -> str:
    program = argv[0] if argv else "(empty command)"
    if isinstance(error, FileNotFoundError):
        where = "in the repository" if "/" in program else f"on PATH ({path})"
        return f"cannot start {program}: not found {where}"
    if isinstance(error, PermissionError):
        return f"cannot start {program}: permission denied (not executable?)"
    return f"cannot start {program}: {error.strerror or error}"


def _wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[str, str]:
    try:
        if _exited_within(process, timeout):
            return "exited", ""
        _signal_group(process.pid, signal.SIGTERM)
        if not _exited_within(process, TERMINATE_GRACE_SECONDS):
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        return "timeout", f"timed out after {timeout:g} s; the process group was killed"
    finally:
        _signal_group(process.pid, signal.SIGKILL)  # whatever the check left running


def _exited_within(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether `process` exits within `timeout` seconds (it is then reaped). Popen.wait with a
    timeout polls, up to 50 ms late (25 ms on average after every check); a pidfd (Linux)
    wakes the wait the moment the process exits. Without one, Popen.wait does it."""
    try:
        handle = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, an old kernel, or a sandbox refusing it
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        watch = select.poll()
        watch.register(handle, select.POLLIN)
        exited = bool(watch.poll(math.ceil(timeout * 1000)))
    finally:
        os.close(handle)
    if exited:
        process.wait()  # at once: the process has exited, only its status is collected
    return exited


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def deadline_after(seconds: float) -> Callable[[], bool]:
    """Whether `seconds` have passed since this call (the timeout of a built-in check)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def result_of_run(run: CommandRun) -> tuple[str, str]:
    """(result, reason) of a command: only a clean exit 0 passes."""
    if run.ok:
        return PASSED, "exit 0"
    if run.status == "timeout":
        return TIMEOUT, run.reason
    if run.status == "not-started":
        return ERROR, run.reason
    return FAILED, run.reason


@dataclass(frozen=True)
class CheckTask:
    """A check for the pool: its progress label, what runs it, and its result if that raises."""

    name: str
    label: str  # what the progress line shows: the command, or "built-in X"
    run: Callable[[], CheckResult]
    fallback: Callable[[str], CheckResult]  # the failing result if `run` raises


class Progress:
    """Progress lines on stderr while checks run: which started, which finished, how long."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._write(text)

    def started(self, task: CheckTask) -> None:
        self.line(f"  started   {task.name}: {task.label}")

    def finished(self, result: CheckResult) -> None:
        word = {PASSED: "passed", TIMEOUT: "TIMEOUT", ERROR: "ERROR"}.get(result.result, "FAILED")
        detail = "" if result.passed else f": {result.reason}"
        self.line(f"  {word:<9} {result.name} in {result.duration:.1f} s{detail}")


def run_tasks(tasks: Sequence[CheckTask], jobs: int, progress: Progress) -> list[CheckResult]:
    """Run independent checks on a pool of `jobs` threads; results in the order of `tasks`."""
    with started_tasks(tasks, jobs, progress) as results:
        return results()


@contextlib.contextmanager
def started_tasks(
    tasks: Sequence[CheckTask], jobs: int, progress: Progress
) -> Iterator[Callable[[], list[CheckResult]]]:
    """`run_tasks`, started: the checks run on the pool while the caller does other work, and
    the call it is given waits for their results (in the order of `tasks`). Leaving waits for
    every started check (checks not started yet are cancelled when the caller failed)."""

    def one(task: CheckTask) -> CheckResult:
        progress.started(task)
        try:
            result = task.run()
        except Exception as error:  # fail closed: a runner error is a failed check, never a pass
            result = task.fallback(f"internal error while running the check: {error!r}")
        progress.finished(result)
        return result

    if not tasks:
        yield list
        return
    pool = _Pool(tasks, one)
    workers = [
        threading.Thread(target=pool.work, name=f"check_{number}")
        for number in range(min(max(1, jobs), len(tasks)))
    ]
    for worker in workers:
        worker.start()
    failed = True
    try:
        yield pool.results
        failed = False
    finally:
        if failed:
            pool.cancel()
        for worker in workers:
            worker.join()


class _Pool:
    """The tasks, handed out in their order to the worker threads, and each one's outcome at
    its task's place. (concurrent.futures' pool would import it and logging into every check:
    5 ms before the first check starts.)"""

    def __init__(self, tasks: Sequence[CheckTask], run: Callable[[CheckTask], CheckResult]):
        self._tasks = list(tasks)
        self._run = run
        self._lock = threading.Lock()
        self._next = 0
        self._outcomes: list[tuple[CheckResult | None, BaseException | None]] = [
            (None, None) for _ in self._tasks
        ]
        self._done = [threading.Event() for _ in self._tasks]

    def work(self) -> None:
        """Run tasks until none is left (a worker thread's loop)."""
        while (index := self._take()) is not None:
            try:
                self._outcomes[index] = (self._run(self._tasks[index]), None)
            except BaseException as error:  # handed to the caller by `results`
                self._outcomes[index] = (None, error)
            finally:
                self._done[index].set()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self._tasks):
                return None
            self._next += 1
            return self._next - 1

    def cancel(self) -> None:
        """No task starts from now on (those running finish)."""
        with self._lock:
            self._next = len(self._tasks)

    def results(self) -> list[CheckResult]:
        """Every task's result, in the order of the tasks, once each has ended."""
        results = []
        for index, done in enumerate(self._done):
            done.wait()
            result, error = self._outcomes[index]
            if error is not None:
                raise error
            assert result is not None
            results.append(result)
        return results


__all__ = [
    "CheckTask",
    "Clock",
    "CommandRun",
    "Progress",
    "check_environment",
    "deadline_after",
    "output_file",
    "result_of_run",
    "run_command",
    "run_tasks",
    "started_tasks",
]
