"""The check runner: real subprocesses, timeouts, process groups, clean environment, the pool."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot.adapters import check_runner
from promotion_bot.adapters.check_runner import (
    CheckTask,
    Progress,
    check_environment,
    result_of_run,
    run_command,
    run_tasks,
    started_tasks,
)
from promotion_bot.core.check_results import (
    ERROR,
    FAILED,
    PASSED,
    TIMEOUT,
    CheckResult,
    tail_text,
)
from tests.gitrepo import process_gone

PY = sys.executable


def run(tmp_path: Path, argv: list[str], timeout: float = 30, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_command(
        argv,
        cwd=tmp_path,
        timeout=timeout,
        log=tmp_path / "out" / "check.log",
        scratch=tmp_path / "scratch",
        **kwargs,  # type: ignore[arg-type]
    )


def test_output_is_captured_to_a_file(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        [
            PY,
            "-c",
            "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr)",
        ],
    )
    assert result.ok and result.exit_code == 0
    assert result_of_run(result) == (PASSED, "exit 0")
    assert result.log.read_text().splitlines() == ["to stdout", "to stderr"]
    assert result.started_at.tzinfo is not None and result.duration >= 0


def test_a_non_zero_exit_fails(tmp_path: Path) -> None:
    result = run(tmp_path, [PY, "-c", "raise SystemExit(3)"])
    assert not result.ok
    assert result_of_run(result) == (FAILED, "exit 3")


@contextlib.contextmanager
def sigterm_held() -> Iterator[None]:
    """SIGTERM blocked in this thread, hence in the processes started here from their first
    instant: a check cannot die of the timeout's SIGTERM before it unblocks it (one sent earlier
    waits until then), however late a loaded machine lets it run."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_a_timeout_kills_the_whole_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import signal, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})\n"  # ready to die
        "time.sleep(120)\n"
    )
    # the check has started its grandchild before the SIGTERM ends it: the timeout can be
    # short, and the grace after the SIGTERM is only waited out until then
    monkeypatch.setattr(check_runner, "TERMINATE_GRACE_SECONDS", 30)
    with sigterm_held():
        result = run(tmp_path, [PY, "-c", code], timeout=0.1)
    assert result.status == "timeout"
    assert result_of_run(result) == (
        TIMEOUT, "timed out after 0.1 s; the process group was killed")
    assert process_gone(int(pid_file.read_text()))


def test_a_process_left_behind_by_a_finished_check_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "straggler.pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
    )
    result = run(tmp_path, [PY, "-c", code])
    assert result.ok
    assert process_gone(int(pid_file.read_text()))


def test_a_check_killed_by_a_signal_fails(tmp_path: Path) -> None:
    result = run(tmp_path, [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    assert result.status == "killed"
    assert result_of_run(result) == (FAILED, "killed by signal SIGKILL")


# code, timeout, grace after the SIGTERM, whether SIGTERM is held from the start, how it ends:
# only the waits the case is about are short (a check that dies of the SIGTERM ends the
# grace at once; one that holds it cannot die of it, whenever it arrives)
WAITS = {
    "exit 0": ("", 30, 30, False, ("exited", 0)),
    "exit 3": ("raise SystemExit(3)", 30, 30, False, ("exited", 3)),
    "killed": ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 30, 30, False,
               ("killed", -9)),
    "timeout": ("import time; time.sleep(120)", 0.1, 30, False, ("timeout", -15)),
    "timeout, SIGTERM ignored": (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(120)",
        0.1,
        0.1,
        True,
        ("timeout", -9),
    ),
}


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
@pytest.mark.parametrize("case", list(WAITS))
def test_the_end_of_a_check_is_read_alike_with_and_without_a_pidfd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, pidfd: bool
) -> None:
    """The wait wakes on a pidfd where Linux has one, and polls (Popen.wait) elsewhere."""
    code, timeout, grace, held, expected = WAITS[case]
    monkeypatch.setattr(check_runner, "TERMINATE_GRACE_SECONDS", grace)
    if not pidfd:
        def refused(pid: int) -> int:
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(check_runner.os, "pidfd_open", refused, raising=False)
    with sigterm_held() if held else contextlib.nullcontext():
        result = run(tmp_path, [PY, "-c", code], timeout=timeout)
    assert (result.status, result.exit_code) == expected


def test_a_command_that_cannot_start_fails(tmp_path: Path) -> None:
    result = run(tmp_path, ["no-such-program-xyz", "lint"])
    assert result.status == "not-started" and result.exit_code is None
    status, reason = result_of_run(result)
    assert status == ERROR
    assert reason.startswith("cannot start no-such-program-xyz: not found on PATH (")
    assert "cannot start no-such-program-xyz" in result.log.read_text()


def test_a_script_that_is_not_executable_fails(tmp_path: Path) -> None:
    (tmp_path / "lint.sh").write_text("#!/bin/sh\necho hi\n")
    result = run(tmp_path, ["./lint.sh"])
    assert result_of_run(result) == (
        ERROR,
        "cannot start ./lint.sh: permission denied (not executable?)",
    )
    missing = run(tmp_path, ["scripts/missing.sh"])
    assert (
        result_of_run(missing)[1] == "cannot start scripts/missing.sh: not found in the repository"
    )


def test_the_environment_holds_nothing_but_path_home_tmpdir_and_locale(tmp_path: Path) -> None:
    caller = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_TOKEN": "ghs_x",
        "AWS_SECRET_ACCESS_KEY": "k",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
        "SIGNING_KEY": "s",
        "HOME": "/root",
    }
    env = check_environment(tmp_path / "home", tmp_path / "tmp", caller)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    result = run(tmp_path, [PY, "-c", "import os; print(sorted(os.environ))"], environ=caller)
    seen = result.log.read_text()
    assert "GITHUB_TOKEN" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
    assert (tmp_path / "scratch" / "home").is_dir()


def test_the_change_reaches_the_check_as_promotion_variables_only(tmp_path: Path) -> None:
    facts = {"PROMOTION_ARTIFACTS": "a.json\nb b.json", "PROMOTION_CHANGE_ID": "CR-2026-0005"}
    result = run(
        tmp_path,
        [PY, "-c", "import os; print(repr(os.environ['PROMOTION_ARTIFACTS']))"],
        environ={"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": "x"},
        promotion=facts,
    )
    assert result.log.read_text() == "'a.json\\nb b.json'\n"
    env = check_environment(tmp_path, tmp_path, {"PATH": "/bin"}, facts)
    assert set(env) == {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", *facts}
    with pytest.raises(ValueError, match="not a PROMOTION_ variable: GITHUB_TOKEN"):
        check_environment(tmp_path, tmp_path, {"PATH": "/bin"}, {"GITHUB_TOKEN": "x"})


def test_the_tail_keeps_the_last_lines() -> None:
    data = "".join(f"line {n}\n" for n in range(100)).encode()
    assert tail_text(data).split("\n") == [f"line {n}" for n in range(80, 100)]
    assert len(tail_text(b"x" * 10_000)) == 4000
    assert tail_text(b"\xff\xfeok") == "\ufffd\ufffdok"


def _result(name: str, result: str = PASSED, reason: str = "exit 0") -> CheckResult:
    return CheckResult(name, "command", result, reason, dt.datetime.now(dt.UTC), 0.0)


def test_independent_tasks_really_run_at_the_same_time() -> None:
    """Each task waits for the other to start: this only finishes when both run at once."""
    started = {"a": threading.Event(), "b": threading.Event()}

    def task(me: str, other: str) -> CheckTask:
        def body() -> CheckResult:
            started[me].set()
            met = started[other].wait(timeout=10)
            return _result(me, PASSED if met else FAILED, "met" if met else "alone")

        return CheckTask(me, me, body, lambda reason: _result(me, ERROR, reason))

    lines: list[str] = []
    results = run_tasks([task("a", "b"), task("b", "a")], 2, Progress(lines.append))
    assert [(r.name, r.reason) for r in results] == [("a", "met"), ("b", "met")]
    assert sorted(line.split()[0] for line in lines) == ["passed", "passed", "started", "started"]


def test_a_task_that_raises_fails_instead_of_passing() -> None:
    def boom() -> CheckResult:
        raise OSError("disk full")

    task = CheckTask(
        "pack", "bash scripts/verify_pack.sh", boom, lambda reason: _result("pack", ERROR, reason)
    )
    lines: list[str] = []
    [result] = run_tasks([task], 1, Progress(lines.append))
    assert result.result == ERROR
    assert result.reason == "internal error while running the check: OSError('disk full')"
    assert lines[-1].startswith("  ERROR     pack in 0.0 s: internal error")


def test_an_error_of_the_runner_itself_reaches_the_caller_after_the_other_checks() -> None:
    """Not a check's failure (that is a failed result): the progress output broke."""
    def write(line: str) -> None:
        if line.startswith("  started   b"):
            raise BrokenPipeError("stderr closed")

    tasks = [
        CheckTask(n, n, lambda n=n: _result(n), lambda r, n=n: _result(n, ERROR, r))  # type: ignore[misc]
        for n in "abc"
    ]
    with pytest.raises(BrokenPipeError, match="stderr closed"):
        run_tasks(tasks, 2, Progress(write))
    assert [t.name for t in threading.enumerate() if t.name.startswith("check")] == []


def test_no_tasks_no_results() -> None:
    assert run_tasks([], 4, Progress(lambda line: None)) == []


@pytest.mark.parametrize("jobs", [1, 3])
def test_results_keep_the_order_of_the_tasks(jobs: int) -> None:
    tasks = [
        CheckTask(n, n, lambda n=n: _result(n), lambda r, n=n: _result(n, ERROR, r))  # type: ignore[misc]
        for n in "abcde"
    ]
    assert [r.name for r in run_tasks(tasks, jobs, Progress(lambda line: None))] == list("abcde")


def test_checks_started_early_run_while_the_caller_works_and_report_in_order() -> None:
    caller_done = threading.Event()

    def waits_for_the_caller() -> CheckResult:
        return _result("a", PASSED if caller_done.wait(timeout=10) else FAILED, "overlapped")

    tasks = [
        CheckTask("a", "a", waits_for_the_caller, lambda r: _result("a", ERROR, r)),
        CheckTask("b", "b", lambda: _result("b"), lambda r: _result("b", ERROR, r)),
    ]
    with started_tasks(tasks, 2, Progress(lambda line: None)) as results:
        caller_done.set()  # the caller's own work, while "a" runs
        assert [(r.name, r.result) for r in results()] == [("a", PASSED), ("b", PASSED)]


def test_a_caller_that_fails_gets_its_error_after_every_started_check_has_ended() -> None:
    started = threading.Event()
    release = threading.Event()

    def body() -> CheckResult:
        started.set()
        release.wait(timeout=10)
        return _result("slow")

    task = CheckTask("slow", "slow", body, lambda r: _result("slow", ERROR, r))
    with (
        pytest.raises(RuntimeError, match="judging failed"),
        started_tasks([task], 1, Progress(lambda line: None)),
    ):
        started.wait(timeout=10)
        release.set()
        raise RuntimeError("judging failed")
    # no check thread outlives the command: its work tree is removed after this
    assert [t.name for t in threading.enumerate() if t.name.startswith("check")] == []
