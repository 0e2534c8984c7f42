"""The approval engine, table-driven: reviews, roles, separation of duties, CODEOWNERS, errors.

Everything here is pure: inputs are built in memory and `evaluate` is called directly.
The example governed repository's policy and CODEOWNERS are the defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from promotion_bot.core.approvals import (
    ConfigFile,
    Decision,
    EvaluationInputs,
    Status,
    evaluate,
)
from promotion_bot.core.codeowners import Codeowners, parse_codeowners
from promotion_bot.core.formats.documents import load_change_request, load_policy
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import FileChange
from promotion_bot.core.snapshot import (
    ChangedFile,
    GitIdentity,
    PullCommit,
    PullSnapshot,
    Review,
    TeamMembership,
    User,
)
from promotion_bot.render.decision import decision_to_json

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "governed-repo"
HEAD = "h" * 40
OLD = "0" * 40
BASE = "b" * 40
AUTHOR = "erin"
RULES = "configs/routing_tables/routing_rules_v1.1.0.json"
CR_PATH = "change-requests/CR-2026-0100.yaml"
CLASSIFIER = "configs/models/classifier.yaml"
SHA = "a" * 64

TEAMS = {
    "example-org/routing-reviewers": ("rita", "pat", "erin", "Ravi"),
    "example-org/promotion-admins": ("adam", "pat", "release-bot[bot]"),
    "example-org/security-officers": ("sam",),
    "example-org/privacy-officers": ("priya",),
}


def example_policy(text: str | None = None) -> Policy:
    raw = text if text is not None else (EXAMPLE / ".promotion/policy.yaml").read_text()
    loaded = load_policy(raw.encode())
    assert loaded.value is not None, loaded.problems
    return loaded.value


def policy_with(old: str, new: str) -> Policy:
    text = (EXAMPLE / ".promotion/policy.yaml").read_text()
    assert old in text
    return example_policy(text.replace(old, new))


def example_codeowners(text: str | None = None) -> Codeowners:
    return parse_codeowners(text if text is not None else (EXAMPLE / "CODEOWNERS").read_text())


def change_request(change_type: str = "ruleset", path: str = RULES) -> ChangeRequest:
    text = (
        "change_id: CR-2026-0100\n"
        f"change_type: {change_type}\n"
        "title: Promote\n"
        'proposed_version: "1.1.0"\n'
        'current_version: "1.0.0"\n'
        f"artifacts:\n  - path: {path}\n    sha256: {SHA}\n"
        "rollback_plan: Revert the pull request.\n"
    )
    if change_type == "model":
        text += f"models:\n  - name: classifier\n    identifier: ollama/q@sha256:{SHA}\n"
    loaded = load_change_request(text.encode(), CR_PATH)
    assert loaded.value is not None, loaded.problems
    return loaded.value


def review(
    review_id: int,
    login: str | None,
    state: str = "APPROVED",
    commit: str | None = HEAD,
    minute: int | None = None,
    kind: str = "User",
) -> Review:
    at = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC) + dt.timedelta(
        minutes=review_id if minute is None else minute
    )
    return Review(
        id=review_id,
        user=User(login, type=kind) if login else None,
        state=state,
        commit_id=commit,
        submitted_at=None if state == "PENDING" else at,
    )


def snapshot(
    reviews: Sequence[Review],
    changes: Sequence[FileChange],
    teams: dict[str, tuple[str, ...]] | None = None,
    head: str = HEAD,
    commits: Sequence[PullCommit] | None = None,
    commit_count: int | None = None,
) -> PullSnapshot:
    files = tuple(
        ChangedFile(
            change.path,
            {"A": "added", "D": "removed", "R": "renamed"}.get(change.status, "modified"),
            change.old_path,
        )
        for change in changes
    )
    return PullSnapshot(
        number=42,
        author=User(AUTHOR),
        base_sha=BASE,
        head_sha=head,
        files=files,
        reviews=tuple(reviews),
        teams=MappingProxyType(
            {
                name: TeamMembership(
                    name,
                    tuple(User(m, type="Bot" if m.endswith("[bot]") else "User") for m in members),
                )
                for name, members in (teams if teams is not None else TEAMS).items()
            }
        ),
        changed_files=len(files),
        commits=tuple(commits) if commits is not None else None,
        commit_count=commit_count,
    )


RULESET_PR = (FileChange("A", RULES), FileChange("A", CR_PATH))


def decide(
    reviews: Sequence[Review] = (),
    *,
    changes: Sequence[FileChange] = RULESET_PR,
    crs: Sequence[ChangeRequest] | None = None,
    policy: Policy | None = None,
    codeowners: Codeowners | None = None,
    config_files: Sequence[ConfigFile] = (),
    earlier: dict[str, tuple[FileChange, ...] | None] | None = None,
    teams: dict[str, tuple[str, ...]] | None = None,
    commits: Sequence[PullCommit] | None = None,
    commit_count: int | str | None = "as listed",
) -> Decision:
    if commit_count == "as listed":
        commit_count = len(commits) if commits is not None else None
    assert not isinstance(commit_count, str)
    inputs = EvaluationInputs(
        base_sha=BASE,
        head_sha=HEAD,
        snapshot=snapshot(reviews, changes, teams, commits=commits, commit_count=commit_count),
        policy=policy or example_policy(),
        codeowners=codeowners or example_codeowners(),
        change_requests=tuple(crs if crs is not None else [change_request()]),
        changes=tuple(changes),
        config_files=tuple(config_files),
        earlier_commits=MappingProxyType(earlier or {}),
    )
    return evaluate(inputs)


def who(decision: Decision) -> dict[str, list[str]]:
    """role -> logins that satisfied it."""
    return {
        role.role: [a.review.login or "" for a in role.satisfied_by] for role in decision.roles
    }


def ignored(decision: Decision) -> dict[int, str]:
    return {i.review.review_id: i.reason for i in decision.ignored_reviews}


# -- reviews ----------------------------------------------------------------------------------

REVIEW_CASES = [
    pytest.param(
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="reviewer-and-administrator-approve-the-head",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam", commit=OLD)],
        Status.PENDING,
        {"reviewer": ["rita"], "administrator": []},
        {2: "stale: given on 0000000, the head is now hhhhhhh"},
        id="stale-approval-after-a-push",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam"), review(3, "rita", "CHANGES_REQUESTED")],
        Status.BLOCKED,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "superseded by review 3"},
        id="approve-then-request-changes",
    ),
    pytest.param(
        [review(1, "rita", "CHANGES_REQUESTED"), review(2, "rita"), review(3, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {1: "superseded by review 2"},
        id="request-changes-then-approve",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam", "DISMISSED")],
        Status.PENDING,
        {"reviewer": ["rita"], "administrator": []},
        {2: "dismissed"},
        id="dismissed-approval",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam"), review(3, "rita", "DISMISSED")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "superseded by review 3", 3: "dismissed"},
        id="dismissal-does-not-fall-back-to-an-earlier-approval",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam"), review(3, "rita", "COMMENTED")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {3: "comment only: does not change an earlier review"},
        id="a-comment-does-not-replace-an-approval",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam"), review(3, "rita")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {1: "superseded by review 3"},
        id="approving-again-replaces-the-earlier-approval",
    ),
    pytest.param(
        [review(1, "erin"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "the pull request's author cannot approve it"},
        id="self-approval",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "release-bot[bot]", kind="Bot")],
        Status.PENDING,
        {"reviewer": ["rita"], "administrator": []},
        {2: "bot accounts never count"},
        id="a-bot-approving",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "sam")],
        Status.PENDING,
        {"reviewer": ["rita"], "administrator": []},
        {2: "not a member of any required role's owners"},
        id="approval-from-outside-the-roles-owners",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "adam"), review(3, "sam", "CHANGES_REQUESTED")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {3: "changes requested by someone outside the required roles"},
        id="changes-requested-outside-the-required-roles-does-not-block",
    ),
    pytest.param(
        [review(1, "rita", "CHANGES_REQUESTED", commit=OLD), review(2, "pat"), review(3, "adam")],
        Status.BLOCKED,
        {"reviewer": ["pat"], "administrator": ["adam"]},
        {},
        id="changes-requested-on-an-older-commit-still-blocks",
    ),
    pytest.param(
        [review(1, "rita", "PENDING"), review(2, "pat", commit=None), review(3, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {
            1: "pending review: not submitted",
            2: "its commit no longer exists (garbage collected); re-approve",
        },
        id="pending-review-and-garbage-collected-commit",
    ),
    pytest.param(
        [review(1, None), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "the reviewer's account no longer exists"},
        id="deleted-account",
    ),
    pytest.param(
        [review(1, "RITA"), review(2, "Adam")],
        Status.APPROVED,
        {"reviewer": ["RITA"], "administrator": ["Adam"]},
        {},
        id="logins-are-case-insensitive",
    ),
    pytest.param(
        [review(1, "pat")],
        Status.PENDING,
        {"reviewer": ["pat"], "administrator": []},
        {},
        id="one-person-in-two-teams-counts-once",
    ),
    pytest.param(
        [review(1, "pat"), review(2, "rita")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["pat"]},
        {},
        id="matching-moves-the-two-team-member-to-where-they-are-needed",
    ),
    pytest.param(
        [review(1, "rita"), review(2, "pat")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["pat"]},
        {},
        id="matching-is-the-same-in-the-other-order",
    ),
]


@pytest.mark.parametrize(("reviews", "status", "satisfied", "reasons"), REVIEW_CASES)
def test_review_rules(
    reviews: list[Review],
    status: Status,
    satisfied: dict[str, list[str]],
    reasons: dict[int, str],
) -> None:
    decision = decide(reviews)
    assert decision.problems == ()
    assert decision.status is status
    assert who(decision) == satisfied
    found = ignored(decision)
    for review_id, reason in reasons.items():
        assert found.get(review_id) == reason


def test_blocked_names_who_requested_changes_and_in_which_role() -> None:
    decision = decide([review(1, "rita"), review(2, "adam"), review(3, "pat", "CHANGES_REQUESTED")])
    assert decision.status is Status.BLOCKED
    assert decision.summary == "changes requested by pat"
    blocked = {role.role: [r.login for r in role.blocked_by] for role in decision.roles}
    assert blocked == {"reviewer": ["pat"], "administrator": ["pat"]}


def test_pending_role_lists_who_can_still_approve() -> None:
    decision = decide([review(1, "pat")])
    admin = next(role for role in decision.roles if role.role == "administrator")
    assert admin.status is Status.PENDING
    # pat is counted for reviewer, erin is the author, release-bot is a bot
    assert [(c.owner, c.logins) for c in admin.candidates] == [
        ("@example-org/promotion-admins", ("adam",))
    ]
    reviewer = next(role for role in decision.roles if role.role == "reviewer")
    assert reviewer.notes == (
        "pat is also in administrator; one person fills one role, so pat counts for reviewer only",
    )


def test_bots_named_in_the_policy_never_count() -> None:
    policy = policy_with("request_reviews: true", "request_reviews: true\n  bots: [adam]")
    decision = decide([review(1, "rita"), review(2, "adam")], policy=policy)
    assert decision.status is Status.PENDING
    assert ignored(decision)[2] == "bot accounts never count"


def test_surplus_approvals_are_reported_as_unused() -> None:
    decision = decide([review(1, "rita"), review(2, "adam"), review(3, "Ravi")])
    assert decision.status is Status.APPROVED
    assert [(u.review.login, u.reason) for u in decision.unused_approvals] == [
        ("Ravi", "every role this person can fill is already filled by others")
    ]


# -- contributors: people who put commits into the pull request -------------------------------


def commit(
    sha: str = HEAD,
    author: str | None = AUTHOR,
    committer: str | None = AUTHOR,
    message: str = "Routing rules 1.1.0",
    *,
    author_kind: str = "User",
    email: str = "someone@example.org",
) -> PullCommit:
    """One pulls/{n}/commits item; a login of None is an e-mail GitHub links to no account."""
    return PullCommit(
        sha=sha,
        author=User(author, type=author_kind) if author else None,
        committer=User(committer) if committer else None,
        author_git=GitIdentity(author or "Unlinked Person", email),
        committer_git=GitIdentity(committer or "Unlinked Person", email),
        message=message,
    )


FIRST = "c" * 40  # the pull request's first commit; HEAD is its last

CONTRIBUTOR_CASES = [
    pytest.param(
        [commit(FIRST), commit(HEAD, author=AUTHOR, committer="rita")],
        [review(1, "rita"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (hhhhhhh)"},
        id="a-committer-approves",
    ),
    pytest.param(
        [commit(FIRST), commit(HEAD, author="Ravi", committer="Ravi", message="fixup! rules")],
        [review(1, "ravi"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (hhhhhhh)"},
        id="a-co-worker-who-pushed-a-fixup-approves",
    ),
    pytest.param(
        [commit(FIRST, author="pat", committer="pat"), commit(HEAD, author="pat", committer="pat")],
        [review(1, "pat"), review(2, "rita"), review(3, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (ccccccc)"},
        id="the-first-commit-is-named-and-others-fill-the-roles",
    ),
    pytest.param(
        [commit(HEAD, author=AUTHOR, committer="web-flow")],
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="github-web-flow-committer-is-ignored",
    ),
    pytest.param(
        [commit(FIRST), commit(HEAD, author="dependabot[bot]", committer="web-flow",
                               author_kind="Bot")],
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="a-bot-commit-is-ignored",
    ),
    pytest.param(
        [commit(HEAD, author=None, committer=None, email="adam@example.org")],
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="an-e-mail-linked-to-no-account-excludes-nobody",
    ),
    pytest.param(
        [commit(HEAD, message="Rules\n\nCo-authored-by: Rita <rita@example.org>\n")],
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="a-co-author-e-mail-that-names-no-account-is-only-a-note",
    ),
    pytest.param(
        [commit(HEAD, message="Rules\n\nCo-authored-by: Rita <4711+rita@users.noreply.github.com>")],
        [review(1, "rita"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (co-author of hhhhhhh)"},
        id="a-co-author-no-reply-address-excludes-that-account",
    ),
    pytest.param(
        [commit(HEAD, message="Rules\n\nco-authored-by:   R <RITA@users.noreply.github.com> ")],
        [review(1, "rita"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (co-author of hhhhhhh)"},
        id="the-older-no-reply-form-and-any-case-exclude-too",
    ),
    pytest.param(
        [commit(HEAD, message="Rules\n\nCo-authored-by: R <4711+old-name@users.noreply.github.com>")],
        [dataclasses.replace(review(1, "rita"), user=User("rita", 4711)), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (co-author of hhhhhhh)"},
        id="a-renamed-account-is-excluded-by-its-id",
    ),
    pytest.param(
        [commit(HEAD, author=None, committer=None, email="77+rita@users.noreply.github.com")],
        [review(1, "rita"), review(2, "adam")],
        Status.PENDING,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "contributed commits to this pull request (hhhhhhh)"},
        id="an-unlinked-commit-with-a-no-reply-address-excludes-that-account",
    ),
    pytest.param(
        [commit(HEAD, message=f"Rules\n\nCo-authored-by: E <1+{AUTHOR}@users.noreply.github.com>\n"
                              "Co-authored-by: Pat <2+pat@users.noreply.github.com>")],
        [review(1, "rita"), review(2, "adam")],
        Status.APPROVED,
        {"reviewer": ["rita"], "administrator": ["adam"]},
        {},
        id="a-trailer-never-grants-an-approval",
    ),
    pytest.param(
        [commit(HEAD, author=AUTHOR, committer="Rita")],
        [review(1, "rita"), review(2, "adam"), review(3, "RITA", "CHANGES_REQUESTED")],
        Status.BLOCKED,
        {"reviewer": [], "administrator": ["adam"]},
        {1: "superseded by review 3"},
        id="a-contributors-request-for-changes-still-blocks",
    ),
]


@pytest.mark.parametrize(
    ("commits", "reviews", "status", "satisfied", "reasons"), CONTRIBUTOR_CASES
)
def test_contributors_never_approve(
    commits: list[PullCommit],
    reviews: list[Review],
    status: Status,
    satisfied: dict[str, list[str]],
    reasons: dict[int, str],
) -> None:
    decision = decide(reviews, commits=commits)
    assert decision.problems == ()
    assert decision.status is status
    assert who(decision) == satisfied
    found = ignored(decision)
    for review_id, reason in reasons.items():
        assert found.get(review_id) == reason
    assert not any("snapshot lists no commits" in note for note in decision.notes)


def test_contributors_are_not_offered_as_who_can_still_approve() -> None:
    decision = decide([review(1, "adam")], commits=[commit(HEAD, author="rita")])
    reviewer = next(role for role in decision.roles if role.role == "reviewer")
    # erin is the author and rita pushed the head commit; adam fills administrator
    assert [c.logins for c in reviewer.candidates] == [("pat", "Ravi")]


def test_notes_name_co_authors_and_unlinked_identities_without_matching_them() -> None:
    message = "Rules\n\nCo-authored-by: Rita R <rita@example.org>\nco-authored-by:  Mallory <m@x>"
    decision = decide(
        [review(1, "rita"), review(2, "adam")],
        commits=[commit(FIRST, author=None, committer=AUTHOR, email="ghost@example.org"),
                 commit(HEAD, message=message)],
    )
    assert decision.status is Status.APPROVED
    assert decision.notes == (
        "commit authors or committers GitHub links to no account cannot be excluded by login: "
        "Unlinked Person <ghost@example.org> (ccccccc)",
        "Co-authored-by trailers name Rita R <rita@example.org> (hhhhhhh), Mallory <m@x> "
        "(hhhhhhh); only a GitHub no-reply address names an account (and excludes it), other "
        "e-mails can be forged and exclude nobody",
    )


def test_a_snapshot_without_commits_excludes_the_author_only_and_says_so() -> None:
    decision = decide([review(1, "rita"), review(2, "adam")])
    assert decision.status is Status.APPROVED
    assert decision.notes == (
        "the snapshot lists no commits, so only the pull request's author is excluded: "
        "people who pushed commits to it could not be checked",
    )


@pytest.mark.parametrize(
    ("commits", "count", "message", "hint"),
    [
        (None, 2, "the pull request has 2 commits but the snapshot lists none",
         "take a new snapshot"),
        ([commit(HEAD)], 2, "lists 1 commits but the pull request has 2",
         "the commit list is truncated (GitHub lists at most 250)"),
        ([commit(FIRST), commit(HEAD)], 1, "lists 2 commits but the pull request has 1",
         "take a new snapshot"),
        ([commit(FIRST)], 1, "the commit list does not include the head hhhhhhhhhhhh",
         "the commits are of another head"),
        ([], None, "the commit list does not include the head", "another head"),
    ],
    ids=["count-but-no-list", "truncated", "more-than-counted", "another-head", "empty"],
)
def test_an_incomplete_commit_list_is_an_error(
    commits: list[PullCommit] | None, count: int | None, message: str, hint: str
) -> None:
    decision = decide([review(1, "rita"), review(2, "adam")], commits=commits,
                      commit_count=count)
    assert decision.status is Status.ERROR
    [problem] = decision.problems
    assert problem.field == "commits"
    assert message in problem.message
    assert hint in (problem.hint or "")


def test_the_policy_may_allow_contributors() -> None:
    policy = policy_with("request_reviews: true", "request_reviews: true\n  allow_contributors: true")
    commits = [commit(FIRST, author="rita"), commit(HEAD)]
    decision = decide([review(1, "rita"), review(2, "adam")], policy=policy, commits=commits)
    assert decision.status is Status.APPROVED
    assert who(decision) == {"reviewer": ["rita"], "administrator": ["adam"]}
    assert decision.notes == (
        "approvals.allow_contributors is on: rita contributed commits and may still approve",
    )
    # the default: rita's approval does not count
    assert decide([review(1, "rita"), review(2, "adam")], commits=commits).status \
        is Status.PENDING


# -- N approvals per role ---------------------------------------------------------------------

TWO_REVIEWERS = (
    'owners: ["@example-org/routing-reviewers"]',
    'owners: ["@example-org/routing-reviewers"]\n    min_approvals: 2',
)


@pytest.mark.parametrize(
    ("reviews", "status", "satisfied"),
    [
        ([review(1, "rita"), review(2, "adam")], Status.PENDING,
         {"reviewer": ["rita"], "administrator": ["adam"]}),
        ([review(1, "rita"), review(2, "pat")], Status.PENDING,
         {"reviewer": ["rita", "pat"], "administrator": []}),
        # any maximum matching approves; this one is the deterministic choice (adam unused)
        ([review(1, "pat"), review(2, "rita"), review(3, "Ravi"), review(4, "adam")],
         Status.APPROVED, {"reviewer": ["rita", "Ravi"], "administrator": ["pat"]}),
        ([review(1, "pat"), review(2, "rita"), review(3, "Ravi")],
         Status.APPROVED, {"reviewer": ["rita", "Ravi"], "administrator": ["pat"]}),
    ],
)
def test_roles_needing_two_distinct_approvers(
    reviews: list[Review], status: Status, satisfied: dict[str, list[str]]
) -> None:
    decision = decide(reviews, policy=policy_with(*TWO_REVIEWERS))
    assert decision.status is status
    assert {k: sorted(v) for k, v in who(decision).items()} == {
        k: sorted(v) for k, v in satisfied.items()
    }


# -- approvals on earlier commits -------------------------------------------------------------

EARLIER = "policy_with_earlier"


@pytest.mark.parametrize(
    ("allowed", "since", "status"),
    [
        (True, (FileChange("M", "README.md"),), Status.APPROVED),
        (True, (FileChange("M", RULES),), Status.PENDING),
        (True, (FileChange("M", "change-requests/CR-2026-0042.yaml"),), Status.PENDING),
        (True, None, Status.PENDING),  # the commit is unknown: cannot prove it harmless
        (False, (FileChange("M", "README.md"),), Status.PENDING),
    ],
)
def test_approvals_on_earlier_commits(
    allowed: bool, since: tuple[FileChange, ...] | None, status: Status
) -> None:
    policy = policy_with(
        "allow_approvals_on_earlier_commits: false",
        f"allow_approvals_on_earlier_commits: {str(allowed).lower()}",
    )
    decision = decide(
        [review(1, "rita"), review(2, "adam", commit=OLD)], policy=policy, earlier={OLD: since}
    )
    assert decision.status is status
    if status is Status.APPROVED:
        admin = decision.roles[1].satisfied_by[0]
        assert admin.note == "given on 0000000; no governed file changed from there to the head"


# -- roles from the diff ----------------------------------------------------------------------

BASE_CONFIG = (EXAMPLE / CLASSIFIER).read_bytes()
EXTERNAL = BASE_CONFIG.replace(
    b"endpoint: http://127.0.0.1:11434", b"endpoint: https://api.llm.example.com/v1"
)
MODEL_PR = (FileChange("M", CLASSIFIER), FileChange("A", CR_PATH))


def test_external_endpoint_requires_the_security_officer_though_the_cr_says_nothing() -> None:
    config = ConfigFile(FileChange("M", CLASSIFIER), BASE_CONFIG, EXTERNAL)
    crs = [change_request("model", CLASSIFIER)]
    without = decide([review(1, "rita"), review(2, "adam")], changes=MODEL_PR, crs=crs,
                     config_files=[config])
    assert without.status is Status.PENDING
    assert [role.role for role in without.roles] == [
        "reviewer", "administrator", "security_officer"
    ]
    security = without.roles[2]
    assert security.reasons[0].key_change is not None
    assert security.reasons[0].key_change.after == '"https://api.llm.example.com/v1"'
    with_sam = decide([review(1, "rita"), review(2, "adam"), review(3, "sam")],
                      changes=MODEL_PR, crs=crs, config_files=[config])
    assert with_sam.status is Status.APPROVED


RENAMED = "configs/models/classifier.yml"


@pytest.mark.parametrize(
    ("old", "new", "after", "security"),
    [
        (CLASSIFIER, RENAMED, EXTERNAL, True),  # watched under the old name only
        ("configs/models/classifier.yml", CLASSIFIER, EXTERNAL, True),  # ... the new name only
        (CLASSIFIER, RENAMED, BASE_CONFIG, False),  # a rename that changes no watched key
    ],
    ids=["rename-out-of-the-watch", "rename-into-the-watch", "rename-without-a-key-change"],
)
def test_a_rename_of_a_watched_config_keeps_its_condition(
    old: str, new: str, after: bytes, security: bool
) -> None:
    changes = (FileChange("R", new, old), FileChange("A", CR_PATH))
    config = ConfigFile(changes[0], BASE_CONFIG, after)
    decision = decide([review(1, "rita"), review(2, "adam")], changes=changes,
                      crs=[change_request("model", new)], config_files=[config])
    assert ("security_officer" in [role.role for role in decision.roles]) is security
    assert decision.status is (Status.PENDING if security else Status.APPROVED)
    if security:
        [reason] = decision.roles[-1].reasons
        assert reason.message == (
            f"condition external-llm-egress: {new} (renamed from {old}): endpoint changed from "
            '"http://127.0.0.1:11434" to "https://api.llm.example.com/v1" '
            "(host not in [localhost, 127.0.0.1, ::1, *.internal.example.org])")


def test_a_review_without_submitted_at_never_becomes_the_latest() -> None:
    # rita approved (a review GitHub gives no time) and objected later: the objection stands
    timeless = dataclasses.replace(review(1, "rita"), submitted_at=None)
    decision = decide([timeless, review(2, "rita", "CHANGES_REQUESTED"), review(3, "adam")])
    assert decision.status is Status.ERROR
    assert [p.message for p in decision.problems] == [
        "review 1 is APPROVED but has no submitted_at"]


def test_reviews_are_ordered_by_github_id_not_by_time() -> None:
    # equal or skewed clocks cannot reorder one person's reviews: the later id is the later one
    approve = review(1, "rita", minute=50)
    objection = review(2, "rita", "CHANGES_REQUESTED", minute=10)
    decision = decide([objection, approve, review(3, "adam")])
    assert decision.status is Status.BLOCKED
    assert ignored(decision)[1] == "superseded by review 2"


HEX_HEAD, HEX_BASE = "e" * 40, "f" * 40
PENDING_ADMIN = {
    "snapshot_version": 1,
    "pull_request": {"number": 42, "user": {"login": AUTHOR},
                     "head": {"ref": "cr", "sha": HEX_HEAD},
                     "base": {"ref": "main", "sha": HEX_BASE}},
    "files": [{"filename": RULES, "status": "added"}, {"filename": CR_PATH, "status": "added"}],
    "reviews": [
        {"id": 1, "user": {"login": "rita"}, "state": "APPROVED", "commit_id": HEX_HEAD,
         "submitted_at": "2026-03-02T11:00:00Z"},
        {"id": 2, "user": {"login": "pete"}, "state": "APPROVED", "commit_id": HEX_HEAD,
         "submitted_at": "2026-03-02T11:01:00Z"},
    ],
    "teams": {
        "example-org/routing-reviewers": {"members": [{"login": "rita"}]},
        "example-org/promotion-admins": {"members": [{"login": "pete", "state": "pending"},
                                                     {"login": "adam", "state": "active"}]},
        "example-org/security-officers": {"members": []},
        "example-org/privacy-officers": {"members": []},
    },
}


def test_a_pending_team_member_never_counts() -> None:
    from promotion_bot.core.snapshot import parse_snapshot, snapshot_to_json

    parsed = parse_snapshot(PENDING_ADMIN)
    inputs = EvaluationInputs(
        base_sha=HEX_BASE, head_sha=HEX_HEAD, snapshot=parsed, policy=example_policy(),
        codeowners=example_codeowners(), change_requests=(change_request(),),
        changes=RULESET_PR)
    decision = evaluate(inputs)
    assert decision.status is Status.PENDING
    assert ignored(decision)[2] == (
        "their membership of @example-org/promotion-admins is pending, not active")
    admin = next(role for role in decision.roles if role.role == "administrator")
    assert [c.logins for c in admin.candidates] == [("adam",)]
    # a record embeds the snapshot: the state survives the round trip
    assert parse_snapshot(snapshot_to_json(parsed)) == parsed


MERGED_CR = "change-requests/CR-2026-0001.yaml"


@pytest.mark.parametrize(
    "change",
    [FileChange("D", MERGED_CR), FileChange("M", MERGED_CR),
     FileChange("R", "archive/CR-2026-0001.yaml", MERGED_CR)],
    ids=["deletes", "edits", "renames-away"],
)
def test_a_merged_change_request_cannot_be_rewritten(change: FileChange) -> None:
    # the example policy leaves change-requests/ out of its governance paths
    assert "change-requests" not in str(example_policy().governance.paths)
    decision = decide([], changes=(change,), crs=[])
    assert decision.status is Status.ERROR
    assert "merged change requests are immutable" in decision.problems[0].message
    assert [role.role for role in decision.roles] == ["administrator"]
    assert MERGED_CR in decision.governed_files


def test_anything_else_in_the_change_request_directory_needs_the_administrator() -> None:
    changes = (FileChange("A", "change-requests/README.md"),)
    assert decide([review(1, "rita")], changes=changes, crs=[]).status is Status.PENDING
    assert decide([review(1, "adam")], changes=changes, crs=[]).status is Status.APPROVED


def test_privacy_template_requires_the_privacy_officer() -> None:
    template = "templates/privacy/gdpr_access_response.md"
    changes = (FileChange("M", template), FileChange("A", CR_PATH))
    crs = [change_request("template", template)]
    decision = decide([review(1, "rita"), review(2, "adam")], changes=changes, crs=crs)
    assert decision.status is Status.PENDING
    assert who(decision)["privacy_officer"] == []
    decision = decide([review(1, "rita"), review(2, "adam"), review(3, "priya")],
                      changes=changes, crs=crs)
    assert decision.status is Status.APPROVED


def test_editing_codeowners_and_policy_requires_the_administrator() -> None:
    # the PR's own versions of these files are not inputs at all: policy and CODEOWNERS are
    # the base ones (see test_cmd_approvals for the end-to-end case)
    changes = (FileChange("M", "CODEOWNERS"), FileChange("M", ".promotion/policy.yaml"))
    pending = decide([review(1, "rita")], changes=changes, crs=[])
    assert pending.status is Status.PENDING
    assert [role.role for role in pending.roles] == ["administrator"]
    assert decide([review(1, "adam")], changes=changes, crs=[]).status is Status.APPROVED


def test_no_governed_change_needs_no_role() -> None:
    decision = decide([], changes=(FileChange("M", "README.md"),), crs=[])
    assert decision.status is Status.APPROVED
    assert decision.summary == "no governed change: no role has to approve"


# -- errors: fail closed ----------------------------------------------------------------------


def test_codeowners_lacking_a_roles_owner_for_a_path_is_an_error() -> None:
    text = (EXAMPLE / "CODEOWNERS").read_text().replace(
        "@example-org/routing-reviewers @example-org/promotion-admins @example-org/security-officers",
        "@example-org/routing-reviewers @example-org/promotion-admins",
    )
    config = ConfigFile(FileChange("M", CLASSIFIER), BASE_CONFIG, EXTERNAL)
    decision = decide(
        [review(1, "rita"), review(2, "adam"), review(3, "sam")],
        changes=MODEL_PR, crs=[change_request("model", CLASSIFIER)],
        config_files=[config], codeowners=example_codeowners(text),
    )
    assert decision.status is Status.ERROR
    [problem] = decision.problems
    line = next(
        number for number, entry in enumerate(text.splitlines(), start=1)
        if entry.startswith("/configs/models/")
    )
    assert problem.render() == (
        f"CODEOWNERS:{line}: configs/models/classifier.yaml: the rule '/configs/models/' gives it "
        "to @example-org/routing-reviewers @example-org/promotion-admins, none of which fills "
        "role security_officer (add @example-org/security-officers to the owners of this path; "
        "the last matching line wins)"
    )


def test_an_ownerless_rule_for_a_governed_path_is_an_error() -> None:
    text = (EXAMPLE / "CODEOWNERS").read_text() + "/configs/routing_tables/\n"
    decision = decide([review(1, "rita"), review(2, "adam")],
                      codeowners=example_codeowners(text))
    assert decision.status is Status.ERROR
    assert "the rule '/configs/routing_tables/' has no owners" in decision.problems[0].message


def test_an_invalid_codeowners_line_is_an_error_with_its_line() -> None:
    text = (EXAMPLE / "CODEOWNERS").read_text() + "!/configs/ @example-org/promotion-admins\n"
    decision = decide([review(1, "rita"), review(2, "adam")],
                      codeowners=example_codeowners(text))
    assert decision.status is Status.ERROR
    assert decision.problems[0].line == len(text.splitlines())
    assert "negation" in decision.problems[0].message


def test_missing_codeowners_with_governed_changes_is_an_error() -> None:
    inputs = EvaluationInputs(
        base_sha=BASE, head_sha=HEAD, snapshot=snapshot([review(1, "rita")], RULESET_PR),
        policy=example_policy(), codeowners=None, change_requests=(change_request(),),
        changes=RULESET_PR,
    )
    decision = evaluate(inputs)
    assert decision.status is Status.ERROR
    assert "no CODEOWNERS file on the base branch" in decision.problems[0].message


def test_unknown_team_membership_is_an_error() -> None:
    teams = {k: v for k, v in TEAMS.items() if k != "example-org/promotion-admins"}
    decision = decide([review(1, "rita"), review(2, "adam")], teams=teams)
    assert decision.status is Status.ERROR
    assert decision.problems[0].message == (
        "the members of @example-org/promotion-admins (role administrator) are not known"
    )


def test_snapshot_of_another_head_is_an_error() -> None:
    inputs = EvaluationInputs(
        base_sha=BASE, head_sha=HEAD,
        snapshot=snapshot([review(1, "rita"), review(2, "adam")], RULESET_PR, head=OLD),
        policy=example_policy(), codeowners=example_codeowners(),
        change_requests=(change_request(),), changes=RULESET_PR,
    )
    decision = evaluate(inputs)
    assert decision.status is Status.ERROR
    assert "the snapshot is of head 000000000000" in decision.problems[0].message


def test_snapshot_listing_other_files_than_git_is_an_error() -> None:
    inputs = EvaluationInputs(
        base_sha=BASE, head_sha=HEAD,
        snapshot=snapshot([review(1, "rita"), review(2, "adam")], (FileChange("M", "x.md"),)),
        policy=example_policy(), codeowners=example_codeowners(),
        change_requests=(change_request(),), changes=RULESET_PR,
    )
    decision = evaluate(inputs)
    assert decision.status is Status.ERROR
    assert "only GitHub lists x.md" in decision.problems[0].message


def test_truncated_file_list_is_an_error() -> None:
    snap = dataclasses.replace(snapshot([], RULESET_PR), changed_files=3001)
    inputs = EvaluationInputs(
        base_sha=BASE, head_sha=HEAD, snapshot=snap, policy=example_policy(),
        codeowners=example_codeowners(), change_requests=(change_request(),), changes=RULESET_PR,
    )
    assert "the file list is truncated" in (evaluate(inputs).problems[0].hint or "")


def test_no_policy_is_an_error() -> None:
    inputs = EvaluationInputs(base_sha=BASE, head_sha=HEAD,
                              snapshot=snapshot([], RULESET_PR), policy=None,
                              changes=RULESET_PR)
    assert evaluate(inputs).status is Status.ERROR


# -- properties -------------------------------------------------------------------------------

LOGINS = ["rita", "pat", "erin", "Ravi", "adam", "sam", "priya", "release-bot[bot]", "outsider"]
STATES = ["APPROVED", "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]
ReviewRow = tuple[str, str, str | None, int | None]  # login, state, commit, minute

review_rows = st.lists(
    st.tuples(
        st.sampled_from(LOGINS),
        st.sampled_from(STATES),
        st.sampled_from([HEAD, HEAD, OLD, None]),
        st.integers(min_value=0, max_value=30),
    ),
    max_size=10,
)


def as_reviews(rows: Sequence[ReviewRow]) -> list[Review]:
    return [
        review(index + 1, login, state, commit, minute,
               kind="Bot" if login.endswith("[bot]") else "User")
        for index, (login, state, commit, minute) in enumerate(rows)
    ]


PR_SHAPES = [
    RULESET_PR,
    (FileChange("M", "templates/privacy/gdpr_access_response.md"), FileChange("M", "CODEOWNERS")),
]


EXAMPLE_CODEOWNERS = example_codeowners()


@functools.cache
def example_policy_needing(two_reviewers: bool) -> Policy:
    return policy_with(*TWO_REVIEWERS) if two_reviewers else example_policy()


@dataclasses.dataclass(frozen=True)
class PullRequest:
    """A drawn pull request: its files, whether the policy needs two reviewers, its reviews."""

    shape: int
    two_reviewers: bool
    reviews: tuple[Review, ...]

    def decide(self, reviews: Sequence[Review]) -> Decision:
        return decide(reviews, changes=PR_SHAPES[self.shape], crs=[] if self.shape else None,
                      policy=example_policy_needing(self.two_reviewers),
                      codeowners=EXAMPLE_CODEOWNERS)


def who_can_fill(shape: int, two_reviewers: bool) -> list[tuple[tuple[str, ...], int]]:
    """Each required role's eligible members (its teams but the author and bots), and how
    many of them it needs."""
    roles = PullRequest(shape, two_reviewers, ()).decide(()).roles
    return [
        (tuple(m for owner in role.owners for m in TEAMS[owner.lstrip("@")]
               if m != AUTHOR and not m.endswith("[bot]")), role.min_approvals)
        for role in roles
    ]


@functools.cache
def approvers_for_every_role() -> tuple[tuple[int, bool, tuple[str, ...]], ...]:
    """(shape, two reviewers?, approvers): as many distinct members of each required role as
    it needs; one person may be picked for two roles, and then the roles are not all filled."""
    return tuple(
        (shape, two_reviewers, tuple(login for pick in picks for login in pick))
        for shape in range(len(PR_SHAPES))
        for two_reviewers in (False, True)
        for picks in itertools.product(*(
            itertools.combinations(members, needed)
            for members, needed in who_can_fill(shape, two_reviewers)))
    )


@st.composite
def pull_requests(draw: st.DrawFn) -> PullRequest:
    """Random reviews alone almost never approve (none in 150 examples), so the roles also get
    head approvals from the approvers above, at drawn places among the random reviews: a later
    review of theirs, a person picked for two roles or someone's objection still leave some
    examples pending or blocked."""
    shape, two_reviewers, approvers = draw(st.sampled_from(approvers_for_every_role()))
    rows: list[ReviewRow] = [*draw(review_rows)]
    for login in approvers:
        rows.insert(draw(st.integers(0, len(rows))), (login, "APPROVED", HEAD, None))
    return PullRequest(shape, two_reviewers, tuple(as_reviews(rows)))


def test_the_drawn_approvers_alone_approve_unless_one_person_is_picked_twice() -> None:
    # the properties below reach approved decisions only through them
    reviewers, administrators = ("rita", "pat", "Ravi"), ("adam", "pat")
    assert who_can_fill(0, False) == [(reviewers, 1), (administrators, 1)]
    assert who_can_fill(1, True) == [(reviewers, 2), (administrators, 1), (("priya",), 1)]
    approved = 0
    for shape, two_reviewers, approvers in approvers_for_every_role():
        rows = [(login, "APPROVED", HEAD, None) for login in approvers]
        decision = PullRequest(shape, two_reviewers, ()).decide(as_reviews(rows))
        distinct = len({login.casefold() for login in approvers}) == len(approvers)
        assert decision.status is (Status.APPROVED if distinct else Status.PENDING)
        approved += distinct
    assert approved > len(approvers_for_every_role()) / 2


@settings(max_examples=150, deadline=None)
@given(pull_requests(), st.sampled_from(LOGINS))
def test_adding_an_approval_never_turns_approved_into_pending(
    pull: PullRequest, login: str
) -> None:
    before = pull.decide(pull.reviews)
    event(f"before the added review: {before.status}")
    if before.status is not Status.APPROVED:
        return
    added = review(1000, login, minute=60, kind="Bot" if login.endswith("[bot]") else "User")
    after = pull.decide([*pull.reviews, added])
    assert after.status is Status.APPROVED


@settings(max_examples=150, deadline=None)
@given(pull_requests(), st.randoms(use_true_random=False))
def test_the_decision_does_not_depend_on_the_order_of_reviews(
    pull: PullRequest, random: object
) -> None:
    shuffled = list(pull.reviews)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    decision = pull.decide(pull.reviews)
    event(f"decision: {decision.status}")
    assert decision_to_json(pull.decide(shuffled)) == decision_to_json(decision)


@settings(max_examples=150, deadline=None)
@given(pull_requests())
def test_every_counted_approval_is_a_distinct_eligible_member_on_the_head(
    pull: PullRequest,
) -> None:
    decision = pull.decide(pull.reviews)
    counted = [a for role in decision.roles for a in role.satisfied_by]
    event(f"decision: {decision.status}, counted approvals: {min(len(counted), 2)}"
          + ("+" if len(counted) > 1 else ""))
    logins = [(a.review.login or "").casefold() for a in counted]
    assert len(logins) == len(set(logins))
    for role in decision.roles:
        members = {
            m.casefold() for owner in role.owners for m in TEAMS[owner.lstrip("@")]
        }
        for approval in role.satisfied_by:
            assert (approval.review.login or "").casefold() in members
            assert approval.review.commit_id == HEAD
            assert approval.review.login not in (AUTHOR, "release-bot[bot]")
    if decision.status is Status.APPROVED:
        assert all(len(r.satisfied_by) >= r.min_approvals for r in decision.roles)
        assert not decision.blocking
