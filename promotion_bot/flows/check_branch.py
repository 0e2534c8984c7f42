"""What `check` reads from git before judging: the base's policy and merged change requests,
the diff from the merge base, the change requests the head adds, and the head's files.

`read_branch` reads what decides which checks run (the base's policy, the change requests the
head adds); `read_base_history` the rest of what the judgement needs (the merged change
requests, the governed keys that changed), which `check` reads while the checks run.

Trust: the policy (which checks are required, built-in settings), the merged change requests
and the promoted versions come from the base commit; change requests and artifacts from the
head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.adapters.check_runner import Clock
from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.git_tree import GitTree
from promotion_bot.core.declarations import (
    BranchChangeRequest,
    FileChange,
    HeadFile,
    added_change_request_paths,
)
from promotion_bot.core.errors import ConfigError, GitError, Problem
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.git_facts import TrackedFile
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import KeyChange, config_key_changes, governed_keys


@dataclass(frozen=True)
class Settings:
    """The session's settings: the repository, the refs, the jobs, the outputs, the caller's
    environment and the clock."""

    root: Path
    base_ref: str
    head_ref: str
    jobs: int
    output_dir: Path
    environ: Mapping[str, str]
    clock: Clock = utc_now


@dataclass
class Branch:
    """What the session read from git before judging."""

    prefix: str
    base_ref: str  # as the caller named it, and its commit
    base_sha: str
    head_ref: str
    head_sha: str
    merge_base: str
    policy: Policy
    policy_sha256: str
    changes: tuple[FileChange, ...]
    tree: GitTree
    crs: list[BranchChangeRequest] = field(default_factory=list)
    cr_digests: dict[str, str] = field(default_factory=dict)
    load_problems: list[Problem] = field(default_factory=list)
    # read by read_base_history: the change requests merged on the base, by change_id, and
    # every file of the change request folder there
    merged: dict[str, ChangeRequest] = field(default_factory=dict)
    merged_paths: frozenset[str] = frozenset()
    history_read: bool = False
    # keys a change type governs inside files (change_types.<type>.keys) that differ between
    # the merge base and the head, and the files that could not be read to tell
    key_changes: tuple[KeyChange, ...] = ()
    key_problems: tuple[Problem, ...] = ()


SHALLOW = (
    "this clone is shallow: promoted versions and the merge base need the full history; "
    "run git fetch --unshallow (in GitHub Actions: actions/checkout with fetch-depth: 0)"
)


def _revisions(settings: Settings) -> tuple[str, str, str, str | None]:
    """(prefix, base commit, head commit, their merge base or None): one `git rev-parse` when
    it can tell plainly (None for the merge base: ask `git merge-base`)."""
    root = settings.root
    facts = git.revision_facts(root, [settings.base_ref, settings.head_ref], merge_base=True)
    if facts is not None:
        if facts.shallow:
            raise ConfigError(SHALLOW)
        base_sha, head_sha = facts.commits
        return facts.prefix, base_sha, head_sha, facts.merge_base
    prefix = git.prefix_in_toplevel(root)
    if git.git_text(root, "rev-parse", "--is-shallow-repository") == "true":
        raise ConfigError(SHALLOW)
    base_sha = git.rev_parse(root, settings.base_ref)
    return prefix, base_sha, git.rev_parse(root, settings.head_ref), None


def read_branch(
    settings: Settings, adds_yaml: Callable[[str], None] = lambda head_sha: None
) -> Branch:
    """What decides the checks: the base's policy, the diff, the change requests the head adds.
    `adds_yaml(head_sha)` is called as soon as the diff shows the head adds YAML files (it
    probably adds change requests, whose checks will need the head's work tree)."""
    root = settings.root
    prefix, base_sha, head_sha, merge_base = _revisions(settings)
    try:
        merge_base = merge_base or git.merge_base(root, base_sha, head_sha)
    except GitError:
        raise ConfigError(
            f"{settings.base_ref} and {settings.head_ref} have no common history; check --base"
        ) from None
    diff = git.diff_with_head_files(
        root, merge_base, head_sha, [f":(top){prefix}" if prefix else "."]
    )
    changes = tuple(
        FileChange(c.status, c.path.removeprefix(prefix), _strip(c.old_path, prefix))
        for c, _file in diff
    )
    if any(c.status in ("A", "R", "C") and c.path.endswith((".yaml", ".yml")) for c in changes):
        adds_yaml(head_sha)
    policy, policy_sha256 = _base_policy(root, prefix, base_sha)
    cr_dir = policy.change_request_dir
    at_head = {c.path.removeprefix(prefix): file for c, file in diff if file is not None}
    branch = Branch(
        prefix=prefix,
        base_ref=settings.base_ref,
        base_sha=base_sha,
        head_ref=settings.head_ref,
        head_sha=head_sha,
        merge_base=merge_base,
        policy=policy,
        policy_sha256=policy_sha256,
        changes=changes,
        tree=GitTree(root, prefix, head_sha),
    )
    _load_branch_change_requests(
        branch, root, added_change_request_paths(changes, cr_dir), at_head
    )
    return branch


def read_base_history(root: Path, branch: Branch) -> None:
    """The rest of what the judgement reads: the change requests merged on the base, and the
    governed keys that changed between the merge base and the head."""
    if branch.history_read:
        return
    branch.merged, branch.merged_paths = _merged(
        root, branch.prefix, branch.base_sha, branch.policy.change_request_dir
    )
    branch.key_changes, branch.key_problems = _governed_key_changes(
        branch, root, branch.merge_base
    )
    branch.history_read = True


def _governed_key_changes(
    branch: Branch, root: Path, merge_base: str
) -> tuple[tuple[KeyChange, ...], tuple[Problem, ...]]:
    """The governed keys that changed in each changed file that holds some."""
    found: list[KeyChange] = []
    problems: list[Problem] = []
    for change in branch.changes:
        keys = governed_keys(branch.policy, change.path) or governed_keys(
            branch.policy, change.old_path or change.path
        )
        if not keys:
            continue
        before_path = change.old_path or change.path
        before = (
            None
            if change.status == "A"
            else git.read_blob(root, merge_base, f"{branch.prefix}{before_path}")
        )
        after = None if change.status == "D" else branch.tree.read(change.path)
        changed, unreadable = config_key_changes(
            change.path, before, after, keys, old_path=change.old_path
        )
        found += changed
        problems += unreadable
    return tuple(found), tuple(problems)


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
) -> tuple[dict[str, ChangeRequest], frozenset[str]]:
    tree = GitTree(root, prefix, base_sha)
    paths = sorted(p for p in tree.paths() if p.startswith(f"{cr_dir}/"))
    tree.prefetch(paths)
    merged: dict[str, ChangeRequest] = {}
    for path in paths:
        loaded = load_change_request(tree.read(path) or b"", path)
        if loaded.value is not None:
            merged[loaded.value.change_id] = loaded.value
    return merged, frozenset(paths)


def _load_branch_change_requests(
    branch: Branch, root: Path, paths: list[str], at_head: Mapping[str, TrackedFile]
) -> None:
    """The change requests the head adds, read by their blob ids from the diff (one
    `git cat-file`); one that is not a regular file there is a problem."""
    yaml_paths = [p for p in paths if p.endswith((".yaml", ".yml"))]
    readable = {
        path: at_head[path].blob
        for path in yaml_paths
        if path in at_head and at_head[path].mode.startswith("100")
    }
    blobs = git.read_blobs(root, list(dict.fromkeys(readable.values())))
    for path in yaml_paths:
        raw = blobs.get(readable[path]) if path in readable else None
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


def head_files(branch: Branch) -> dict[str, HeadFile]:
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
