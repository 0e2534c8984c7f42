"""The approval engine: (policy, CODEOWNERS, change requests, trusted diff, snapshot) -> Decision.

Pure and deterministic: no I/O, no clock, and the result does not depend on the order in which
reviews are listed. Every step records why: the required roles carry their reasons, ignored
reviews carry theirs, problems carry file and line. Any doubt ends in `error` or `pending`,
never in `approved`.

Steps:
1. required roles (promotion_bot.core.policy) from the base policy, the change requests at head,
   the changed paths and the watched config keys;
2. CODEOWNERS coverage: every changed governed file must be owned (base CODEOWNERS) by an
   owner of every role that file requires;
3. reviews: per user the latest APPROVED or CHANGES_REQUESTED (COMMENTED changes nothing,
   DISMISSED clears); an approval counts on the head commit only (or, if the policy allows it,
   on an earlier commit whose diff to head touches no governed file); never from the author,
   a contributor (the GitHub account of a commit's author or committer), a bot, or someone
   outside the role's owners; CHANGES_REQUESTED by a member of any required role blocks;
4. separation of duties: roles needing N approvals become N slots, and a maximum bipartite
   matching assigns each approver to at most one slot.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from promotion_bot.core.codeowners import Codeowners, same_owner
from promotion_bot.core.declarations import FileChange as DeclaredChange
from promotion_bot.core.declarations import immutability_problems
from promotion_bot.core.errors import Problem
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import (
    FileChange,
    KeyChange,
    Reason,
    RoleRequirement,
    config_key_changes,
    is_governed,
    required_roles,
    watched_keys,
)
from promotion_bot.core.snapshot import PullSnapshot, Review, TeamMembership, User

WEB_FLOW = "web-flow"  # GitHub's committer of commits made on github.com (merges, edits)
MAX_COMMITS = 250  # GitHub lists at most 250 commits of a pull request
_CO_AUTHOR = re.compile(r"^[ \t]*co-authored-by:[ \t]*(\S.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_NOTE_LIMIT = 5
# GitHub's no-reply e-mail: ID+login@users.noreply.github.com (or login@..., the older form;
# GitHub Enterprise Server: users.noreply.<host>)
_NOREPLY = re.compile(
    r"(?:(\d+)\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)"
    r"@users\.noreply\.[A-Za-z0-9.-]+",
    re.IGNORECASE,
)

# the first line of the gate's sticky pull request comment: how the gate finds its own comment
COMMENT_MARKER = "<!-- promotion-bot:approvals -->"



class Status(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    BLOCKED = "blocked"
    ERROR = "error"


@dataclass(frozen=True)
class ConfigFile:
    """A changed file whose keys a condition watches, as bytes at base and at head."""

    change: FileChange
    before: bytes | None
    after: bytes | None


@dataclass(frozen=True)
class EvaluationInputs:
    """Everything `evaluate` needs, already read (see promotion_bot.core.evaluation_inputs)."""

    base_sha: str
    head_sha: str
    snapshot: PullSnapshot
    policy: Policy | None
    codeowners: Codeowners | None = None
    change_requests: tuple[ChangeRequest, ...] = ()
    changes: tuple[FileChange, ...] = ()
    config_files: tuple[ConfigFile, ...] = ()
    # commit -> files changed from that commit to head (None: unknown), for reviews given
    # on earlier commits when the policy allows counting them
    earlier_commits: Mapping[str, tuple[FileChange, ...] | None] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # team memberships to use: the snapshot's, or the roster's when the policy says so
    teams: Mapping[str, TeamMembership] | None = None
    membership_source: str = "snapshot"
    problems: tuple[Problem, ...] = ()  # found while reading (policy, CODEOWNERS, CRs)


@dataclass(frozen=True)
class ReviewRef:
    """One GitHub review, as cited in a decision."""

    login: str | None
    review_id: int
    state: str
    commit_id: str | None
    submitted_at: dt.datetime | None


@dataclass(frozen=True)
class Approval:
    review: ReviewRef
    note: str = ""  # e.g. why an approval on an earlier commit still counts


@dataclass(frozen=True)
class IgnoredReview:
    review: ReviewRef
    reason: str


@dataclass(frozen=True)
class Candidate:
    """An owner of a role and the people in it who can still approve."""

    owner: str
    logins: tuple[str, ...]


@dataclass(frozen=True)
class RoleDecision:
    role: str
    status: Status
    owners: tuple[str, ...]
    min_approvals: int
    reasons: tuple[Reason, ...]
    satisfied_by: tuple[Approval, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    blocked_by: tuple[ReviewRef, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    status: Status
    summary: str
    pull_number: int
    repository: str | None
    author: str
    base_sha: str
    head_sha: str
    roles: tuple[RoleDecision, ...] = ()
    change_requests: tuple[ChangeRequest, ...] = ()
    governed_files: tuple[str, ...] = ()
    key_changes: tuple[KeyChange, ...] = ()
    ignored_reviews: tuple[IgnoredReview, ...] = ()
    unused_approvals: tuple[IgnoredReview, ...] = ()
    blocking: tuple[ReviewRef, ...] = ()
    problems: tuple[Problem, ...] = ()
    membership_source: str = "snapshot"
    notes: tuple[str, ...] = ()  # facts the decision could not use, said out loud
    base_ref: str = ""  # the branch judged for (its policy and CODEOWNERS)


def evaluate(inputs: EvaluationInputs) -> Decision:
    snapshot = inputs.snapshot
    problems: list[Problem] = list(inputs.problems)
    problems.extend(_snapshot_problems(inputs))
    policy = inputs.policy
    base = _decision_frame(inputs)
    if policy is None:
        problems = problems or [Problem(file="policy", message="no policy could be read")]
        return _finish(base, policy_ok=False, problems=problems)

    key_changes: list[KeyChange] = []
    for config in inputs.config_files:
        found, config_problems = config_key_changes(
            config.change.path,
            config.before,
            config.after,
            watched_keys(policy, config.change.path, config.change.old_path),
            old_path=config.change.old_path,
        )
        key_changes.extend(found)
        problems.extend(config_problems)

    requirements = required_roles(
        policy, inputs.change_requests, inputs.changes, key_changes
    )
    problems.extend(requirements.problems)
    problems.extend(coverage_problems(policy, inputs.codeowners, requirements.roles))
    problems.extend(
        immutability_problems(
            [DeclaredChange(c.status, c.path, c.old_path) for c in inputs.changes],
            policy.change_request_dir,
        )
    )

    teams = inputs.teams if inputs.teams is not None else snapshot.teams
    members, membership_problems = _role_members(requirements.roles, teams, inputs)
    problems.extend(membership_problems)

    contributors = commit_contributors(snapshot, policy.approvals.bots)
    reading = interpret_reviews(
        snapshot.reviews,
        head_sha=inputs.head_sha,
        author=snapshot.author,
        bots=policy.approvals.bots,
        earlier_commits=_acceptable_earlier_commits(policy, inputs),
        contributors={} if policy.approvals.allow_contributors else contributors.commit_of,
    )
    role_members = {name: members.get(name, frozenset()) for name in _names(requirements.roles)}
    in_any_role = frozenset().union(*role_members.values()) if role_members else frozenset()

    ignored = list(reading.ignored)
    approvals: list[Approval] = []
    for approval in reading.approvals:
        login = approval.review.login or ""
        if login.casefold() in in_any_role:
            approvals.append(approval)
        else:
            ignored.append(
                IgnoredReview(
                    approval.review,
                    _not_a_member(login, teams)
                    if requirements.roles
                    else "no role is required",
                )
            )
    blocking = [
        review
        for review in reading.changes_requested
        if (review.login or "").casefold() in in_any_role
    ]
    for review in reading.changes_requested:
        if review not in blocking:
            ignored.append(
                IgnoredReview(review, "changes requested by someone outside the required roles")
            )

    assignment = assign_roles(requirements.roles, approvals, role_members)
    assigned_logins = {a.review.login for slots in assignment.values() for a in slots}
    unused = [
        IgnoredReview(a.review, "every role this person can fill is already filled by others")
        for a in approvals
        if a.review.login not in assigned_logins
    ]

    roles = tuple(
        _role_decision(
            requirement,
            assignment.get(requirement.role, ()),
            role_members[requirement.role],
            teams,
            requirement_count=_role_count_per_login(role_members),
            blocking=blocking,
            used=assigned_logins,
            excluded=reading.excluded_logins,
            bots=policy.approvals.bots,
        )
        for requirement in requirements.roles
    )
    decision = Decision(
        status=Status.PENDING,
        summary="",
        pull_number=base.pull_number,
        repository=base.repository,
        author=base.author,
        base_sha=base.base_sha,
        head_sha=base.head_sha,
        base_ref=base.base_ref,
        roles=roles,
        change_requests=tuple(sorted(inputs.change_requests, key=lambda c: c.change_id)),
        governed_files=requirements.governed_files,
        key_changes=tuple(key_changes),
        ignored_reviews=tuple(sorted(ignored, key=_ignored_order)),
        unused_approvals=tuple(unused),
        blocking=tuple(blocking),
        membership_source=inputs.membership_source,
        notes=contributors.notes(allowed=policy.approvals.allow_contributors),
    )
    return _finish(decision, policy_ok=True, problems=problems)


def _decision_frame(inputs: EvaluationInputs) -> Decision:
    snapshot = inputs.snapshot
    return Decision(
        status=Status.ERROR,
        summary="",
        pull_number=snapshot.number,
        repository=snapshot.repository,
        author=snapshot.author.login,
        base_sha=inputs.base_sha,
        head_sha=inputs.head_sha,
        base_ref=snapshot.base_ref,
        membership_source=inputs.membership_source,
    )


def _finish(decision: Decision, *, policy_ok: bool, problems: list[Problem]) -> Decision:
    unique = tuple(dict.fromkeys(problems))
    if unique or not policy_ok:
        status = Status.ERROR
        summary = f"cannot evaluate: {len(unique)} problem{'s' if len(unique) != 1 else ''}"
    elif decision.blocking:
        status = Status.BLOCKED
        names = ", ".join(sorted({r.login or "?" for r in decision.blocking}))
        summary = f"changes requested by {names}"
    elif not decision.roles:
        status = Status.APPROVED
        summary = "no governed change: no role has to approve"
    elif all(role.status is Status.APPROVED for role in decision.roles):
        status = Status.APPROVED
        summary = f"all {len(decision.roles)} required roles approved"
    else:
        status = Status.PENDING
        missing = [role.role for role in decision.roles if role.status is not Status.APPROVED]
        summary = f"waiting for {', '.join(missing)}"
    return replace(decision, status=status, summary=summary, problems=unique)


def _names(requirements: Sequence[RoleRequirement]) -> list[str]:
    return [requirement.role for requirement in requirements]


def _ignored_order(item: IgnoredReview) -> int:
    return item.review.review_id


# -- snapshot consistency ---------------------------------------------------------------------


def _snapshot_problems(inputs: EvaluationInputs) -> list[Problem]:
    snapshot = inputs.snapshot
    where = f"snapshot of pull request #{snapshot.number}"
    problems: list[Problem] = []
    if snapshot.head_sha != inputs.head_sha:
        problems.append(
            Problem(
                file=where,
                field="pull_request.head.sha",
                message=f"the snapshot is of head {snapshot.head_sha[:12]}, "
                f"but the evaluated head is {inputs.head_sha[:12]}",
                hint="take a new snapshot, or evaluate --head at the snapshot's head",
            )
        )
    if snapshot.base_sha != inputs.base_sha:
        problems.append(
            Problem(
                file=where,
                field="pull_request.base.sha",
                message=f"the snapshot is against base {snapshot.base_sha[:12]}, "
                f"but the evaluated base is {inputs.base_sha[:12]}",
                hint="take a new snapshot, or evaluate --base at the snapshot's base",
            )
        )
    if snapshot.changed_files is not None and snapshot.changed_files != len(snapshot.files):
        problems.append(
            Problem(
                file=where,
                field="files",
                message=f"lists {len(snapshot.files)} files but the pull request changes "
                f"{snapshot.changed_files}",
                hint="the file list is truncated (GitHub lists at most 3000); split the change",
            )
        )
    problems.extend(_commit_list_problems(snapshot, where))
    problems.extend(
        Problem(
            file=where,
            field="reviews",
            message=f"review {review.id} is {review.state} but has no submitted_at",
            hint="GitHub gives every submitted review a time; take a new snapshot",
        )
        for review in snapshot.reviews
        if review.state != "PENDING" and review.submitted_at is None
    )
    listed = {
        path
        for item in snapshot.files
        if item.status != "unchanged"
        for path in (item.filename, item.previous_filename)
        if path
    }
    diffed = {path for change in inputs.changes for path in change.paths}
    if listed != diffed and not problems:
        only_github = sorted(listed - diffed)
        only_git = sorted(diffed - listed)
        detail = []
        if only_github:
            detail.append(f"only GitHub lists {', '.join(only_github[:5])}")
        if only_git:
            detail.append(f"only git shows {', '.join(only_git[:5])}")
        problems.append(
            Problem(
                file=where,
                field="files",
                message="the changed files differ from git's diff of base...head: "
                + "; ".join(detail),
                hint="the snapshot does not describe these commits; take a new snapshot",
            )
        )
    return problems


def _commit_list_problems(snapshot: PullSnapshot, where: str) -> list[Problem]:
    """Who pushed commits can only be checked on the full list: fail closed when it is not."""
    count, commits = snapshot.commit_count, snapshot.commits
    if commits is None:
        if count is None:
            return []  # a hand-written snapshot: only the author is excluded (a decision note)
        return [
            Problem(
                file=where,
                field="commits",
                message=f"the pull request has {count} commit{'s' if count != 1 else ''} but "
                "the snapshot lists none, so who contributed them cannot be checked",
                hint="take a new snapshot (the gate's --output lists the commits)",
            )
        ]
    if count is not None and len(commits) != count:
        truncated = len(commits) < count
        return [
            Problem(
                file=where,
                field="commits",
                message=f"lists {len(commits)} commits but the pull request has {count}, so "
                "who contributed them cannot be checked",
                hint=f"the commit list is truncated (GitHub lists at most {MAX_COMMITS}); "
                "split the change" if truncated else "take a new snapshot",
            )
        ]
    if snapshot.head_sha not in {commit.sha for commit in commits}:
        return [
            Problem(
                file=where,
                field="commits",
                message=f"the commit list does not include the head {snapshot.head_sha[:12]}",
                hint="the commits are of another head; take a new snapshot",
            )
        ]
    return []


# -- contributors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contributors:
    """Who put commits into the pull request, by GitHub account, and what cannot be matched."""

    listed: bool  # False: the snapshot lists no commits
    commit_of: Mapping[str, str]  # casefolded login -> short SHA of their first commit
    logins: tuple[str, ...]  # as GitHub spells them, in order of first commit
    unlinked: tuple[str, ...]  # "Name <email> (abc1234)": no GitHub account linked
    co_authors: tuple[str, ...]  # "Name <email> (abc1234)": trailers naming no account

    def notes(self, *, allowed: bool) -> tuple[str, ...]:
        notes: list[str] = []
        if not self.listed:
            notes.append(
                "the snapshot lists no commits, so only the pull request's author is excluded: "
                "people who pushed commits to it could not be checked"
            )
        if allowed and self.logins:
            notes.append(
                "approvals.allow_contributors is on: "
                f"{', '.join(self.logins)} contributed commits and may still approve"
            )
        if self.unlinked:
            notes.append(
                "commit authors or committers GitHub links to no account cannot be excluded "
                f"by login: {_some(self.unlinked)}"
            )
        if self.co_authors:
            notes.append(
                "Co-authored-by trailers name "
                f"{_some(self.co_authors)}; only a GitHub no-reply address names an account "
                "(and excludes it), other e-mails can be forged and exclude nobody"
            )
        return tuple(notes)


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NOTE_LIMIT])
    more = len(items) - _NOTE_LIMIT
    return f"{shown} and {more} more" if more > 0 else shown


def noreply_account(email: str) -> tuple[str, int | None] | None:
    """The account a GitHub no-reply address names (`ID+login@users.noreply.github.com`, or
    the older `login@users.noreply.github.com`): (login, id or None)."""
    match = _NOREPLY.fullmatch(email.strip())
    if match is None:
        return None
    return match.group(2), int(match.group(1)) if match.group(1) else None


def _trailer_email(trailer: str) -> str:
    match = re.search(r"<([^<>]*)>", trailer)
    return match.group(1) if match else trailer


def commit_contributors(snapshot: PullSnapshot, bots: Sequence[str] = ()) -> Contributors:
    """The GitHub accounts of the commits' authors and committers (not the pull request's
    author, not bots, not GitHub's web-flow committer), in commit order, and the accounts that
    GitHub no-reply addresses name (in `Co-authored-by:` trailers, or as the e-mail of a commit
    GitHub linked to no account). Other names and e-mails are only reported: anyone can write
    any e-mail into a commit, so an e-mail can only take an approval away, never grant one."""
    commit_of: dict[str, str] = {}
    ids: dict[int, str] = {}
    logins: list[str] = []
    unlinked: dict[str, str] = {}
    co_authors: dict[str, str] = {}

    def exclude(user: User, why: str) -> None:
        if user.key in (WEB_FLOW, snapshot.author.key) or is_bot(user, bots):
            return
        if user.id is not None:
            ids.setdefault(user.id, why)
        if user.key not in commit_of:
            commit_of[user.key] = why
            logins.append(user.login)

    for commit in snapshot.commits or ():
        short = commit.sha[:7]
        for user, git_identity in (
            (commit.author, commit.author_git),
            (commit.committer, commit.committer_git),
        ):
            if user is not None:
                exclude(user, short)
                continue
            named = noreply_account(git_identity.email) if git_identity else None
            if named is not None:
                exclude(User(named[0], named[1]), short)
            elif git_identity is not None and str(git_identity):
                unlinked.setdefault(str(git_identity), short)
        for trailer in _CO_AUTHOR.findall(commit.message):
            named = noreply_account(_trailer_email(trailer))
            if named is not None:
                exclude(User(named[0], named[1]), f"co-author of {short}")
            else:
                co_authors.setdefault(" ".join(trailer.split()), short)
    # a renamed account keeps its id: the reviewer is the contributor whatever their login now
    people = [review.user for review in snapshot.reviews if review.user is not None]
    people += [member for team in snapshot.teams.values() for member in team.members]
    for person in people:
        if person.id is not None and person.id in ids and person.key not in commit_of:
            commit_of[person.key] = ids[person.id]
    return Contributors(
        listed=snapshot.commits is not None or snapshot.commit_count is not None,
        commit_of=MappingProxyType(commit_of),
        logins=tuple(logins),
        unlinked=tuple(f"{who} ({sha})" for who, sha in unlinked.items()),
        co_authors=tuple(f"{who} ({sha})" for who, sha in co_authors.items()),
    )


# -- CODEOWNERS coverage ----------------------------------------------------------------------


def coverage_problems(
    policy: Policy, codeowners: Codeowners | None, requirements: Sequence[RoleRequirement]
) -> list[Problem]:
    """Each changed governed file's CODEOWNERS owners must include an owner of every role that
    file requires; otherwise GitHub's code-owner review and our roles disagree."""
    needs: dict[str, list[str]] = {}
    for requirement in requirements:
        for reason in requirement.reasons:
            if reason.path is not None:
                roles = needs.setdefault(reason.path, [])
                if requirement.role not in roles:
                    roles.append(requirement.role)
    if not needs:
        return []
    if codeowners is None:
        return [
            Problem(
                file="CODEOWNERS",
                message="no CODEOWNERS file on the base branch, but governed files changed",
                hint="add CODEOWNERS (root, .github/ or docs/) naming the owners of each role",
            )
        ]
    problems = [
        Problem(
            file=codeowners.path, line=p.line, message=p.message, hint=p.hint
        )
        for p in codeowners.problems
    ]
    for path in sorted(needs):
        ownership = codeowners.owners_for(path)
        for role in needs[path]:
            role_owners = policy.roles[role].owners
            if any(same_owner(o, r) for o in ownership.owners for r in role_owners):
                continue
            if ownership.rule is None:
                message = f"{path} matches no rule, so it has no owner for role {role}"
            elif not ownership.owners:
                message = (
                    f"{path}: the rule {ownership.pattern!r} has no owners, so role {role} "
                    "has none"
                )
            else:
                message = (
                    f"{path}: the rule {ownership.pattern!r} gives it to "
                    f"{' '.join(ownership.owners)}, none of which fills role {role}"
                )
            problems.append(
                Problem(
                    file=codeowners.path,
                    line=ownership.line,
                    message=message,
                    hint=f"add {' or '.join(role_owners)} to the owners of this path; "
                    "the last matching line wins",
                )
            )
    return problems


# -- membership -------------------------------------------------------------------------------


def _role_members(
    requirements: Sequence[RoleRequirement],
    teams: Mapping[str, TeamMembership],
    inputs: EvaluationInputs,
) -> tuple[dict[str, frozenset[str]], list[Problem]]:
    """Casefolded logins of the people who fill each required role."""
    members: dict[str, frozenset[str]] = {}
    problems: list[Problem] = []
    for requirement in requirements:
        logins: set[str] = set()
        for owner in requirement.owners:
            if "/" not in owner:
                logins.add(owner.lstrip("@").casefold())
                continue
            team = _team(teams, owner)
            if team is None:
                problems.append(
                    Problem(
                        file=f"{inputs.membership_source} (team memberships)",
                        field=f"teams.{owner.lstrip('@')}",
                        message=f"the members of {owner} (role {requirement.role}) are not known",
                        hint="snapshot the membership of every owner team the policy names",
                    )
                )
                continue
            logins.update(member.key for member in team.members)
        members[requirement.role] = frozenset(logins)
    return members, problems


def _not_a_member(login: str, teams: Mapping[str, TeamMembership]) -> str:
    key = login.casefold()
    for name, team in sorted(teams.items()):
        for member, state in team.inactive:
            if member.key == key:
                return f"their membership of @{name} is {state}, not active"
    return "not a member of any required role's owners"


def _team(teams: Mapping[str, TeamMembership], owner: str) -> TeamMembership | None:
    wanted = owner.lstrip("@").casefold()
    for name, team in teams.items():
        if name.casefold() == wanted:
            return team
    return None


def _role_count_per_login(role_members: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    roles_of: dict[str, list[str]] = {}
    for role, logins in role_members.items():
        for login in logins:
            roles_of.setdefault(login, []).append(role)
    return roles_of


# -- reviews ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewReading:
    approvals: tuple[Approval, ...]  # latest state APPROVED and on an acceptable commit
    changes_requested: tuple[ReviewRef, ...]  # latest state CHANGES_REQUESTED (not excluded)
    ignored: tuple[IgnoredReview, ...]
    excluded_logins: frozenset[str]  # casefolded: the author, contributors and bots


def is_bot(user: User, bots: Sequence[str] = ()) -> bool:
    return (
        user.type.casefold() == "bot"
        or user.login.casefold().endswith("[bot]")
        or any(user.key == bot.casefold() for bot in bots)
    )


def review_ref(review: Review) -> ReviewRef:
    return ReviewRef(
        login=review.user.login if review.user else None,
        review_id=review.id,
        state=review.state,
        commit_id=review.commit_id,
        submitted_at=review.submitted_at,
    )


def interpret_reviews(
    reviews: Sequence[Review],
    *,
    head_sha: str,
    author: User,
    bots: Sequence[str] = (),
    earlier_commits: Mapping[str, str] | None = None,
    contributors: Mapping[str, str] | None = None,
) -> ReviewReading:
    """Latest state per user, then the rules on who and which commit counts.

    `earlier_commits` maps an earlier commit to the note explaining why approvals on it still
    count (only commits whose diff to head touches no governed file are in it).
    `contributors` maps the casefolded login of each person whose approval never counts because
    they authored or committed a commit of the pull request to that commit's short SHA.
    """
    acceptable = earlier_commits or {}
    contributed = contributors or {}
    # GitHub's review ids grow with each review, and one person's reviews cannot interleave
    # (one pending review at a time): the id orders them. A timestamp can be missing or
    # equal; a review with no time must never become the latest.
    ordered = sorted(reviews, key=lambda r: r.id)
    ignored: list[IgnoredReview] = []
    latest: dict[str, Review] = {}
    excluded: set[str] = {author.key, *contributed}
    for review in ordered:
        ref = review_ref(review)
        if review.user is None:
            ignored.append(IgnoredReview(ref, "the reviewer's account no longer exists"))
            continue
        if review.state == "PENDING":
            ignored.append(IgnoredReview(ref, "pending review: not submitted"))
            continue
        if review.state == "COMMENTED":
            ignored.append(IgnoredReview(ref, "comment only: does not change an earlier review"))
            continue
        key = review.user.key
        previous = latest.pop(key, None)
        if previous is not None:
            ignored.append(
                IgnoredReview(review_ref(previous), f"superseded by review {review.id}")
            )
        if review.state == "DISMISSED":
            ignored.append(IgnoredReview(ref, "dismissed"))
            continue
        latest[key] = review

    approvals: list[Approval] = []
    changes_requested: list[ReviewRef] = []
    for review in sorted(latest.values(), key=lambda r: r.id):
        ref = review_ref(review)
        assert review.user is not None
        if review.user.key == author.key:
            ignored.append(IgnoredReview(ref, "the pull request's author cannot approve it"))
            continue
        if is_bot(review.user, bots):
            excluded.add(review.user.key)
            ignored.append(IgnoredReview(ref, "bot accounts never count"))
            continue
        if review.state == "CHANGES_REQUESTED":
            changes_requested.append(ref)  # a contributor's objection still blocks
            continue
        if review.user.key in contributed:
            ignored.append(
                IgnoredReview(
                    ref,
                    f"contributed commits to this pull request ({contributed[review.user.key]})",
                )
            )
            continue
        if review.commit_id is None:
            ignored.append(
                IgnoredReview(ref, "its commit no longer exists (garbage collected); re-approve")
            )
        elif review.commit_id == head_sha:
            approvals.append(Approval(ref))
        elif review.commit_id in acceptable:
            approvals.append(Approval(ref, acceptable[review.commit_id]))
        else:
            ignored.append(
                IgnoredReview(
                    ref,
                    f"stale: given on {review.commit_id[:7]}, the head is now {head_sha[:7]}",
                )
            )
    return ReviewReading(
        approvals=tuple(approvals),
        changes_requested=tuple(changes_requested),
        ignored=tuple(ignored),
        excluded_logins=frozenset(excluded),
    )


def _acceptable_earlier_commits(policy: Policy, inputs: EvaluationInputs) -> dict[str, str]:
    if not policy.approvals.allow_approvals_on_earlier_commits:
        return {}
    acceptable: dict[str, str] = {}
    for commit, changes in inputs.earlier_commits.items():
        if changes is None:
            continue  # the commit is unknown here: cannot show the diff is harmless
        touched = [path for change in changes for path in change.paths]
        # a change request edited after the approval changes what was approved, too
        requests = f"{policy.change_request_dir.rstrip('/')}/"
        if not any(is_governed(policy, path) or path.startswith(requests) for path in touched):
            acceptable[commit] = (
                f"given on {commit[:7]}; no governed file changed from there to the head"
            )
    return acceptable


# -- separation of duties ---------------------------------------------------------------------


def assign_roles(
    requirements: Sequence[RoleRequirement],
    approvals: Sequence[Approval],
    role_members: Mapping[str, frozenset[str]],
) -> dict[str, tuple[Approval, ...]]:
    """Maximum bipartite matching of approvers to role slots (a role with min_approvals N
    has N slots); each person fills at most one slot. Augmenting paths (Kuhn), visiting slots
    in the policy's role order and approvers by review id (GitHub's order), so the result is
    deterministic. The size is maximum, so a person in two teams lands where needed."""
    slots = [
        requirement.role
        for requirement in requirements
        for _ in range(requirement.min_approvals)
    ]
    people = sorted(approvals, key=lambda a: a.review.review_id)
    edges = [
        [
            index
            for index, approval in enumerate(people)
            if (approval.review.login or "").casefold() in role_members.get(role, frozenset())
        ]
        for role in slots
    ]
    slot_of_person: dict[int, int] = {}

    def augment(slot: int, seen: set[int]) -> bool:
        for person in edges[slot]:
            if person in seen:
                continue
            seen.add(person)
            if person not in slot_of_person or augment(slot_of_person[person], seen):
                slot_of_person[person] = slot
                return True
        return False

    for slot in range(len(slots)):
        augment(slot, set())

    assignment: dict[str, list[Approval]] = {}
    for person, slot in sorted(slot_of_person.items(), key=lambda item: item[1]):
        assignment.setdefault(slots[slot], []).append(people[person])
    return {role: tuple(found) for role, found in assignment.items()}


def _role_decision(
    requirement: RoleRequirement,
    assigned: Sequence[Approval],
    members: frozenset[str],
    teams: Mapping[str, TeamMembership],
    *,
    requirement_count: Mapping[str, list[str]],
    blocking: Sequence[ReviewRef],
    used: set[str | None],
    excluded: frozenset[str],
    bots: Sequence[str],
) -> RoleDecision:
    blocked_by = tuple(r for r in blocking if (r.login or "").casefold() in members)
    used_keys = {login.casefold() for login in used if login}
    notes: list[str] = []
    for approval in assigned:
        login = approval.review.login or ""
        others = [r for r in requirement_count.get(login.casefold(), []) if r != requirement.role]
        if others:
            notes.append(
                f"{login} is also in {', '.join(others)}; one person fills one role, "
                f"so {login} counts for {requirement.role} only"
            )
    candidates: list[Candidate] = []
    if len(assigned) < requirement.min_approvals:
        for owner in requirement.owners:
            if "/" in owner:
                team = _team(teams, owner)
                people = list(team.members) if team else []
            else:
                people = [User(owner.lstrip("@"))]
            free = tuple(
                sorted(
                    (
                        person.login
                        for person in people
                        if person.key not in used_keys
                        and person.key not in excluded
                        and not is_bot(person, bots)
                    ),
                    key=str.casefold,
                )
            )
            candidates.append(Candidate(owner, free))
        if not any(candidate.logins for candidate in candidates):
            notes.append(
                "nobody left who can approve: every member is the author, a contributor, "
                "a bot, or already counted for another role"
            )
    if blocked_by:
        status = Status.BLOCKED
    elif len(assigned) >= requirement.min_approvals:
        status = Status.APPROVED
    else:
        status = Status.PENDING
    return RoleDecision(
        role=requirement.role,
        status=status,
        owners=requirement.owners,
        min_approvals=requirement.min_approvals,
        reasons=requirement.reasons,
        satisfied_by=tuple(assigned),
        candidates=tuple(candidates),
        blocked_by=blocked_by,
        notes=tuple(notes),
    )
