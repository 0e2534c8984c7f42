"""The PR gate: snapshot from GitHub -> pure evaluation -> status, sticky comment, requests.

This is the only place where a `Decision` becomes a GitHub commit status (`status_for`).
The status model (docs/status-model.md):

- A commit status belongs to a commit, not to a pull request, so the gate judges **heads**:
  `promotion/approvals` on commit H is `success` only if every open pull request with head H
  into a governed branch is approved, each judged by the policy of its own base. A pull
  request into a branch that is not governed is never judged and never decides the status.
- Every run first invalidates what it is about to judge (`pending` on the event's head and on
  every head it reads), so a run that fails half-way never leaves an older `success` behind;
  every failure after that sets `error` with the reason, on each head concerned.
- A run writes `success` only if nobody set the status after its own `pending`: a newer
  evaluation (an event or the schedule) started meanwhile, and its result stands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from promotion_bot.adapters.actions_event import EventTarget
from promotion_bot.adapters.github import (
    EVALUATING,
    GitHubError,
    PullFacts,
    PullReader,
    PullWriter,
)
from promotion_bot.adapters.github_graphql import OpenPull
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
# the state of a head judged for several pull requests: the worst of theirs
_SEVERITY = ("success", "pending", "failure", "error")


def status_for(decision: Decision) -> tuple[str, str]:
    """The commit status (state, description) for a decision."""
    summary = decision.summary[:1].upper() + decision.summary[1:]
    return _STATES[decision.status], summary


@dataclass
class GateOutcome:
    """One pull request: judged (a decision), or skipped (its base is not governed)."""

    pull_number: int
    head_sha: str
    status_sha: str  # the commit whose status carries this judgement
    decision: Decision | None
    state: str  # this pull request's own verdict
    description: str
    snapshot: dict[str, Any] | None = None
    comment: str = ""
    review_requests: list[str] = field(default_factory=list)
    base_ref: str = ""
    skipped: str = ""  # why it was not judged
    facts: PullFacts | None = field(default=None, repr=False)


@dataclass
class HeadStatus:
    """What the run set (or would set) as `promotion/approvals` on one commit."""

    sha: str
    state: str
    description: str
    written: bool
    pulls: tuple[int, ...] = ()  # the pull requests it was judged for
    note: str = ""


@dataclass
class GateRun:
    pulls: list[GateOutcome] = field(default_factory=list)
    heads: list[HeadStatus] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Gate:
    reader: PullReader
    writer: PullWriter | None  # None: dry run, nothing is written
    repository: str
    clock: Callable[[], dt.datetime]
    target_url: str | None = None
    governed_branches: tuple[str, ...] = ()  # fnmatch patterns; none: the default branch

    # -- which branches are governed ------------------------------------------------------

    def governed(self) -> tuple[str, ...]:
        return self.governed_branches or (self.reader.default_branch(),)

    def is_governed_base(self, base_ref: str) -> bool:
        return any(fnmatch.fnmatchcase(base_ref, pattern) for pattern in self.governed())

    # -- runs -----------------------------------------------------------------------------

    def run_target(self, target: EventTarget, *, all_open: bool = False) -> GateRun:
        """What an event asks for: every open pull request (the schedule, `--all-open`), a
        merge group, or the heads an event names. The head an event names is invalidated
        before anything is read from GitHub, so not even finding its pull request can leave an
        older `success` on it."""
        if all_open or target.event_name == "schedule":
            return self.run_all_open()
        if target.event_name == "merge_group":
            if target.head_sha is None:
                raise ConfigError("the merge_group event names no head commit")
            [number] = pull_numbers(target, self.reader)[:1]
            return self.run_merge_group(number, target.head_sha, target.base_sha)
        event_head = target.head_sha if target.event_name != "manual" else None
        if target.needs_pull_lookup:  # a fork's review: the head is all the event names
            if not event_head:
                raise ConfigError("the workflow_run event names no head commit")
            return self.run_event((), event_head=event_head)
        return self.run_event(pull_numbers(target, self.reader), event_head=event_head)

    def run_event(self, numbers: Sequence[int], *, event_head: str | None = None) -> GateRun:
        """Judge what an event is about: its head commit and the current head of every pull
        request it names (a push may have moved one since)."""
        run = GateRun()
        started: dict[str, int | None] = {}
        if event_head:
            self._invalidate(event_head, started, run)
        for number in numbers:
            try:
                head = self.reader.pull_head(number)
            except PromotionBotError as error:
                run.errors.append(f"#{number}: {error.message}")
                if event_head and started.get(event_head) is not None:
                    self._fail(event_head, error.message)
                    started[event_head] = None  # failed: not judged again in this run
                continue
            if head not in started:
                self._invalidate(head, started, run)
        for head, status_id in started.items():
            if status_id is not None or self.writer is None:
                self._judge_head(head, status_id, run, asked=numbers)
        return run

    def run_all_open(self) -> GateRun:
        """The schedule: judge the head of every open pull request into a governed branch,
        so that a green status never outlives the team membership it relied on."""
        run = GateRun()
        try:
            heads = list(dict.fromkeys(pull.head_sha for pull in self.reader.open_pulls()
                                       if self.is_governed_base(pull.base_ref)))
        except PromotionBotError as error:
            run.errors.append(error.message)
            return run
        for head in heads:
            started: dict[str, int | None] = {}
            self._invalidate(head, started, run)
            if started[head] is not None or self.writer is None:
                self._judge_head(head, started[head], run, asked=())
        return run

    def run_merge_group(self, number: int, group_head: str,
                        group_base: str | None) -> GateRun:
        """A merge queue builds a new commit from the approved head: judge the pull request
        and set the status on the group's commit."""
        run = GateRun()
        started: dict[str, int | None] = {}
        self._invalidate(group_head, started, run)
        if started[group_head] is None and self.writer is not None:
            return run
        try:
            facts = self.reader.pull(number, verify=False)  # confirmed in _evaluate
            outcome = self._evaluate(facts)
            self._check_merge_group(facts, outcome, group_head, group_base)
            outcome.status_sha = group_head
            run.pulls.append(outcome)
            self._finish_head(group_head, started[group_head], outcome.state,
                              outcome.description, (number,), run)
        except PromotionBotError as error:
            run.errors.append(f"#{number}: {error.message}")
            self._fail(group_head, error.message)
        except Exception:
            self._fail(group_head, "an internal error (a bug in promotion-bot; see the log)")
            raise
        return run

    # -- one head -------------------------------------------------------------------------

    def _invalidate(self, sha: str, started: dict[str, int | None], run: GateRun) -> None:
        """`pending` on `sha` before judging it: whatever happens next, an older `success`
        is gone. The id of that status tells later whether someone wrote after it."""
        if self.writer is None:
            started[sha] = None
            return
        try:
            started[sha] = self.writer.set_status(sha, "pending", EVALUATING, self.target_url)
        except PromotionBotError as error:
            started[sha] = None
            run.errors.append(f"{sha[:12]}: could not invalidate the status before evaluating "
                              f"({error.message})")
            self._fail(sha, error.message)

    def _judge_head(self, head: str, status_id: int | None, run: GateRun,
                    asked: Sequence[int]) -> None:
        judged: list[GateOutcome] = []
        try:
            # the lists read here are confirmed complete (and the heads unmoved) by one query
            # per pull request, in _evaluate, before anything is decided
            listed = self.reader.open_pulls(verify=False)
            siblings = [pull for pull in listed if pull.head_sha == head]
            governed = [pull for pull in siblings if self.is_governed_base(pull.base_ref)]
            if governed:  # without, the head stays pending: nothing to confirm for it
                # the query confirms these are still all the open pull requests with the
                # head, and that each left unjudged for its base kept that base
                self.reader.expect_siblings(head, {p.number: p.base_ref for p in siblings},
                                            len(listed))
                for pull in siblings:
                    if pull not in governed:
                        self.reader.expect_pull(pull.number, pull.head_sha, pull.base_ref)
            for pull in siblings:
                if pull not in governed and pull.number in asked:
                    run.pulls.append(self._skipped(pull))
            for pull in governed:
                facts = self.reader.pull(pull.number, verify=False)
                base_ref = str(facts.pull["base"]["ref"])
                if (facts.head_sha, base_ref) != (head, pull.base_ref):
                    self.reader.forget_pull(pull.number)  # the open list is stale too
                if facts.head_sha != head:
                    raise GitHubError(f"pull request #{pull.number} moved during the "
                                      f"evaluation ({head[:12]} -> {facts.head_sha[:12]}); "
                                      "the push starts its own evaluation")
                if base_ref != pull.base_ref:  # governed by one base, judged by another
                    raise GitHubError(f"pull request #{pull.number} was retargeted during the "
                                      f"evaluation ({pull.base_ref} -> {base_ref}); the edit "
                                      "starts its own evaluation")
                judged.append(self._evaluate(facts))
            # sent already by _evaluate; with no governed pull request, the sibling list's count
            self.reader.verify_pending()
            state, description = self._aggregate(judged, governed)
            written = self._finish_head(head, status_id, state, description,
                                        tuple(p.number for p in governed), run)
            if written or self.writer is None:
                for outcome in judged:
                    self._publish(outcome)
            run.pulls.extend(judged)
        except PromotionBotError as error:
            run.errors.append(f"{head[:12]}: {error.message}")
            self._fail(head, error.message)
        except Exception:
            self._fail(head, "an internal error (a bug in promotion-bot; see the log)")
            raise

    def _aggregate(self, judged: list[GateOutcome],
                   governed: list[OpenPull]) -> tuple[str, str]:
        if not governed:
            branches = ", ".join(self.governed())
            return "pending", (f"no open pull request into a governed branch ({branches}) has "
                               "this head: nothing is approved")
        state = max((o.state for o in judged), key=_SEVERITY.index)
        worst = [o for o in judged if o.state == state] + [o for o in judged if o.state != state]
        description = "; ".join(f"#{o.pull_number} into {o.base_ref}: {o.description}"
                                for o in worst)
        return state, description

    def _finish_head(self, head: str, status_id: int | None, state: str, description: str,
                     pulls: tuple[int, ...], run: GateRun) -> bool:
        """Write the head's final status; `success` only if nobody wrote after our pending."""
        if self.writer is None:
            run.heads.append(HeadStatus(head, state, description, False, pulls))
            return False
        if state == "success" and (status_id is None
                                   or self.writer.written_since(head, status_id)):
            note = "a newer evaluation of this commit started meanwhile: its status stands"
            run.heads.append(HeadStatus(head, state, description, False, pulls, note))
            return False
        self.writer.set_status(head, state, description, self.target_url)
        run.heads.append(HeadStatus(head, state, description, True, pulls))
        return True

    def _skipped(self, pull: OpenPull) -> GateOutcome:
        reason = (f"its base {pull.base_ref} is not a governed branch "
                  f"({', '.join(self.governed())}): not judged")
        return GateOutcome(pull.number, pull.head_sha, pull.head_sha, None, "", reason,
                           base_ref=pull.base_ref, skipped=reason)

    # -- one pull request -----------------------------------------------------------------

    def _evaluate(self, facts: PullFacts) -> GateOutcome:
        """Judge one pull request. The roles a change requires do not depend on who is in
        which team, so a first evaluation without members names them; only the teams of
        those roles are listed. Then one query confirms every list read for it (and the
        head, unmoved, and each file read from the file list, the file at the head) before
        the decision that counts."""
        policy = self.base_policy(facts)
        where = f"pull request #{facts.number}"
        snapshot_data = build_snapshot(self.reader, facts, policy, self.repository, self.clock,
                                       teams_of=())
        inputs = collect_inputs(self.reader, facts.base_tip, facts.head_sha,
                                parse_snapshot(snapshot_data, where))
        snapshot_data = build_snapshot(self.reader, facts, policy, self.repository, self.clock,
                                       teams_of=_required_teams(evaluate(inputs)),
                                       verify=False)
        self.reader.verify_pending()
        snapshot = parse_snapshot(snapshot_data, where)
        inputs = collect_inputs(self.reader, facts.base_tip, facts.head_sha, snapshot)
        decision = evaluate(inputs)
        state, description = status_for(decision)
        return GateOutcome(facts.number, facts.head_sha, facts.head_sha, decision, state,
                           description, snapshot_data, render_markdown(decision),
                           base_ref=snapshot.base_ref, facts=facts)

    def base_policy(self, facts: PullFacts) -> Policy | None:
        raw = self.reader.read(facts.base_tip, POLICY_PATH)
        return load_policy(raw, POLICY_PATH).value if raw is not None else None

    def snapshot(self, facts: PullFacts, policy: Policy | None) -> dict[str, Any]:
        """The snapshot with every owner team the policy names (the `snapshot` command; the
        gate's own lists only the teams of the required roles)."""
        data = build_snapshot(self.reader, facts, policy, self.repository, self.clock,
                              verify=False)
        self.reader.verify_pending()
        return data

    def _check_merge_group(self, facts: PullFacts, outcome: GateOutcome, group_head: str,
                           group_base: str | None) -> None:
        """A merge queue builds a new commit: every governed file the pull request or the
        group changes must read the same at the group's head as at the approved head."""
        policy = self.base_policy(facts)
        if policy is None or outcome.decision is None:
            return
        changed = {path for change in self.reader.changes(facts.base_tip, facts.head_sha)
                   for path in change.paths}
        changed |= {path for change in self.reader.changes(group_base or facts.base_tip,
                                                           group_head)
                    for path in change.paths}
        drift = sorted(path for path in changed if is_governed(policy, path)
                       and self.reader.read(group_head, path)
                       != self.reader.read(facts.head_sha, path))
        self.reader.verify_pending()  # a file read from the pull request's list: at the head?
        if drift:
            outcome.state = "error"
            outcome.description = (f"the merge group's governed files differ from the approved "
                                   f"head: {', '.join(drift[:3])}")

    def _publish(self, outcome: GateOutcome) -> None:
        """The sticky comment and, by policy, review requests (after the status)."""
        if self.writer is None or outcome.decision is None or outcome.facts is None:
            return
        self.writer.upsert_comment(outcome.pull_number, outcome.comment,
                                   self.reader.own_comments(outcome.pull_number))
        facts = outcome.facts
        policy = self.base_policy(facts)
        if (policy is not None and policy.approvals.request_reviews
                and outcome.decision.status == Status.PENDING):
            teams, users = _missing_owners(outcome.decision, self.repository.split("/")[0])
            already = {t["slug"].lower() for t in facts.pull.get("requested_teams") or []}
            already |= {u["login"].lower() for u in facts.pull.get("requested_reviewers") or []}
            try:
                outcome.review_requests = self.writer.request_team_reviews(
                    outcome.pull_number, teams, users, already)
            except GitHubError as error:  # a courtesy: the decision and status stand
                outcome.review_requests = [f"(could not request reviews: {error.message})"]

    def _fail(self, sha: str | None, reason: str) -> None:
        """Best effort: a failing status with the reason, if it can still be written."""
        if self.writer is None or sha is None:
            return
        # the run fails anyway if this write fails too; the pending set at the start (or a
        # missing status) keeps the gate closed
        with contextlib.suppress(PromotionBotError):
            self.writer.set_status(sha, "error", f"promotion-bot could not evaluate: {reason}",
                                   self.target_url)


def _required_teams(decision: Decision) -> set[tuple[str, str]]:
    """(org, slug) of every owner team of the roles the decision requires."""
    teams = set()
    for role in decision.roles:
        for owner in role.owners:
            name = owner.removeprefix("@")
            if "/" in name:
                org, slug = name.split("/", 1)
                teams.add((org, slug))
    return teams


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
                          "none (record runs on push; pass --pr NUMBER to evaluate one, or "
                          "--all-open)")
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
