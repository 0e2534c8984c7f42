"""Running the checks the base's policy requires: commands in a detached work tree of the head
(the untrusted, read-only tier: no secrets, no write token), the built-ins over the head's
files, and the no-regression evaluation on the head and on the base.

The checks start as soon as the change requests and the base's policy say which are required
(`started_checks`); `check` judges the declarations while they run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promotion_bot.adapters import git
from promotion_bot.adapters.check_runner import (
    CheckTask,
    CommandRun,
    Progress,
    deadline_after,
    output_file,
    result_of_run,
    run_command,
    started_tasks,
)
from promotion_bot.core.check_commands import Invocation, command_label, plan_invocations
from promotion_bot.core.check_results import ERROR, FAILED, PASSED, TIMEOUT, CheckResult
from promotion_bot.core.models import CheckSpec
from promotion_bot.flows.check_branch import Branch, Settings

if TYPE_CHECKING:  # the built-in checks are imported when one runs (their module is large)
    from promotion_bot.core.builtin_checks import BuiltinResult, RecordedPrompt


@dataclass(frozen=True)
class RunContext:
    """What a running check needs: the session, the work trees and its scratch folder."""

    settings: Settings
    branch: Branch
    head_root: Path | None
    base_root: Path | None
    scratch: Path
    recorded_prompts: tuple[RecordedPrompt, ...] = ()


def reads_merged_change_requests(policy_checks: Sequence[CheckSpec]) -> bool:
    """Whether these checks read the change requests merged on the base (the built-ins do:
    a prompt's recorded versions); `check` then reads them before starting the checks."""
    return any(spec.builtin and spec.builtin != "no-regression" for spec in policy_checks)


class EarlyHeadTree:
    """The head's work tree, made in the background before the checks are known, while the
    policy and the change requests are read (`read_branch`'s `adds_yaml`); `started_checks`
    uses it when the checks need the head. Once the checks are over, `remove_soon` removes it
    while the evidence is written; leaving waits for the removal."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ready: Callable[[], Path] | None = None
        self._stack = contextlib.ExitStack()
        self._removal: threading.Thread | None = None
        self._removal_error: BaseException | None = None

    def start(self, head_sha: str) -> None:
        if self.ready is None:
            temp = Path(self._stack.enter_context(
                tempfile.TemporaryDirectory(prefix="promotion-bot-head-")
            ))
            self.ready = self._stack.enter_context(
                git.detached_worktree_started(self.root, head_sha, temp / "head")
            )

    def remove_soon(self) -> None:
        """Start removing the work tree (call it when no check runs in it any more)."""
        if self.ready is not None and self._removal is None:
            self._removal = threading.Thread(target=self._remove, name="remove-head-tree")
            self._removal.start()

    def _remove(self) -> None:
        try:
            self._stack.close()
        except BaseException as error:  # reported by __exit__, in the caller's thread
            self._removal_error = error

    def __enter__(self) -> EarlyHeadTree:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._removal is None:
            self._stack.close()
            return
        self._removal.join()
        if self._removal_error is not None and kind is None:
            raise self._removal_error


@contextlib.contextmanager
def started_checks(
    settings: Settings,
    branch: Branch,
    wanted: Mapping[str, list[str]],
    progress: Progress,
    early_head: EarlyHeadTree | None = None,
) -> Iterator[Callable[[], list[CheckResult]]]:
    """The required checks, started (in work trees of the head, and of the base for
    no-regression): the call it gives waits for their results. Leaving waits for every check
    and removes the work trees (the early head's is removed by its owner)."""
    specs = [branch.policy.checks[name] for name in wanted]
    if not specs:
        yield list
        return
    needs_head = any(spec.run or spec.builtin == "no-regression" for spec in specs)
    needs_base = any(spec.builtin == "no-regression" for spec in specs)
    recorded: tuple[RecordedPrompt, ...] = ()
    if reads_merged_change_requests(specs):
        assert branch.history_read, "read_base_history before the built-in checks start"
        recorded = _recorded_prompts(branch)
    with tempfile.TemporaryDirectory(prefix="promotion-bot-run-") as temp:
        scratch = Path(temp)
        with contextlib.ExitStack() as stack:
            head_root = None
            if needs_head and early_head is not None and early_head.ready is not None:
                tree = early_head.ready()
                head_root = tree / branch.prefix if branch.prefix else tree
            elif needs_head:
                head_root = stack.enter_context(
                    _worktree(settings.root, branch, branch.head_sha, scratch / "head")
                )
            base_root = (
                stack.enter_context(
                    _worktree(settings.root, branch, branch.base_sha, scratch / "base")
                )
                if needs_base
                else None
            )
            context = RunContext(
                settings, branch, head_root, base_root, scratch / "env", recorded
            )
            tasks = [_task(spec, tuple(wanted[spec.name]), context) for spec in specs]
            yield stack.enter_context(started_tasks(tasks, settings.jobs, progress))


def _recorded_prompts(branch: Branch) -> tuple[RecordedPrompt, ...]:
    from promotion_bot.core.builtin_checks import RecordedPrompt

    return tuple(
        RecordedPrompt(cr.change_id, prompt)
        for cr in branch.merged.values()
        for prompt in cr.prompts
    )


@contextlib.contextmanager
def _worktree(root: Path, branch: Branch, sha: str, destination: Path) -> Iterator[Path]:
    """A detached work tree of `sha`; yields the governed root inside it."""
    with git.detached_worktree(root, sha, destination) as tree:
        yield tree / branch.prefix if branch.prefix else tree


def _task(spec: CheckSpec, required_by: tuple[str, ...], context: RunContext) -> CheckTask:
    def fallback(reason: str) -> CheckResult:
        return CheckResult(
            spec.name,
            "builtin" if spec.builtin else "command",
            ERROR,
            reason,
            context.settings.clock(),
            0.0,
            required_by,
            spec.builtin,
            spec.run,
            description=spec.description,
        )

    if spec.run:
        label = command_label(spec.run)
        return CheckTask(
            spec.name, label, lambda: _command_check(spec, required_by, context), fallback
        )
    if spec.builtin == "no-regression":
        return CheckTask(
            spec.name,
            f"built-in no-regression: {_eval_label(spec)}",
            lambda: _no_regression(spec, required_by, context),
            fallback,
        )
    return CheckTask(
        spec.name,
        f"built-in {spec.builtin}",
        lambda: _builtin_check(spec, required_by, context),
        fallback,
    )


def _command_check(spec: CheckSpec, required_by: tuple[str, ...], ctx: RunContext) -> CheckResult:
    """Run the check's invocations (one, or one per change request or artifact with
    for_each) one after the other; the first that does not pass decides the result."""
    assert spec.run is not None and ctx.head_root is not None
    crs = [i.change_request for i in ctx.branch.crs if i.change_request.change_id in required_by]
    plan = plan_invocations(spec, crs)
    log = ctx.settings.output_dir / f"{spec.name}.log"
    if plan.nothing is not None:
        log.write_text(f"promotion-bot: {plan.nothing}\n", encoding="utf-8")
        return CheckResult(
            name=spec.name,
            kind="command",
            result=FAILED,
            reason=plan.nothing,
            started_at=ctx.settings.clock(),
            duration=0.0,
            required_by=required_by,
            command=spec.run,
            output=output_file(log, ctx.settings.output_dir),
            description=spec.description,
        )
    several = len(plan.invocations) > 1
    runs: list[tuple[Invocation, CommandRun]] = []
    for number, invocation in enumerate(plan.invocations, start=1):
        name = f"{spec.name}.{number}.log" if several else f"{spec.name}.log"
        runs.append((invocation, _run(invocation.argv, spec, ctx, ctx.head_root, name,
                                      invocation.environment)))
    if several:
        _join_logs(log, runs)
    outcomes = [(invocation, run, *result_of_run(run)) for invocation, run in runs]
    failing = [outcome for outcome in outcomes if outcome[2] != PASSED]
    invocation, run, result, reason = failing[0] if failing else outcomes[0]
    if several and failing:
        reason = f"{invocation.subject}: {reason}"
        if len(failing) > 1:
            reason += f" (and {len(failing) - 1} more of {len(outcomes)} runs)"
    elif several:
        reason = f"{len(outcomes)} runs, exit 0"
    details: dict[str, Any] = {}
    if spec.for_each is not None or several:
        details["runs"] = [
            {
                "subject": item.subject,
                "command": list(item_run.argv),
                "result": item_result,
                "reason": item_reason,
                "exit_code": item_run.exit_code,
                "duration_seconds": round(item_run.duration, 3),
            }
            for item, item_run, item_result, item_reason in outcomes
        ]
    return CheckResult(
        name=spec.name,
        kind="command",
        result=result,
        reason=reason,
        started_at=runs[0][1].started_at,
        duration=sum(item_run.duration for _, item_run in runs),
        required_by=required_by,
        command=run.argv,
        exit_code=run.exit_code,
        output=output_file(log, ctx.settings.output_dir),
        details=details,
        description=spec.description,
    )


def _join_logs(log: Path, runs: Sequence[tuple[Invocation, CommandRun]]) -> None:
    """One log for a check that ran several times: each run's output under a header."""
    with log.open("wb") as joined:
        for number, (invocation, run) in enumerate(runs, start=1):
            header = (
                f"== run {number}/{len(runs)}: {invocation.subject}: {shlex.join(run.argv)} "
                f"({result_of_run(run)[1]})\n"
            )
            joined.write(header.encode())
            joined.write(run.log.read_bytes() if run.log.is_file() else b"")
            run.log.unlink(missing_ok=True)


def _run(
    argv: Sequence[str],
    spec: CheckSpec,
    ctx: RunContext,
    cwd: Path,
    log: str,
    promotion: Mapping[str, str] | None = None,
) -> CommandRun:
    return run_command(
        argv,
        cwd=cwd,
        timeout=spec.timeout,
        log=ctx.settings.output_dir / log,
        scratch=ctx.scratch / log.removesuffix(".log"),
        clock=ctx.settings.clock,
        environ=ctx.settings.environ,
        promotion=promotion,
    )


def _builtin_check(spec: CheckSpec, required_by: tuple[str, ...], ctx: RunContext) -> CheckResult:
    from promotion_bot.core.builtin_checks import BuiltinInput, run_builtin

    assert spec.builtin is not None
    started = ctx.settings.clock()
    crs = [i.change_request for i in ctx.branch.crs if i.change_request.change_id in required_by]
    governed = tuple(
        path
        for change_type in dict.fromkeys(cr.change_type for cr in crs)
        if change_type in ctx.branch.policy.change_types
        for path in ctx.branch.policy.change_types[change_type].paths
    )
    outcome = run_builtin(
        spec.builtin,
        BuiltinInput(
            settings=spec.settings,
            change_requests=tuple(crs),
            governed_paths=governed,
            files=ctx.branch.tree,
            recorded_prompts=ctx.recorded_prompts,
            expired=deadline_after(spec.timeout),
        ),
        spec.timeout,
    )
    finished = ctx.settings.clock()
    return _builtin_result(
        spec, required_by, outcome, started, (finished - started).total_seconds(), ctx
    )


def _builtin_result(
    spec: CheckSpec,
    required_by: tuple[str, ...],
    outcome: BuiltinResult,
    started: dt.datetime,
    duration: float,
    ctx: RunContext,
    *,
    command: tuple[str, ...] | None = None,
    exit_code: int | None = None,
    log: Path | None = None,
    details: Mapping[str, Any] | None = None,
) -> CheckResult:
    output_path = log or ctx.settings.output_dir / f"{spec.name}.log"
    if log is None:
        output_path.write_text(outcome.output_text(), encoding="utf-8")
    return CheckResult(
        name=spec.name,
        kind="builtin",
        result=TIMEOUT if outcome.timed_out else PASSED if outcome.passed else FAILED,
        reason=outcome.summary,
        started_at=started,
        duration=max(0.0, duration),
        required_by=required_by,
        builtin=spec.builtin,
        command=command,
        exit_code=exit_code,
        output=output_file(output_path, ctx.settings.output_dir),
        findings=outcome.findings,
        details={**outcome.details, **(details or {})},
        description=spec.description,
    )


def _eval_command(spec: CheckSpec) -> list[str]:
    run = spec.settings.get("run", [])
    return shlex.split(run) if isinstance(run, str) else [str(arg) for arg in run]


def _eval_label(spec: CheckSpec) -> str:
    return shlex.join(_eval_command(spec))


def _no_regression(spec: CheckSpec, required_by: tuple[str, ...], ctx: RunContext) -> CheckResult:
    from promotion_bot.core.builtin_checks import BuiltinResult, compare_metrics, read_metrics
    from promotion_bot.core.evidence import output_dict

    assert ctx.head_root is not None and ctx.base_root is not None
    directions: dict[str, str] = dict(spec.settings.get("metrics", {}))
    template = _eval_command(spec)
    out = ctx.settings.output_dir
    head_metrics, base_metrics = out / f"{spec.name}.head.json", out / f"{spec.name}.base.json"
    for stale in (head_metrics, base_metrics):
        stale.unlink(missing_ok=True)
    head_argv = [arg.replace("{output}", str(head_metrics)) for arg in template]
    head_run = _run(head_argv, spec, ctx, ctx.head_root, f"{spec.name}.log")
    details: dict[str, Any] = {"head_metrics_file": head_metrics.name}
    if not head_run.ok:
        return _eval_failed(spec, required_by, ctx, head_run, "evaluation on head", details)
    base_argv = [arg.replace("{output}", str(base_metrics)) for arg in template]
    base_run = _run(base_argv, spec, ctx, ctx.base_root, f"{spec.name}.base.log")
    details["base_run"] = {
        "command": list(base_run.argv),
        "exit_code": base_run.exit_code,
        "duration_seconds": round(base_run.duration, 3),
        "output": output_dict(output_file(base_run.log, out)),
        "metrics_file": base_metrics.name,
    }
    if not base_run.ok:
        return _eval_failed(
            spec, required_by, ctx, head_run, "evaluation on base", details, failed_run=base_run
        )
    names = list(directions)
    head_values, head_findings = read_metrics(_read(head_metrics), head_metrics.name, names)
    base_values, base_findings = read_metrics(_read(base_metrics), base_metrics.name, names)
    outcome = compare_metrics(directions, base_values, head_values, head_metrics.name)
    if head_findings or base_findings:
        outcome = BuiltinResult(
            False,
            outcome.summary,
            (*head_findings, *base_findings, *outcome.findings),
            (),
            outcome.details,
        )
    duration = head_run.duration + base_run.duration
    return _builtin_result(
        spec,
        required_by,
        outcome,
        head_run.started_at,
        duration,
        ctx,
        command=head_run.argv,
        exit_code=head_run.exit_code,
        log=head_run.log,
        details=details,
    )


def _eval_failed(
    spec: CheckSpec,
    required_by: tuple[str, ...],
    ctx: RunContext,
    head_run: CommandRun,
    what: str,
    details: dict[str, Any],
    failed_run: CommandRun | None = None,
) -> CheckResult:
    run = failed_run or head_run
    result, reason = result_of_run(run)
    return CheckResult(
        name=spec.name,
        kind="builtin",
        result=result if result != PASSED else FAILED,
        reason=f"{what}: {reason}",
        started_at=head_run.started_at,
        duration=head_run.duration + (failed_run.duration if failed_run else 0.0),
        required_by=required_by,
        builtin=spec.builtin,
        command=head_run.argv,
        exit_code=head_run.exit_code,
        output=output_file(run.log, ctx.settings.output_dir),
        details=details,
        description=spec.description,
    )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
