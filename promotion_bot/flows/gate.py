"""The PR gate: snapshot from GitHub -> pure evaluation -> status, sticky comment, requests.

This is the only place where a `Decision` becomes a GitHub commit status
(`status_for`). The status is set on the head SHA that was evaluated, never on a head
fetched again afterwards: a push during the run gets its own evaluation. Any failure after
the head is known still sets a failing status with the reason, then raises (exit 2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promotion_bot.adapters.actions_event import EventTarget
from promotion_bot.adapters.github import GitHubError, PullFacts, PullReader, PullWriter
from promotion_bot.adapters.github_snapshot import build_snapshot
from promotion_bot.core.approvals import Decision, Status, evaluate
from promotion_bot.core.errors import ConfigError, PromotionBotError
from promotion_bot.core.evaluation_inputs import collect_inputs
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.models import Policy
from promotion_bot.core.policy import is_governed
from promotion_bot.core.snapshot import parse_snapshot
from promotion_bot.render.decision import render_markdown

_STATES = {
    Status.APPROVED: "success",
    Status.PENDING: "pending",
    Status.BLOCKED: "failure",
    Status.ERROR: "error",
}


def status_for(decision: Decision) -> tuple[str, str]:
    """The commit status (state, description) for a decision."""
    summary = decision.summary[:1].upper() + decision.summary[1:]
    return _STATES[decision.status], summary


@dataclass
class GateOutcome:
    pull_number: int
    head_sha: str
    status_sha: str
    decision: Decision | None
    state: str
    description: str
    snapshot: dict[str, Any] | None = None
    comment: str = ""
    review_requests: list[str] = field(default_factory=list)


@dataclass
class Gate:
    reader: PullReader
    writer: PullWriter | None  # None: dry run, nothing is written
    repository: str
    clock: Callable[[], dt.datetime]
    target_url: str | None = None

    def run(self, number: int, *, status_sha: str | None = None,
            merge_group_head: str | None = None,
            merge_group_base: str | None = None) -> GateOutcome:
        """Evaluate pull request `number` and publish the result on its head (or on the merge
        group's head when evaluating for a merge queue)."""
        head: str | None = None
        try:
            head = self.reader.pull_head(number)
            facts = self.reader.pull(number)
            outcome = self._evaluate(facts)
            if merge_group_head is not None:
                self._check_merge_group(facts, outcome, merge_group_head, merge_group_base)
                outcome.status_sha = merge_group_head
            elif status_sha is not None:
                outcome.status_sha = status_sha
            if self.writer is not None:
                self._publish(facts, outcome)
            return outcome
        except PromotionBotError as error:
            sha = merge_group_head or status_sha or head
            self._fail(sha, error.message)
            raise

    def _evaluate(self, facts: PullFacts) -> GateOutcome:
        policy = self.base_policy(facts)
        snapshot_data = self.snapshot(facts, policy)
        snapshot = parse_snapshot(snapshot_data, f"pull request #{facts.number}")
        inputs = collect_inputs(self.reader, facts.base_tip, facts.head_sha, snapshot)
        decision = evaluate(inputs)
        state, description = status_for(decision)
        return GateOutcome(facts.number, facts.head_sha, facts.head_sha, decision, state,
                           description, snapshot_data, render_markdown(decision))

    def base_policy(self, facts: PullFacts) -> Policy | None:
        raw = self.reader.read(facts.base_tip, POLICY_PATH)
        return load_policy(raw, POLICY_PATH).value if raw is not None else None

    def snapshot(self, facts: PullFacts, policy: Policy | None) -> dict[str, Any]:
        return build_snapshot(self.reader, facts, policy, self.repository, self.clock)

    def _check_merge_group(self, facts: PullFacts, outcome: GateOutcome, group_head: str,
                           group_base: str | None) -> None:
        """A merge queue builds a new commit: every governed file the pull request or the
        group changes must read the same at the group's head as at the approved head."""
        policy = self.base_policy(facts)
        if policy is None or outcome.decision is None:
            return
        changed = {change.path for change in self.reader.changes(facts.base_tip, facts.head_sha)}
        changed |= {change.path for change in
                    self.reader.changes(group_base or facts.base_tip, group_head)}
        drift = sorted(path for path in changed if is_governed(policy, path)
                       and self.reader.read(group_head, path)
                       != self.reader.read(facts.head_sha, path))
        if drift:
            outcome.state = "error"
            outcome.description = (f"the merge group's governed files differ from the approved "
                                   f"head: {', '.join(drift[:3])}")

    def _publish(self, facts: PullFacts, outcome: GateOutcome) -> None:
        assert self.writer is not None and outcome.decision is not None
        self.writer.set_status(outcome.status_sha, outcome.state, outcome.description,
                               self.target_url)
        self.writer.upsert_comment(facts.number, outcome.comment)
        policy = self.base_policy(facts)
        if (policy is not None and policy.approvals.request_reviews
                and outcome.decision.status == Status.PENDING):
            teams, users = _missing_owners(outcome.decision, self.repository.split("/")[0])
            already = {t["slug"].lower() for t in facts.pull.get("requested_teams") or []}
            already |= {u["login"].lower() for u in facts.pull.get("requested_reviewers") or []}
            try:
                outcome.review_requests = self.writer.request_team_reviews(
                    facts.number, teams, users, already)
            except GitHubError as error:  # a courtesy: the decision and status stand
                outcome.review_requests = [f"(could not request reviews: {error.message})"]

    def _fail(self, sha: str | None, reason: str) -> None:
        """Best effort: a failing status with the reason, if it can still be written."""
        if self.writer is None or sha is None:
            return
        # the run fails anyway if this write fails too; a missing status keeps the gate closed
        with contextlib.suppress(GitHubError):
            self.writer.set_status(sha, "error", f"promotion-bot could not evaluate: {reason}",
                                   self.target_url)


def _missing_owners(decision: Decision, org: str) -> tuple[list[str], list[str]]:
    teams: list[str] = []
    users: list[str] = []
    for role in decision.roles:
        if role.status != Status.PENDING:
            continue
        for owner in role.owners:
            name = owner.removeprefix("@")
            if "/" in name:
                owner_org, slug = name.split("/", 1)
                if owner_org.lower() == org.lower() and slug not in teams:
                    teams.append(slug)
            elif name.lower() != decision.author.lower() and name not in users:
                users.append(name)
    return teams, users


def pull_numbers(target: EventTarget, reader: PullReader) -> list[int]:
    """The pull requests an event asks the gate to evaluate."""
    if target.event_name in ("push", "workflow_dispatch"):
        raise ConfigError(f"the gate evaluates pull requests; a {target.event_name} event names "
                          "none (record runs on push; pass --pr NUMBER to evaluate one)")
    if target.needs_pull_lookup:
        if not target.head_sha:
            raise ConfigError("the workflow_run event names no head commit")
        numbers = reader.pulls_with_head(target.head_sha)
        if not numbers:
            raise ConfigError(f"no open pull request has head {target.head_sha[:12]}")
        return numbers
    if not target.pull_numbers:
        raise ConfigError(f"the {target.event_name} event names no pull request")
    return list(target.pull_numbers)
