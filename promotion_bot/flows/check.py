"""The check use case: the branch's change requests, declared = changed, the required checks,
and one evidence document (schemas/evidence.schema.json).

Command checks execute the head's own scripts in a detached work tree of the head: this is the
untrusted, read-only CI tier (no secrets, no write token).

The checks start as soon as the base's policy and the head's change requests say which are
required; the declarations are judged (merged change requests, promoted versions, governed
keys) while they run. The evidence is the same as if one had waited for the other.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.adapters import git
from promotion_bot.adapters.check_runner import Progress
from promotion_bot.core.check_results import PASSED
from promotion_bot.core.declarations import BranchFacts, judge, required_checks
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.documents import POLICY_PATH
from promotion_bot.core.formats.schemas import fast_validator, validate_data
from promotion_bot.core.policy import is_governed
from promotion_bot.flows.check_branch import (
    Branch,
    Settings,
    head_files,
    read_base_history,
    read_branch,
)
from promotion_bot.flows.check_runs import (
    EarlyHeadTree,
    reads_merged_change_requests,
    started_checks,
)


@dataclass(frozen=True)
class CheckRequest:
    """What `check` is asked to do: the repository, the base and head, and where outputs go."""

    root: Path
    base_ref: str | None
    head_ref: str
    jobs: int
    output_dir: Path | None
    evidence_path: Path | None
    environ: Mapping[str, str]


@dataclass(frozen=True)
class CheckOutcome:
    """The evidence document and the file it was written to."""

    evidence: dict[str, Any]
    evidence_path: Path

    @property
    def passed(self) -> bool:
        return bool(self.evidence["result"] == PASSED)


def run_check(request: CheckRequest, progress: Progress) -> CheckOutcome:
    """Run the session, write the evidence file and (in Actions) the job summary."""
    base_ref = (git.unambiguous_name(request.root, request.base_ref) if request.base_ref
                else _default_base(request.root))
    out = (request.output_dir or Path(tempfile.mkdtemp(prefix="promotion-bot-checks-"))).resolve()
    _writable(out, "--output-dir", lambda: out.mkdir(parents=True, exist_ok=True))
    target = (request.evidence_path or out / "evidence.json").resolve()
    # the head goes through the same refusal as the base: a tag named like the head branch,
    # on another commit, would be what git resolves and what the checks judge
    head_ref = git.unambiguous_name(request.root, request.head_ref)
    settings = Settings(request.root, base_ref, head_ref, request.jobs, out,
                        dict(request.environ))
    with EarlyHeadTree(settings.root) as early_head:
        evidence = run_session(settings, progress, early_head)
        _writable(target, "--output", lambda: _write(target, _json(evidence)))
        _write_step_summary(evidence, settings.environ)
    return CheckOutcome(evidence, target)


def _default_base(root: Path) -> str:
    found = git.default_branch(root, ("origin/main", "main"))
    if found is None:
        raise ConfigError("--base not given and neither origin/main nor main exists; pass --base")
    return found


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
    from promotion_bot.render.evidence import render_markdown

    try:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(evidence))
    except OSError as error:
        raise ConfigError(f"cannot write GITHUB_STEP_SUMMARY {summary}: {error.strerror}") from None


def run_session(
    settings: Settings, progress: Progress, early_head: EarlyHeadTree
) -> dict[str, Any]:
    """Read, judge, run the required checks and build the evidence document."""
    started = settings.clock()
    branch = read_branch(settings, early_head.start)
    # the uncommitted files refuse a run only without change requests; with some, they are
    # a note, read while the checks run
    nothing_committed = not branch.crs and not branch.load_problems
    pending = _uncommitted(settings, branch) if nothing_committed else None
    if pending and nothing_committed:
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        shown = ", ".join(pending[:5]) + more
        raise ConfigError(
            f"nothing to check: {settings.head_ref} adds no change request, and {len(pending)} "
            f"governed file(s) are not committed ({shown}); check runs on commits: commit them, "
            "then run promotion-bot check again"
        )
    wanted = required_checks(branch.crs, branch.policy)
    if reads_merged_change_requests([branch.policy.checks[name] for name in wanted]):
        read_base_history(settings.root, branch)  # the built-ins read the merged ones
    if wanted:
        progress.line(
            f"promotion-bot check: {len(wanted)} required check(s) for "
            f"{', '.join(item.change_request.change_id for item in branch.crs)} "
            f"(--jobs {settings.jobs})"
        )
    with started_checks(settings, branch, wanted, progress, early_head) as check_results:
        # while the checks run: everything else the evidence needs (git's answers first: while
        # it answers, the threads starting the checks have the interpreter to themselves)
        read_base_history(settings.root, branch)
        from promotion_bot.adapters.working_tree import promoted_versions

        promoted = promoted_versions(
            settings.root, branch.base_sha, branch.policy.change_request_dir
        )
        judgement = judge(branch.crs, _facts(settings, branch), branch.policy, promoted)
        remote = _remote(settings.root)
        pull_request = pull_request_of_run(settings.root, branch.head_sha, settings.environ)
        if pending is None:
            pending = _uncommitted(settings, branch)
        _import_the_evidence_writers()
        results = check_results()
        early_head.remove_soon()  # every check is over
    from promotion_bot.core.evidence import (
        ChangeRequestEvidence,
        EvidenceInput,
        Revision,
        build_evidence,
        repository_name,
        runner_info,
    )

    repository = repository_name(settings.environ, remote, settings.root.name)
    notes = _notes(branch, wanted)
    if pending:
        notes.append(
            f"{len(pending)} governed file(s) are not committed and were not checked: "
            + ", ".join(pending)
        )
    given = EvidenceInput(
        repository=repository,
        root=branch.prefix,
        base=Revision(branch.base_ref, branch.base_sha),
        head=Revision(branch.head_ref, branch.head_sha),
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
        pull_request=pull_request,
    )
    evidence = build_evidence(given)
    problems = validate_data("evidence", evidence, "evidence.json")
    if problems:  # a bug in promotion-bot: never write evidence that does not validate
        raise RuntimeError("evidence does not match its schema: " + problems[0].render())
    return evidence


def _import_the_evidence_writers() -> None:
    """What builds, checks and writes the evidence is imported while the checks run, not before
    they start (5 ms of a command that should last no longer than its slowest check): the
    evidence's model and schema validator, its renderers (the job summary's, the command's)."""
    import promotion_bot.core.evidence
    import promotion_bot.render.evidence  # noqa: F401

    fast_validator("evidence")


def _facts(settings: Settings, branch: Branch) -> BranchFacts:
    return BranchFacts(
        change_request_dir=branch.policy.change_request_dir,
        changes=branch.changes,
        head=head_files(branch),
        merged=branch.merged,
        merged_paths=branch.merged_paths,
        base_name=_branch_name(settings.base_ref),
        unreadable=tuple(sorted({problem.file for problem in branch.load_problems})),
        key_changes=branch.key_changes,
        key_problems=branch.key_problems,
    )


def _uncommitted(settings: Settings, branch: Branch) -> list[str]:
    """Governed files and change requests in the work tree that differ from HEAD (staged,
    modified or untracked), when HEAD is what is checked: check never sees them."""
    if settings.head_ref != "HEAD":
        return []
    directory = f"{branch.policy.change_request_dir.rstrip('/')}/"
    found = []
    for path in git.uncommitted_paths(settings.root):
        if not path.startswith(branch.prefix):
            continue
        relative = path.removeprefix(branch.prefix)
        if relative.startswith(directory) or is_governed(branch.policy, relative):
            found.append(relative)
    return sorted(found)


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
    if not environ.get("GITHUB_EVENT_NAME"):
        return None
    # imported here: the event file's reader (and the snapshot parser it shares with the gate)
    # is needed only inside GitHub Actions
    from promotion_bot.adapters.actions_event import PULL_REQUEST_EVENTS, read_event

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
