"""The decision at merge: did this commit on main satisfy the policy? One function, used by
`record` (to write the decision into the record) and by `audit` (to re-run it offline).

It asks the approval engine (`approvals.evaluate`) with:
- the policy, CODEOWNERS and roster from the merge commit's FIRST PARENT (main just before the
  merge: the base at merge), never from the pull request;
- the change requests and watched configs from the MERGE commit, read as if it were the
  approved head: this is sound only because the merged tree must equal the approved head's
  tree on every governed path, which `record` checks (and records as a violation otherwise);
- the changes main received (merge commit against its first parent);
- the snapshot's reviews and team memberships (embedded in the record).

Then it adds what only a merge can break: no pull request at all (a direct push), evidence
missing, failed, or for another commit than the approved head, a merged tree that differs from
the approved head on governed paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from promotion_bot.core.approvals import Decision, Status, evaluate
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.declarations import checks_required_by
from promotion_bot.core.evaluation_inputs import RevisionReader, collect_inputs
from promotion_bot.core.git_facts import Change
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.records import Approval, EvidenceSummary, RecordedDecision
from promotion_bot.core.snapshot import PullSnapshot, TeamMembership, format_time


@dataclass(frozen=True)
class MergeQuestion:
    base: str  # first parent of the merge commit
    merge: str  # the commit on main
    snapshot: PullSnapshot | None
    evidence: EvidenceSummary | None
    change_requests: tuple[ChangeRequest, ...]  # the ones this merge adds
    policy: Policy | None  # at base
    tree_differences: tuple[str, ...] | None = (
        None  # governed paths where merge != head; None: unknown
    )
    evidence_note: str = ""  # artifacts rejected as evidence, and why
    # the change requests re-checked against the merge itself (core/declarations.judge_merge):
    # the declared hashes and declared = changed from git, never from the evidence's word
    declaration_problems: tuple[str, ...] = ()


Decide = Callable[[MergeQuestion, RevisionReader], RecordedDecision]


class MergedAsHead:
    """A RevisionReader where the approved head reads as the merge commit, and the changes
    are main's first-parent diff of the merge."""

    def __init__(
        self, inner: RevisionReader, head: str, merge: str, changes: Sequence[Change]
    ) -> None:
        self.inner = inner
        self.head = head
        self.merge = merge
        self._changes = list(changes)

    def read(self, rev: str, path: str) -> bytes | None:
        return self.inner.read(self.merge if rev == self.head else rev, path)

    def changes(self, base: str, head: str) -> list[Change]:
        return list(self._changes)


class AdoptedAtBase:
    """At adoption main had no policy before the merge, so the merge is judged by the rules it
    adds: the policy, roster and CODEOWNERS read at the base answer as at the merge commit.
    Everything else (the changes, the old side of watched files) stays as it was."""

    def __init__(self, inner: RevisionReader, base: str, merge: str) -> None:
        self.inner = inner
        self.base = base
        self.merge = merge

    def read(self, rev: str, path: str) -> bytes | None:
        rules = path.startswith(".promotion/") or path in CODEOWNERS_LOCATIONS
        return self.inner.read(self.merge if rev == self.base and rules else rev, path)

    def changes(self, base: str, head: str) -> list[Change]:
        return self.inner.changes(base, head)


def required_checks(policy: Policy, change_requests: Sequence[ChangeRequest]) -> list[str]:
    return list(checks_required_by(change_requests, policy))


def decide(question: MergeQuestion, reader: RevisionReader) -> RecordedDecision:
    """The decision at merge; `reader` must already answer as MergedAsHead does."""
    violations: list[str] = []
    snapshot = question.snapshot
    if snapshot is None:
        violations.append("no pull request: the commit reached main without the gate")
        return _decision(False, (), (), violations, question)
    inputs = collect_inputs(reader, question.base, snapshot.head_sha, snapshot)
    decision = evaluate(inputs)
    teams = inputs.teams if inputs.teams is not None else snapshot.teams
    approvals = _approvals(decision, teams)
    if decision.status is not Status.APPROVED:
        violations.append(f"approvals: {decision.status.value}: {decision.summary}")
        violations.extend(_explain(decision))
    if question.tree_differences:
        shown = ", ".join(question.tree_differences[:5])
        more = len(question.tree_differences) - 5
        violations.append(
            "the merged tree differs from the approved head on governed paths: "
            + shown
            + (f" and {more} more" if more > 0 else "")
        )
    elif question.tree_differences is None:
        violations.append("the approved head could not be compared with the merged tree")
    violations.extend(
        f"the change requests do not describe the merge: {problem}"
        for problem in question.declaration_problems
    )
    violations.extend(_evidence_problems(question, snapshot))
    roles = tuple(role.role for role in decision.roles)
    return _decision(not violations, roles, approvals, violations, question)


def _decision(
    approved: bool,
    roles: tuple[str, ...],
    approvals: tuple[Approval, ...],
    violations: Sequence[str],
    question: MergeQuestion,
) -> RecordedDecision:
    if approved:
        people = ", ".join(f"{a.login} ({a.role})" for a in approvals) or "nobody needed"
        summary = f"approved: {people}"
    else:
        summary = f"policy violation: {violations[0]}"
    return RecordedDecision(approved, roles, approvals, tuple(violations), summary)


def _approvals(decision: Decision, teams: Mapping[str, TeamMembership]) -> tuple[Approval, ...]:
    found: list[Approval] = []
    for role in decision.roles:
        for approval in role.satisfied_by:
            review = approval.review
            login = (review.login or "").casefold()
            team = next(
                (
                    owner
                    for owner in role.owners
                    if "/" in owner
                    and any(
                        name.casefold() == owner.lstrip("@").casefold()
                        and membership.has_member(login)
                        for name, membership in teams.items()
                    )
                ),
                None,
            )
            found.append(
                Approval(
                    login=review.login or "",
                    role=role.role,
                    review_id=review.review_id,
                    commit_id=review.commit_id,
                    submitted_at=format_time(review.submitted_at) if review.submitted_at else None,
                    team=team.lstrip("@") if team else None,
                )
            )
    return tuple(found)


def _explain(decision: Decision) -> list[str]:
    lines: list[str] = []
    for problem in decision.problems[:10]:
        lines.append(problem.render())
    for role in decision.roles:
        if role.status is not Status.APPROVED:
            lines.append(f"role {role.role}: {role.status.value}")
    for review in decision.blocking:
        lines.append(f"changes requested by {review.login} (review {review.review_id})")
    return lines


def _evidence_problems(question: MergeQuestion, snapshot: PullSnapshot) -> list[str]:
    wanted = required_checks(question.policy, question.change_requests) if question.policy else []
    evidence = question.evidence
    if evidence is None:
        if not wanted:
            return []
        note = f": {question.evidence_note}" if question.evidence_note else ""
        return [f"no evidence of the required checks ({', '.join(wanted)}){note}"]
    problems: list[str] = []
    if evidence.head_sha != snapshot.head_sha:
        problems.append(
            f"the evidence is for {str(evidence.head_sha)[:12]}, not the approved head "
            f"{snapshot.head_sha[:12]}"
        )
    if evidence.result != "passed":
        problems.append(f"the evidence of the checks says {evidence.result}")
    results: Mapping[str, str] = {check.name: check.result for check in evidence.checks}
    for name in wanted:
        result = results.get(name)
        if result is None:
            problems.append(f"required check {name} did not run")
        elif result != "passed":
            problems.append(f"required check {name}: {result}")
    return problems
