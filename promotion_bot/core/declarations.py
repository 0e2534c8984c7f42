"""What a branch declares against what it changes. Pure: git facts come in as data.

- which change requests a branch adds (files added under the change request directory);
- merged change requests are immutable (modifying, renaming or deleting one is rejected);
- declared = changed: every changed file under a change type's governed paths, and every file
  whose governed keys (`change_types.<type>.keys`) changed, is an artifact of one of the
  branch's change requests, and every artifact's sha256 matches the head tree;
- stale detection: `current_version` equals the version promoted on the base branch now;
- the checks the policy requires for those change requests.

Governance paths (the policy, CODEOWNERS, workflows...) need no declaration: the approval engine
requires their own roles. Files outside every governed path are not judged here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from promotion_bot.core.errors import Problem
from promotion_bot.core.formats.strict_yaml import YamlDocument
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import KeyChange, key_governing_types

SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"


@dataclass(frozen=True)
class FileChange:
    """One file changed between the merge base and the head, relative to the governed root."""

    status: str  # A, M, D, R, C, T (git diff --name-status)
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class HeadFile:
    """A file of the head commit: git mode and sha256 of its content."""

    mode: str
    sha256: str


@dataclass(frozen=True)
class BranchChangeRequest:
    """A change request the branch adds, with its document (for file:line locations)."""

    change_request: ChangeRequest
    document: YamlDocument

    def problem(self, path: Sequence[str | int], message: str, hint: str | None = None) -> Problem:
        return self.document.problem(path, message, hint=hint)


@dataclass(frozen=True)
class BranchFacts:
    """Everything the judgement needs, read from git by the caller."""

    change_request_dir: str
    changes: tuple[FileChange, ...]  # merge base -> head
    head: Mapping[str, HeadFile]  # at least every changed and every declared path
    merged: Mapping[str, ChangeRequest]  # change_id -> CR on the base branch now
    merged_paths: frozenset[str] = frozenset()  # CR files on the base branch now
    base_name: str = "main"
    unreadable: tuple[str, ...] = ()  # the branch's CR files that could not be loaded
    # governed keys (change_types.<type>.keys) that differ between the merge base and the
    # head, and the key-governed files that could not be read on either side
    key_changes: tuple[KeyChange, ...] = ()
    key_problems: tuple[Problem, ...] = ()


@dataclass
class Declarations:
    """The judgement: problems (each fails the check) and what was seen, for the evidence."""

    problems: list[Problem] = field(default_factory=list)
    governance_changes: list[str] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)  # path -> change_id

    @property
    def passed(self) -> bool:
        return not self.problems


def is_change_request_path(path: str, directory: str) -> bool:
    return path.startswith(f"{directory.rstrip('/')}/")


def split_changes(changes: Iterable[FileChange]) -> list[FileChange]:
    """Renames become a deletion and an addition; copies an addition."""
    result: list[FileChange] = []
    for change in changes:
        if change.status == "R" and change.old_path:
            result.append(FileChange("D", change.old_path))
            result.append(FileChange("A", change.path))
        elif change.status == "C":
            result.append(FileChange("A", change.path))
        else:
            result.append(change)
    return result


def added_change_request_paths(changes: Iterable[FileChange], directory: str) -> list[str]:
    """The change request files the branch adds (renamed-in files count as added)."""
    return sorted(
        change.path
        for change in split_changes(changes)
        if change.status == "A" and is_change_request_path(change.path, directory)
    )


def immutability_problems(changes: Iterable[FileChange], directory: str) -> list[Problem]:
    """A change request that exists on the merge base was merged: it may never change."""
    problems = []
    verbs = {"M": "modifies", "T": "changes the type of", "D": "deletes"}
    for change in changes:
        if (
            change.status == "R"
            and change.old_path
            and is_change_request_path(change.old_path, directory)
        ):
            problems.append(
                Problem(
                    file=change.old_path,
                    message=f"this branch renames a merged change request (to {change.path}); "
                    "merged change requests are immutable",
                    hint="restore it; to undo a promotion add a new change request with "
                    "rollback_of",
                )
            )
        elif change.status in verbs and is_change_request_path(change.path, directory):
            problems.append(
                Problem(
                    file=change.path,
                    message=f"this branch {verbs[change.status]} a merged change request; "
                    "merged change requests are immutable",
                    hint=f"restore it (git checkout <base> -- {change.path}); to change a "
                    "promotion add a new change request, to undo one add a change request "
                    "with rollback_of",
                )
            )
    return problems


def judge(
    branch_crs: Sequence[BranchChangeRequest],
    facts: BranchFacts,
    policy: Policy,
    promoted: Mapping[str, str],
) -> Declarations:
    """All declaration problems of a branch (the change requests already loaded cleanly)."""
    result = Declarations()
    result.problems += immutability_problems(facts.changes, facts.change_request_dir)
    result.problems += _change_request_file_problems(facts)
    result.problems += facts.key_problems
    for item in branch_crs:
        result.problems += _already_merged(item, facts)
        result.problems += _policy_fit(item, policy)
        result.problems += _artifact_problems(item, facts)
        result.problems += _rollback_problems(item, facts)
    result.problems += _duplicate_targets(branch_crs)
    result.problems += stale_problems(branch_crs, promoted, facts.base_name)
    result.declared = _declared_paths(branch_crs, result)
    result.problems += _undeclared(branch_crs, facts, policy, result)
    result.problems.sort(key=lambda p: (p.file, p.line or 0, p.column or 0))
    return result


def judge_merge(
    branch_crs: Sequence[BranchChangeRequest], facts: BranchFacts, policy: Policy
) -> list[Problem]:
    """What `record` re-checks from git for a merge on main (`facts`: the merge against its
    first parent), instead of trusting the evidence: each declared artifact exists as a regular
    file with the declared sha256 and is changed, every changed governed file is declared,
    deletions are a rollback's, merged change requests are untouched. Staleness is the
    audit's (STALE_VERSION), not a reason to refuse a record."""
    result = Declarations()
    result.problems += immutability_problems(facts.changes, facts.change_request_dir)
    for item in branch_crs:
        result.problems += _policy_fit(item, policy)
        result.problems += _artifact_problems(item, facts)
    result.declared = _declared_paths(branch_crs, result)
    result.problems += _undeclared(branch_crs, facts, policy, result)
    return sorted(result.problems, key=lambda p: (p.file, p.line or 0, p.column or 0))


def _change_request_file_problems(facts: BranchFacts) -> list[Problem]:
    problems = []
    for path in added_change_request_paths(facts.changes, facts.change_request_dir):
        if PurePosixPath(path).suffix not in (".yaml", ".yml"):
            problems.append(
                Problem(
                    file=path,
                    message=f"not a change request: files in {facts.change_request_dir}/ "
                    "are <change_id>.yaml",
                    hint="move the file elsewhere or rename it",
                )
            )
    return problems


def _already_merged(item: BranchChangeRequest, facts: BranchFacts) -> list[Problem]:
    cr = item.change_request
    if cr.source_path in facts.merged_paths or cr.change_id in facts.merged:
        return [
            item.problem(
                ["change_id"],
                f"{cr.change_id} is already merged on {facts.base_name}",
                hint=f"rebase onto {facts.base_name}; a new promotion needs a new change_id",
            )
        ]
    return []


def _policy_fit(item: BranchChangeRequest, policy: Policy) -> list[Problem]:
    cr = item.change_request
    rule = policy.change_types.get(cr.change_type)
    if rule is None:
        return [
            item.problem(
                ["change_type"],
                f"the policy does not govern change type {cr.change_type!r}",
                hint=f"the policy's change types are: {', '.join(policy.change_types) or 'none'}",
            )
        ]
    return [
        item.problem(
            ["artifacts", index, "path"],
            f"{artifact.path} is not under the governed paths of change type "
            f"{cr.change_type} ({', '.join(rule.paths)})",
            hint="declare it in a change request of the type that governs it",
        )
        for index, artifact in enumerate(cr.artifacts)
        if not rule.governs_file(artifact.path)
    ]


def _artifact_problems(item: BranchChangeRequest, facts: BranchFacts) -> list[Problem]:
    cr = item.change_request
    changed = {c.path for c in split_changes(facts.changes) if c.status != "D"}
    problems = []
    for index, artifact in enumerate(cr.artifacts):
        entry = facts.head.get(artifact.path)
        if entry is None:
            problems.append(
                item.problem(
                    ["artifacts", index, "path"],
                    f"{artifact.path} does not exist in the head commit",
                    hint="commit the file, or fix the path",
                )
            )
            continue
        if entry.mode in (SYMLINK_MODE, GITLINK_MODE):
            kind = "a symbolic link" if entry.mode == SYMLINK_MODE else "a submodule"
            problems.append(
                item.problem(
                    ["artifacts", index, "path"],
                    f"{artifact.path} is {kind} in the head commit; declare a regular file",
                )
            )
            continue
        if entry.sha256 != artifact.sha256:
            problems.append(
                item.problem(
                    ["artifacts", index, "sha256"],
                    f"sha256 of {artifact.path} in the head commit is {entry.sha256}, "
                    f"not {artifact.sha256}",
                    hint=f"run: promotion-bot hash {artifact.path}, and commit",
                )
            )
        if artifact.path not in changed and not cr.is_rollback:
            problems.append(
                item.problem(
                    ["artifacts", index, "path"],
                    f"{artifact.path} is declared but this branch does not change it",
                    hint="list only the files this promotion changes",
                )
            )
    return problems


def _rollback_problems(item: BranchChangeRequest, facts: BranchFacts) -> list[Problem]:
    cr = item.change_request
    if cr.rollback_of is None:
        return []
    undone = facts.merged.get(cr.rollback_of)
    if undone is None:
        return [
            item.problem(
                ["rollback_of"],
                f"{cr.rollback_of} is not a change request merged on {facts.base_name}",
                hint="rollback_of names the change_id of a promotion on the base branch",
            )
        ]
    if undone.target != cr.target:
        return [
            item.problem(
                ["target"],
                f"{cr.rollback_of} moved {undone.target}, this rollback moves {cr.target}",
                hint=f"set target: {undone.target}",
            )
        ]
    # A rollback runs only the rollback rule's checks, so it may only bring back bytes that
    # were promoted (and checked) before: new content goes through its change type's checks.
    promoted = {
        (artifact.path, artifact.sha256)
        for merged in facts.merged.values()
        if merged.target == cr.target
        for artifact in merged.artifacts
    }
    return [
        item.problem(
            ["artifacts", index, "sha256"],
            f"{artifact.path} with this sha256 was never promoted for {cr.target}: a rollback "
            "restores earlier promoted content only",
            hint="promote new content with a change request without rollback_of, so that its "
            "change type's checks run",
        )
        for index, artifact in enumerate(cr.artifacts)
        if (artifact.path, artifact.sha256) not in promoted
    ]


def _duplicate_targets(branch_crs: Sequence[BranchChangeRequest]) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for item in branch_crs:
        cr = item.change_request
        if cr.target in seen:
            problems.append(
                item.problem(
                    ["target"],
                    f"{cr.target} is also moved by {seen[cr.target]} on this branch",
                    hint="one change request per target per pull request",
                )
            )
        seen.setdefault(cr.target, cr.change_id)
    return problems


def stale_problems(
    branch_crs: Sequence[BranchChangeRequest], promoted: Mapping[str, str], base_name: str
) -> list[Problem]:
    """`current_version` must be the version promoted on the base branch now."""
    problems = []
    for item in branch_crs:
        cr = item.change_request
        now = promoted.get(cr.target)
        if cr.current_version == now:
            continue
        shown_now = now if now is not None else "no version (never promoted)"
        shown_cr = cr.current_version if cr.current_version is not None else "null"
        fix = f'current_version: "{now}"' if now is not None else "current_version: null"
        problems.append(
            item.problem(
                ["current_version"],
                f"rebase: {cr.target} is at {shown_now} on {base_name}, not {shown_cr}",
                hint=f"rebase onto {base_name}, set {fix} and check the change again",
            )
        )
    return problems


def _declared_paths(
    branch_crs: Sequence[BranchChangeRequest], result: Declarations
) -> dict[str, str]:
    declared: dict[str, str] = {}
    for item in branch_crs:
        cr = item.change_request
        for index, artifact in enumerate(cr.artifacts):
            if artifact.path in declared and declared[artifact.path] != cr.change_id:
                result.problems.append(
                    item.problem(
                        ["artifacts", index, "path"],
                        f"{artifact.path} is also declared by {declared[artifact.path]}",
                        hint="declare each file in one change request",
                    )
                )
            declared.setdefault(artifact.path, cr.change_id)
    return declared


def _undeclared(
    branch_crs: Sequence[BranchChangeRequest],
    facts: BranchFacts,
    policy: Policy,
    result: Declarations,
) -> list[Problem]:
    problems = []
    for change in split_changes(facts.changes):
        path = change.path
        if is_change_request_path(path, facts.change_request_dir):
            continue
        change_type = governing_type(policy, path)
        keys: list[KeyChange] = []
        if change_type is None:
            keys = [k for k in facts.key_changes if k.file == path]
            by_key = [t for k in keys for t in key_governing_types(policy, k)]
            change_type = by_key[0] if by_key else None
        if change_type is None:
            if match_any(policy.governance.paths, path):
                result.governance_changes.append(path)
            continue
        if change.status == "D":
            problems += _deletion(path, change_type, branch_crs, facts)
        elif path not in result.declared:
            problems.append(_undeclared_problem(path, change_type, branch_crs, facts, keys))
    return problems


def governing_type(policy: Policy, path: str) -> str | None:
    """The change type whose governed paths contain `path` (first in policy order)."""
    for name, rule in policy.change_types.items():
        if match_any(rule.paths, path):
            return name
    return None


def _undeclared_problem(
    path: str,
    change_type: str,
    branch_crs: Sequence[BranchChangeRequest],
    facts: BranchFacts,
    keys: Sequence[KeyChange] = (),
) -> Problem:
    digest = facts.head[path].sha256 if path in facts.head else "<sha256>"
    home = [item for item in branch_crs if item.change_request.change_type == change_type]
    if home:
        cr = home[0].change_request
        hint = (
            f"add it to the artifacts of {cr.change_id} ({cr.source_path}): "
            f"- path: {path}, sha256: {digest}"
        )
    elif facts.unreadable:
        hint = (
            f"if {', '.join(facts.unreadable)} declares it, fix the problems reported there; "
            f"else declare it in a {change_type} change request"
        )
    else:
        hint = (
            f"declare it in a {change_type} change request: promotion-bot new --type "
            f"{change_type} --title ... --proposed ... {path}"
        )
    what = (
        f"its {change_type} keys changed on this branch ({', '.join(k.key for k in keys)})"
        if keys
        else "changed on this branch"
    )
    return Problem(
        file=path,
        message=f"{what} but declared by no change request (governed by change type "
        f"{change_type})",
        hint=hint,
    )



def _deletion(
    path: str, change_type: str, branch_crs: Sequence[BranchChangeRequest], facts: BranchFacts
) -> list[Problem]:
    """A rollback may delete the artifacts of the promotion it undoes, and of the later
    promotions of the same target it undoes with it (`rollback --to`); nothing else may."""
    for item in branch_crs:
        undone = facts.merged.get(item.change_request.rollback_of or "")
        if undone is None:
            continue
        with_it = [
            cr
            for cr in facts.merged.values()
            if cr.target == undone.target and _order(cr.change_id) >= _order(undone.change_id)
        ]
        if any(path in {artifact.path for artifact in cr.artifacts} for cr in with_it):
            return []
    return [
        Problem(
            file=path,
            message=f"deleted on this branch (governed by change type {change_type}); only a "
            "rollback change request may delete the artifacts of the promotion it undoes",
            hint="keep the file (earlier versions stay in the repository for rollback), or "
            "add a change request with rollback_of naming the promotion that added it",
        )
    ]


def _order(change_id: str) -> tuple[int, ...]:
    """CR-2026-0042 -> (2026, 42): change ids are allocated in increasing order."""
    return tuple(int(part) for part in change_id.split("-")[1:] if part.isdigit())


def required_checks(
    branch_crs: Sequence[BranchChangeRequest], policy: Policy
) -> dict[str, list[str]]:
    """check name -> the change_ids that require it, in policy order."""
    return checks_required_by([item.change_request for item in branch_crs], policy)


def checks_required_by(
    change_requests: Sequence[ChangeRequest], policy: Policy
) -> dict[str, list[str]]:
    """check name -> the change_ids that require it, in policy order. Rollback change requests
    require the policy's rollback checks; others their change type's. (`check` runs these and
    `record` expects their evidence: one rule for both.)"""
    wanted: dict[str, list[str]] = {}
    for cr in change_requests:
        if cr.is_rollback:
            names: Collection[str] = policy.rollback.required_checks
        else:
            rule = policy.change_types.get(cr.change_type)
            names = rule.required_checks if rule else ()
        for name in names:
            wanted.setdefault(name, []).append(cr.change_id)
    order = list(policy.checks)
    return dict(sorted(wanted.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 0))


__all__ = [
    "BranchChangeRequest",
    "BranchFacts",
    "Declarations",
    "FileChange",
    "HeadFile",
    "added_change_request_paths",
    "checks_required_by",
    "governing_type",
    "immutability_problems",
    "is_change_request_path",
    "judge",
    "required_checks",
    "split_changes",
    "stale_problems",
]
