"""`promotion-bot check`: the branch's change requests, declared = changed, required checks,
and one evidence document.

Trust: the policy (which checks are required, built-in settings), the merged change requests
and the promoted versions come from the base commit; change requests and artifacts from the
head. Command checks execute the head's own scripts in a detached work tree of the head: this
is the untrusted, read-only CI tier (no secrets, no write token).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shlex
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from promotion_bot.adapters import git
from promotion_bot.adapters.actions_event import PULL_REQUEST_EVENTS, read_event
from promotion_bot.adapters.check_runner import (
    CheckTask,
    Clock,
    CommandRun,
    Progress,
    output_file,
    result_of_run,
    run_command,
    run_tasks,
)
from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.working_tree import promoted_versions
from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.core.builtin_checks import (
    BuiltinInput,
    BuiltinResult,
    RecordedPrompt,
    compare_metrics,
    read_metrics,
    run_builtin,
)
from promotion_bot.core.check_results import (
    ERROR,
    FAILED,
    PASSED,
    CheckResult,
)
from promotion_bot.core.declarations import (
    BranchChangeRequest,
    BranchFacts,
    FileChange,
    HeadFile,
    added_change_request_paths,
    judge,
    required_checks,
)
from promotion_bot.core.errors import ConfigError, ExitCode, GitError, Problem
from promotion_bot.core.evidence import (
    ChangeRequestEvidence,
    EvidenceInput,
    Revision,
    build_evidence,
    output_dict,
    repository_name,
    runner_info,
)
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.models import ChangeRequest, CheckSpec, Policy
from promotion_bot.render.evidence import render_markdown, render_text

DEFAULT_JOBS = min(4, os.cpu_count() or 1)


@click.command()
@repo_option()
@click.option(
    "--base",
    default=None,
    help="The branch the pull request merges into (default: origin/main if it exists, "
    "else main). Policy and promoted versions are read from it.",
)
@click.option("--head", default="HEAD", show_default=True, help="The commit to check.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=DEFAULT_JOBS,
    show_default=True,
    help="How many checks run at the same time.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where check outputs (one .log per check) go (default: a new temporary folder).",
)
@click.option(
    "--evidence",
    "evidence_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the evidence JSON goes (default: evidence.json in the output folder).",
)
@format_option()
def check(
    repo: Path | None,
    base: str | None,
    head: str,
    jobs: int,
    output_dir: Path | None,
    evidence_path: Path | None,
    output_format: str,
) -> int:
    """Check the change requests this branch adds and run the checks they require.

    \b
    1. change requests: the CR files added between the merge base of --base and --head;
       a merged change request is immutable (modifying or deleting one is rejected)
    2. declared = changed: every changed file under a governed path is an artifact of one
       of the change requests, with the sha256 of the head's content
    3. not stale: current_version is the version promoted on --base now
    4. every check the base's policy requires for their change types: commands from the
       repository root of a work tree of the head (clean environment, timeout), and the
       built-ins; --jobs of them at a time
    5. one evidence document (schemas/evidence.schema.json); a Markdown summary is
       appended to $GITHUB_STEP_SUMMARY when it is set

    Exit codes: 0 every required check passed, 1 a check or a declaration failed,
    2 usage or configuration error.
    """
    root = governed_root(repo)
    base_ref = base or _default_base(root)
    out = (output_dir or Path(tempfile.mkdtemp(prefix="promotion-bot-checks-"))).resolve()
    _writable(out, "--output-dir", lambda: out.mkdir(parents=True, exist_ok=True))
    target = (evidence_path or out / "evidence.json").resolve()
    settings = Settings(root, base_ref, head, jobs, out, dict(os.environ))
    evidence = run_session(settings, Progress(lambda line: click.echo(line, err=True)))
    _writable(target, "--evidence", lambda: _write(target, _json(evidence)))
    _write_step_summary(evidence, settings.environ)
    if output_format == "json":
        echo_json(evidence)
    else:
        click.echo(render_text(evidence, str(target)), nl=False)
    return int(ExitCode.OK if evidence["result"] == PASSED else ExitCode.REJECTED)


def _default_base(root: Path) -> str:
    for candidate in ("origin/main", "main"):
        try:
            git.rev_parse(root, candidate)
        except GitError:
            continue
        return candidate
    raise ConfigError("--base not given and neither origin/main nor main exists; pass --base")


def _writable(path: Path, option: str, action: Callable[[], None]) -> None:
    try:
        action()
    except OSError as error:
        raise ConfigError(f"{option} {path}: {error.strerror or error}") from None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def _write_step_summary(evidence: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    try:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(evidence))
    except OSError as error:
        raise ConfigError(f"cannot write GITHUB_STEP_SUMMARY {summary}: {error.strerror}") from None


# --- the session -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    root: Path
    base_ref: str
    head_ref: str
    jobs: int
    output_dir: Path
    environ: Mapping[str, str]
    clock: Clock = utc_now


class GitTree:
    """The files of one commit below the governed root, read through `git cat-file --batch`
    (a `FileView` for the built-ins). Symbolic links and submodules are not readable files."""

    def __init__(self, root: Path, prefix: str, rev: str) -> None:
        self.root, self.prefix, self.rev = root, prefix, rev
        entries = git.tree_files(root, rev, [prefix] if prefix else [])
        self.entries = {path.removeprefix(prefix): entry for path, entry in entries.items()}
        self._readable = frozenset(p for p, e in self.entries.items() if e.mode.startswith("100"))
        self._cache: dict[str, bytes | None] = {}
        self._lock = threading.Lock()  # built-ins read from several threads

    def paths(self) -> frozenset[str]:
        return self._readable

    def prefetch(self, paths: Sequence[str]) -> None:
        """Read many files with one git process (unreadable ones are cached as None)."""
        with self._lock:
            wanted = [p for p in dict.fromkeys(paths) if p not in self._cache]
            specs = {p: f"{self.rev}:{self.prefix}{p}" for p in wanted if p in self._readable}
            blobs = git.read_blobs(self.root, list(specs.values())) if specs else {}
            for path in wanted:
                self._cache[path] = blobs.get(specs[path]) if path in specs else None

    def read(self, path: str) -> bytes | None:
        if path not in self._cache:
            self.prefetch([path])
        return self._cache.get(path)

    def sha256(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def head_file(self, path: str) -> HeadFile | None:
        entry = self.entries.get(path)
        if entry is None:
            return None
        return HeadFile(entry.mode, self.sha256(path) or "")


@dataclass
class Branch:
    """What the session read from git before judging."""

    prefix: str
    base: Revision
    head: Revision
    merge_base: str
    policy: Policy
    policy_sha256: str
    changes: tuple[FileChange, ...]
    tree: GitTree
    merged: dict[str, ChangeRequest]
    merged_paths: frozenset[str]
    recorded_prompts: tuple[RecordedPrompt, ...]
    crs: list[BranchChangeRequest] = field(default_factory=list)
    cr_digests: dict[str, str] = field(default_factory=dict)
    load_problems: list[Problem] = field(default_factory=list)


def run_session(settings: Settings, progress: Progress) -> dict[str, Any]:
    """Read, judge, run the required checks and build the evidence document."""
    started = settings.clock()
    branch = read_branch(settings)
    facts = BranchFacts(
        change_request_dir=branch.policy.change_request_dir,
        changes=branch.changes,
        head=_head_files(branch),
        merged=branch.merged,
        merged_paths=branch.merged_paths,
        base_name=_branch_name(settings.base_ref),
        unreadable=tuple(sorted({problem.file for problem in branch.load_problems})),
    )
    promoted = promoted_versions(settings.root, branch.base.sha, branch.policy.change_request_dir)
    judgement = judge(branch.crs, facts, branch.policy, promoted)
    wanted = required_checks(branch.crs, branch.policy)
    notes = _notes(branch, wanted)
    if wanted:
        progress.line(
            f"promotion-bot check: {len(wanted)} required check(s) for "
            f"{', '.join(item.change_request.change_id for item in branch.crs)} "
            f"(--jobs {settings.jobs})"
        )
    results = run_required_checks(settings, branch, wanted, progress)
    given = EvidenceInput(
        repository=repository_name(settings.environ, _remote(settings.root), settings.root.name),
        root=branch.prefix,
        base=branch.base,
        head=branch.head,
        merge_base=branch.merge_base,
        policy_path=POLICY_PATH,
        policy_sha256=branch.policy_sha256,
        change_requests=[
            ChangeRequestEvidence(
                item.change_request,
                branch.cr_digests[item.change_request.source_path],
                tuple(name for name, ids in wanted.items() if item.change_request.change_id in ids),
            )
            for item in branch.crs
        ],
        problems=[*branch.load_problems, *judgement.problems],
        checks=results,
        runner=runner_info(settings.environ),
        started_at=started,
        finished_at=settings.clock(),
        governance_changes=judgement.governance_changes,
        notes=notes,
        pull_request=pull_request_of_run(settings.root, branch.head.sha, settings.environ),
    )
    evidence = build_evidence(given)
    problems = validate_data("evidence", evidence, "evidence.json")
    if problems:  # a bug in promotion-bot: never write evidence that does not validate
        raise RuntimeError("evidence does not match its schema: " + problems[0].render())
    return evidence


def _branch_name(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/origin/", "origin/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


def _notes(branch: Branch, wanted: Mapping[str, list[str]]) -> list[str]:
    notes = []
    if not branch.crs and not branch.load_problems:
        notes.append("this branch adds no change request: no checks are required")
    if branch.crs and not wanted:
        notes.append("the policy requires no checks for these change requests")
    return notes


def _remote(root: Path) -> str | None:
    result = git.run_git(root, "config", "--get", "remote.origin.url", ok_codes=(0, 1))
    return result.stdout.decode("utf-8", "replace").strip() or None


def pull_request_of_run(root: Path, head_sha: str,
                        environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The pull request this run checks, when GitHub started it for one: GitHub checks out the
    merge commit refs/pull/N/merge, whose second parent is the pull request's head. The record
    matches the evidence to the approved head through this."""
    if environ.get("GITHUB_EVENT_NAME") not in PULL_REQUEST_EVENTS:
        return None
    try:
        target = read_event(environ)
    except ConfigError:
        return None
    if not target.pull_numbers or not target.head_sha:
        return None
    parents = git.git_text(root, "rev-list", "--parents", "-n", "1", head_sha).split()[1:]
    if target.head_sha != head_sha and target.head_sha not in parents[1:]:
        return None  # the checked commit neither is nor merges the pull request's head
    return {"number": target.pull_numbers[0], "head_sha": target.head_sha}


def read_branch(settings: Settings) -> Branch:
    root = settings.root
    prefix = git.prefix_in_toplevel(root)
    if git.git_text(root, "rev-parse", "--is-shallow-repository") == "true":
        raise ConfigError(
            "this clone is shallow: promoted versions and the merge base need the full history; "
            "run git fetch --unshallow (in GitHub Actions: actions/checkout with fetch-depth: 0)"
        )
    base_sha = git.rev_parse(root, settings.base_ref)
    head_sha = git.rev_parse(root, settings.head_ref)
    try:
        merge_base = git.merge_base(root, base_sha, head_sha)
    except GitError:
        raise ConfigError(
            f"{settings.base_ref} and {settings.head_ref} have no common history; check --base"
        ) from None
    policy, policy_sha256 = _base_policy(root, prefix, base_sha)
    cr_dir = policy.change_request_dir
    changes = tuple(
        FileChange(c.status, c.path.removeprefix(prefix), _strip(c.old_path, prefix))
        for c in git.diff_changes(
            root, merge_base, head_sha, [f":(top){prefix}" if prefix else "."]
        )
    )
    merged, merged_paths, recorded = _merged(root, prefix, base_sha, cr_dir)
    branch = Branch(
        prefix=prefix,
        base=Revision(settings.base_ref, base_sha),
        head=Revision(settings.head_ref, head_sha),
        merge_base=merge_base,
        policy=policy,
        policy_sha256=policy_sha256,
        changes=changes,
        tree=GitTree(root, prefix, head_sha),
        merged=merged,
        merged_paths=merged_paths,
        recorded_prompts=recorded,
    )
    _load_branch_change_requests(branch, added_change_request_paths(changes, cr_dir))
    return branch


def _strip(path: str | None, prefix: str) -> str | None:
    return path.removeprefix(prefix) if path is not None else None


def _base_policy(root: Path, prefix: str, base_sha: str) -> tuple[Policy, str]:
    raw = git.read_blob(root, base_sha, f"{prefix}{POLICY_PATH}")
    if raw is None:
        raise ConfigError(
            f"no {POLICY_PATH} on the base commit {base_sha[:12]}; the policy is read from the "
            "base branch, so it must be merged there first"
        )
    loaded = load_policy(raw, f"{POLICY_PATH} (at base {base_sha[:12]})")
    if loaded.value is None:
        raise ConfigError(
            f"the policy on the base commit cannot be used ({len(loaded.problems)} problem(s))",
            loaded.problems,
        )
    return loaded.value, hashlib.sha256(raw).hexdigest()


def _merged(
    root: Path, prefix: str, base_sha: str, cr_dir: str
) -> tuple[dict[str, ChangeRequest], frozenset[str], tuple[RecordedPrompt, ...]]:
    tree = GitTree(root, prefix, base_sha)
    paths = sorted(p for p in tree.paths() if p.startswith(f"{cr_dir}/"))
    tree.prefetch(paths)
    merged: dict[str, ChangeRequest] = {}
    for path in paths:
        loaded = load_change_request(tree.read(path) or b"", path)
        if loaded.value is not None:
            merged[loaded.value.change_id] = loaded.value
    recorded = tuple(
        RecordedPrompt(cr.change_id, prompt) for cr in merged.values() for prompt in cr.prompts
    )
    return merged, frozenset(paths), recorded


def _load_branch_change_requests(branch: Branch, paths: list[str]) -> None:
    yaml_paths = [p for p in paths if p.endswith((".yaml", ".yml"))]
    branch.tree.prefetch(yaml_paths)
    for path in yaml_paths:
        raw = branch.tree.read(path)
        if raw is None:
            branch.load_problems.append(
                Problem(file=path, message="not a regular file in the head commit")
            )
            continue
        loaded = load_change_request(raw, path)
        branch.load_problems.extend(loaded.problems)
        if loaded.value is not None and loaded.document is not None:
            branch.crs.append(BranchChangeRequest(loaded.value, loaded.document))
            branch.cr_digests[path] = hashlib.sha256(raw).hexdigest()


def _head_files(branch: Branch) -> dict[str, HeadFile]:
    paths = {change.path for change in branch.changes}
    for item in branch.crs:
        paths.update(artifact.path for artifact in item.change_request.artifacts)
    branch.tree.prefetch(sorted(paths))
    files = {}
    for path in paths:
        entry = branch.tree.head_file(path)
        if entry is not None:
            files[path] = entry
    return files


# --- running the required checks -------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    branch: Branch
    head_root: Path | None
    base_root: Path | None
    scratch: Path


def run_required_checks(
    settings: Settings, branch: Branch, wanted: Mapping[str, list[str]], progress: Progress
) -> list[CheckResult]:
    if not wanted:
        return []
    specs = [branch.policy.checks[name] for name in wanted]
    needs_head = any(spec.run or spec.builtin == "no-regression" for spec in specs)
    needs_base = any(spec.builtin == "no-regression" for spec in specs)
    with tempfile.TemporaryDirectory(prefix="promotion-bot-run-") as temp:
        scratch = Path(temp)
        with contextlib.ExitStack() as stack:
            head_root = (
                stack.enter_context(
                    _worktree(settings.root, branch, branch.head.sha, scratch / "head")
                )
                if needs_head
                else None
            )
            base_root = (
                stack.enter_context(
                    _worktree(settings.root, branch, branch.base.sha, scratch / "base")
                )
                if needs_base
                else None
            )
            context = RunContext(settings, branch, head_root, base_root, scratch / "env")
            tasks = [_task(spec, tuple(wanted[spec.name]), context) for spec in specs]
            return run_tasks(tasks, settings.jobs, progress)


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
        label = shlex.join(spec.run)
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
    assert spec.run is not None and ctx.head_root is not None
    run = _run(spec.run, spec, ctx, ctx.head_root, f"{spec.name}.log")
    result, reason = result_of_run(run)
    return CheckResult(
        name=spec.name,
        kind="command",
        result=result,
        reason=reason,
        started_at=run.started_at,
        duration=run.duration,
        required_by=required_by,
        command=run.argv,
        exit_code=run.exit_code,
        output=output_file(run.log, ctx.settings.output_dir),
        description=spec.description,
    )


def _run(argv: Sequence[str], spec: CheckSpec, ctx: RunContext, cwd: Path, log: str) -> CommandRun:
    return run_command(
        argv,
        cwd=cwd,
        timeout=spec.timeout,
        log=ctx.settings.output_dir / log,
        scratch=ctx.scratch / log.removesuffix(".log"),
        clock=ctx.settings.clock,
        environ=ctx.settings.environ,
    )


def _builtin_check(spec: CheckSpec, required_by: tuple[str, ...], ctx: RunContext) -> CheckResult:
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
            recorded_prompts=ctx.branch.recorded_prompts,
        ),
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
        result=PASSED if outcome.passed else FAILED,
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


__all__ = ["GitTree", "Settings", "check", "read_branch", "run_session"]
