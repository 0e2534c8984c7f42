"""Governance and baseline records: `record` signs one for every merge to main that changes
governance files without adding a change request, and for the merge that adds the adoption
baseline (.promotion/baseline.yaml).

The decision is the one a promotion gets (core/merge_decision.py) with no change request: the
policy, CODEOWNERS and roster of the merge's first parent say which roles a governance change
needs (the administrator, by the example's policy). At adoption the first parent has no policy;
the merge is then judged by the policy it adds, and that policy's keys are the trust anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promotion_bot.adapters.ledger import GitRepo, HistoryTree, write_tag
from promotion_bot.core.baseline import hashed_targets, load_baseline
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.dsse import sign
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.git_facts import Change
from promotion_bot.core.governance import (
    BASELINE_PATH,
    BaselineTarget,
    ChangedFile,
    GovernanceInputs,
    baseline_id,
    build_governance_statement,
    governance_id,
    key_changes,
)
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.keys import SigningIdentity
from promotion_bot.core.merge_decision import (
    AdoptedAtBase,
    MergedAsHead,
    MergeQuestion,
    decide,
)
from promotion_bot.core.merge_facts import MergeFacts, merge_commit_facts, pull_request_facts
from promotion_bot.core.models import Policy
from promotion_bot.core.records import (
    FileDigest,
    RecordedDecision,
    statement_bytes,
    tag_name,
)

CompareHead = Callable[[str, str, Policy], tuple[str | None, tuple[str, ...] | None]]


@dataclass(frozen=True)
class GovernanceOutcome:
    record_id: str
    commit: str
    tag: str
    written: str  # created | unchanged | dry-run
    approved: bool
    summary: str
    violations: tuple[str, ...]


def adds_baseline(commit: HistoryCommit) -> bool:
    return any(
        change.path == BASELINE_PATH and change.status in ("A", "C", "R")
        for change in commit.changes
    )


def record_id_for(commit: HistoryCommit) -> str:
    return (baseline_id if adds_baseline(commit) else governance_id)(commit.sha)


def record_governance(
    repo: GitRepo,
    tree: HistoryTree,
    commit: HistoryCommit,
    policy: Policy,
    facts: MergeFacts | None,
    identity: SigningIdentity,
    compare_head: CompareHead,
    *,
    adoption: bool,
    dry_run: bool,
) -> GovernanceOutcome:
    """Decide, sign and tag the governance (or baseline) record of `commit`. `policy` is the
    policy at the first parent, or at adoption the one the commit adds."""
    base = commit.first_parent
    judged_at = commit.sha if adoption or base is None else base  # where the rules were read
    snapshot = facts.snapshot if facts else None
    differences: tuple[str, ...] | None = ()
    head_tree: str | None = None
    if snapshot is not None:
        head_tree, differences = compare_head(snapshot.head_sha, commit.sha, policy)
    question = MergeQuestion(
        base=base or commit.sha,
        merge=commit.sha,
        snapshot=snapshot,
        evidence=facts.evidence if facts else None,
        change_requests=(),
        policy=policy,
        tree_differences=differences,
    )
    changes = [Change(c.status, c.path, c.old_path) for c in commit.changes]
    reader = MergedAsHead(tree, snapshot.head_sha if snapshot else commit.sha, commit.sha, changes)
    decision = decide(
        question, AdoptedAtBase(reader, base, commit.sha) if adoption and base else reader
    )
    baseline = adds_baseline(commit)
    targets: tuple[BaselineTarget, ...] = ()
    if baseline:
        targets, decision = _baseline_targets(tree, commit, policy, decision)
    after = _policy(tree, commit.sha)
    before = _policy(tree, base) if base else None
    # the changed files' digests below, read with one `git cat-file --batch`
    tree.prepare({commit.sha: {c.path for c in commit.changes if c.status != "D"}})
    inputs = GovernanceInputs(
        kind="baseline" if baseline else "governance",
        pull_request=pull_request_facts(facts, head_tree),
        merge=merge_commit_facts(commit, base, facts),
        policy=FileDigest(POLICY_PATH, _digest(tree, judged_at, POLICY_PATH)),
        codeowners=next(
            (
                FileDigest(location, _digest(tree, judged_at, location))
                for location in CODEOWNERS_LOCATIONS
                if tree.blob_id(judged_at, location)
            ),
            None,
        ),
        decision=decision,
        snapshot=facts.snapshot_data if facts else None,
        evidence=facts.evidence if facts else None,
        changed=tuple(
            ChangedFile(
                c.path,
                c.status,
                None if c.status == "D" else _digest(tree, commit.sha, c.path),
                c.old_path,
            )
            for c in commit.changes
        ),
        keys=key_changes(
            before.signing_keys if before else (), after.signing_keys if after else ()
        ),
        targets=targets,
        trust_anchor=tuple(k.keyid for k in after.signing_keys) if baseline and after else (),
    )
    payload = statement_bytes(build_governance_statement(inputs))
    envelope = sign(payload, identity.private_key, identity.keyid)
    record_id = record_id_for(commit)
    name = tag_name(record_id)
    written = "dry-run"
    if not dry_run:
        written = write_tag(repo, name, commit.sha, envelope.to_json()).outcome
    return GovernanceOutcome(
        record_id, commit.sha, name, written, decision.approved, decision.summary,
        decision.violations,
    )


def _baseline_targets(
    tree: HistoryTree, commit: HistoryCommit, policy: Policy, decision: RecordedDecision
) -> tuple[tuple[BaselineTarget, ...], RecordedDecision]:
    raw = tree.content(tree.blob_id(commit.sha, BASELINE_PATH) or "")
    declaration, problems = load_baseline(raw or b"", policy, BASELINE_PATH)
    if declaration is None:
        raise ConfigError(
            f"{BASELINE_PATH} on {commit.sha[:12]} is not a valid baseline; it cannot be "
            "recorded (run promotion-bot baseline to see why)",
            problems,
        )
    targets, missing = hashed_targets(
        declaration, lambda path: _digest(tree, commit.sha, path)
    )
    if not missing:
        return targets, decision
    reason = f"the baseline names files that are not on main: {', '.join(missing[:5])}"
    violations = (*decision.violations, reason)
    return targets, RecordedDecision(
        False, decision.required_roles, decision.approvals, violations,
        f"policy violation: {violations[0]}",
    )


def _digest(tree: HistoryTree, commit: str, path: str) -> str | None:
    blob = tree.blob_id(commit, path)
    return tree.sha256(blob) if blob else None


def _policy(tree: HistoryTree, commit: str) -> Policy | None:
    blob = tree.blob_id(commit, POLICY_PATH)
    raw = tree.content(blob) if blob else None
    return load_policy(raw, POLICY_PATH).value if raw else None
