"""The offline approvals use case: a pull request snapshot evaluated against local git, with
the policy and CODEOWNERS of the base commit (never of the pull request)."""

from __future__ import annotations

from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.adapters.files import load_snapshot
from promotion_bot.adapters.git import GitRevisionReader
from promotion_bot.core.approvals import Decision, evaluate
from promotion_bot.core.evaluation_inputs import collect_inputs


def evaluate_snapshot(
    root: Path, snapshot_path: Path, base: str | None, head: str | None
) -> Decision:
    """`base` and `head` default to the snapshot's own SHAs."""
    snapshot = load_snapshot(snapshot_path)
    base, head = base or snapshot.base_sha, head or snapshot.head_sha
    # both commits and their merge base with one `git rev-parse` when it can tell plainly
    facts = git.revision_facts(root, [base, head], merge_base=True)
    if facts is None:
        base_sha, head_sha = git.rev_parse(root, base), git.rev_parse(root, head)
        known = {}
    else:
        base_sha, head_sha = facts.commits
        known = {(base_sha, head_sha): facts.merge_base} if facts.merge_base else {}
    reader = GitRevisionReader(root, known)
    return evaluate(collect_inputs(reader, base_sha, head_sha, snapshot))
