"""Re-check a merge's change requests against the merge itself, from git alone.

`record` and the audit's re-run decision pair main's history (adapters/ledger.HistoryTree) with
core/declarations.judge_merge: the declared sha256 of every artifact and declared = changed,
computed from the merge commit and its first parent, never taken from the evidence (the
checks job that wrote it runs the pull request's own code).
"""

from __future__ import annotations

from collections.abc import Sequence

from promotion_bot.adapters.ledger import HistoryTree
from promotion_bot.core.declarations import (
    BranchChangeRequest,
    BranchFacts,
    FileChange,
    HeadFile,
    judge_merge,
)
from promotion_bot.core.formats.documents import load_change_request
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.models import ChangeRequest, Policy


def merge_declaration_problems(
    tree: HistoryTree, commit: HistoryCommit, policy: Policy, crs: Sequence[ChangeRequest]
) -> tuple[str, ...]:
    """The problems of the change requests `commit` adds, judged against `commit` and its
    first parent; each rendered with its file:line."""
    directory = policy.change_request_dir
    branch: list[BranchChangeRequest] = []
    for cr in crs:
        blob = tree.blob_id(commit.sha, cr.source_path)
        raw = tree.content(blob) if blob else None
        loaded = load_change_request(raw, cr.source_path) if raw is not None else None
        if loaded is None or loaded.document is None:
            return (f"{cr.source_path} cannot be read at {commit.sha[:12]}",)
        branch.append(BranchChangeRequest(cr, loaded.document))
    modes = {change.path: change.new_mode for change in commit.changes}
    wanted = {c.path for c in commit.changes if c.status != "D"}
    wanted |= {artifact.path for cr in crs for artifact in cr.artifacts}
    tree.prepare({commit.sha: wanted})  # one `cat-file --batch` for all of them
    head: dict[str, HeadFile] = {}
    for path in sorted(wanted):
        blob = tree.blob_id(commit.sha, path)
        digest = tree.sha256(blob) if blob else None
        if digest is not None:
            head[path] = HeadFile(modes.get(path, "100644"), digest)
    facts = BranchFacts(
        change_request_dir=directory,
        changes=tuple(FileChange(c.status, c.path, c.old_path) for c in commit.changes),
        head=head,
        merged=_merged_before(tree, commit, directory),
        base_name="main",
    )
    return tuple(problem.render() for problem in judge_merge(branch, facts, policy))


def _merged_before(
    tree: HistoryTree, commit: HistoryCommit, directory: str
) -> dict[str, ChangeRequest]:
    """change_id -> the change requests merged on main before `commit` (a rollback may delete
    what the promotions it undoes added)."""
    merged: dict[str, ChangeRequest] = {}
    position = tree.history.index(commit.sha)
    for earlier in tree.history.commits[: position or 0]:
        for path in earlier.added(directory):
            blob = tree.blob_id(earlier.sha, path)
            raw = tree.content(blob) if blob else None
            loaded = load_change_request(raw, path) if raw is not None else None
            if loaded is not None and loaded.value is not None:
                merged.setdefault(loaded.value.change_id, loaded.value)
    return merged
