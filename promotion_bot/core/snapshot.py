"""The PR snapshot: what GitHub says about one pull request, as plain frozen data.

The document (schemas/pr-snapshot.schema.json) keeps GitHub's REST shapes so that the GitHub
adapter can write what it fetched without translation, and a person can compare it with the
API. Pure: promotion_bot.adapters.files reads snapshot files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.schemas import validate_data

MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024

REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")


@dataclass(frozen=True)
class User:
    login: str
    id: int | None = None
    type: str = "User"

    @property
    def key(self) -> str:
        """GitHub logins are case-insensitive: compare people by this."""
        return self.login.casefold()

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"login": self.login}
        if self.id is not None:
            data["id"] = self.id
        data["type"] = self.type
        return data


@dataclass(frozen=True)
class Review:
    id: int
    user: User | None
    state: str
    commit_id: str | None
    submitted_at: dt.datetime | None
    body: str = ""

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "user": self.user.as_data() if self.user else None,
            "state": self.state,
            "commit_id": self.commit_id,
        }
        if self.submitted_at is not None:
            data["submitted_at"] = format_time(self.submitted_at)
        if self.body:
            data["body"] = self.body
        return data


@dataclass(frozen=True)
class ChangedFile:
    filename: str
    status: str
    previous_filename: str | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"filename": self.filename, "status": self.status}
        if self.previous_filename:
            data["previous_filename"] = self.previous_filename
        return data


@dataclass(frozen=True)
class GitIdentity:
    """A git author or committer as the commit itself names it (name and e-mail: not proof)."""

    name: str = ""
    email: str = ""

    def as_data(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email}

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


@dataclass(frozen=True)
class PullCommit:
    """One commit of the pull request (GET .../pulls/{number}/commits).

    `author` and `committer` are the GitHub accounts GitHub linked to the commit's e-mails
    (None when it linked none); `author_git` and `committer_git` are what the commit says.
    """

    sha: str
    author: User | None
    committer: User | None
    author_git: GitIdentity | None = None
    committer_git: GitIdentity | None = None
    message: str = ""

    def as_data(self) -> dict[str, Any]:
        commit: dict[str, Any] = {}
        if self.author_git is not None:
            commit["author"] = self.author_git.as_data()
        if self.committer_git is not None:
            commit["committer"] = self.committer_git.as_data()
        commit["message"] = self.message
        return {
            "sha": self.sha,
            "author": self.author.as_data() if self.author else None,
            "committer": self.committer.as_data() if self.committer else None,
            "commit": commit,
        }


@dataclass(frozen=True)
class TeamMembership:
    """Active members of one team (`org/slug`) when the snapshot was taken.

    `inactive`: people the snapshot lists with a membership state other than `active` (an
    invitation not yet accepted is `pending`); they are not members and never count.
    """

    team: str
    members: tuple[User, ...]
    inactive: tuple[tuple[User, str], ...] = ()

    def has_member(self, login: str) -> bool:
        key = login.casefold()
        return any(member.key == key for member in self.members)


@dataclass(frozen=True)
class PullSnapshot:
    number: int
    author: User
    base_sha: str
    head_sha: str
    files: tuple[ChangedFile, ...]
    reviews: tuple[Review, ...]
    teams: Mapping[str, TeamMembership] = field(default_factory=lambda: MappingProxyType({}))
    base_ref: str = ""
    head_ref: str = ""
    title: str = ""
    repository: str | None = None
    changed_files: int | None = None
    captured_at: dt.datetime | None = None
    labels: tuple[str, ...] = ()
    # the pull request's commits, oldest first; None: the snapshot does not list them
    commits: tuple[PullCommit, ...] | None = None
    commit_count: int | None = None  # GitHub's count (pull_request.commits), if given

    def team(self, name: str) -> TeamMembership | None:
        """The membership of `org/slug` (case-insensitive), if the snapshot holds it."""
        key = name.casefold()
        for team_name, membership in self.teams.items():
            if team_name.casefold() == key:
                return membership
        return None


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(data: Mapping[str, Any]) -> User:
    return User(login=data["login"], id=data.get("id"), type=data.get("type") or "User")


def _membership(name: str, members: list[Mapping[str, Any]]) -> TeamMembership:
    """Only `active` members count, whatever else the snapshot says; a member without a
    state is active (GitHub's member list gives active members only)."""
    active = tuple(_user(m) for m in members if m.get("state", "active") == "active")
    inactive = tuple(
        (_user(m), str(m["state"])) for m in members if m.get("state", "active") != "active"
    )
    return TeamMembership(name, active, inactive)


def _linked_user(data: Mapping[str, Any] | None) -> User | None:
    """A commit's GitHub author or committer: null (or GitHub's empty object) when unlinked."""
    return _user(data) if data and data.get("login") else None


def _git_identity(data: Mapping[str, Any] | None) -> GitIdentity | None:
    if not data:
        return None
    return GitIdentity(data.get("name") or "", data.get("email") or "")


def _commit(data: Mapping[str, Any]) -> PullCommit:
    commit = data.get("commit") or {}
    return PullCommit(
        sha=data["sha"],
        author=_linked_user(data.get("author")),
        committer=_linked_user(data.get("committer")),
        author_git=_git_identity(commit.get("author")),
        committer_git=_git_identity(commit.get("committer")),
        message=commit.get("message") or "",
    )


def parse_snapshot(data: Any, display_path: str = "snapshot.json") -> PullSnapshot:
    """Validate against the schema and build the snapshot; ConfigError lists every problem."""
    problems = _lower_case_states(data, display_path) or validate_data(
        "pr-snapshot", data, display_path
    )
    if problems:
        raise ConfigError(
            f"{display_path}: not a valid pull request snapshot ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}); see schemas/pr-snapshot.schema.json",
            problems,
        )
    problems = _timestamp_problems(data, display_path)
    if problems:
        raise ConfigError(problems[0].render(), problems)
    pull = data["pull_request"]
    reviews = tuple(
        Review(
            id=item["id"],
            user=_user(item["user"]) if item["user"] else None,
            state=item["state"],
            commit_id=item["commit_id"],
            submitted_at=parse_time(item["submitted_at"]) if item.get("submitted_at") else None,
            body=item.get("body") or "",
        )
        for item in data["reviews"]
    )
    seen: set[int] = set()
    repeated: set[int] = set()
    for review in reviews:  # linear: 100,000 reviews must not take minutes
        (repeated if review.id in seen else seen).add(review.id)
    duplicates = sorted(repeated)
    if duplicates:
        problem = Problem(
            file=display_path,
            field="reviews",
            message=f"review id {duplicates[0]} appears more than once",
            hint="export each review once (all pages, no overlap)",
        )
        raise ConfigError(problem.render(), [problem])
    return PullSnapshot(
        number=pull["number"],
        author=_user(pull["user"]),
        base_sha=pull["base"]["sha"],
        head_sha=pull["head"]["sha"],
        base_ref=pull["base"].get("ref", ""),
        head_ref=pull["head"].get("ref", ""),
        title=pull.get("title") or "",
        files=tuple(
            ChangedFile(item["filename"], item["status"], item.get("previous_filename"))
            for item in data["files"]
        ),
        reviews=reviews,
        teams=MappingProxyType(
            {name: _membership(name, team["members"]) for name, team in data["teams"].items()}
        ),
        repository=data.get("repository"),
        changed_files=pull.get("changed_files"),
        captured_at=parse_time(data["captured_at"]) if data.get("captured_at") else None,
        labels=tuple(label["name"] for label in pull.get("labels", [])),
        commits=tuple(_commit(item) for item in data["commits"]) if "commits" in data else None,
        commit_count=pull.get("commits"),
    )


def _lower_case_states(data: Any, display_path: str) -> list[Problem]:
    reviews = data.get("reviews") if isinstance(data, dict) else None
    if not isinstance(reviews, list):
        return []
    return [
        Problem(
            file=display_path,
            field=f"reviews[{index}].state",
            message=f"{review['state']!r} is a webhook state; snapshots use REST states",
            hint=f"write {review['state'].upper()!r}",
        )
        for index, review in enumerate(reviews)
        if isinstance(review, dict)
        and isinstance(review.get("state"), str)
        and review["state"] != review["state"].upper()
        and review["state"].upper() in REVIEW_STATES
    ]


def _timestamp_problems(data: Mapping[str, Any], display_path: str) -> list[Problem]:
    """The schema's date-time format is not enforced by every jsonschema install: check here."""
    fields: list[tuple[str, Any]] = [("captured_at", data.get("captured_at"))]
    fields += [
        (f"reviews[{index}].submitted_at", review.get("submitted_at"))
        for index, review in enumerate(data["reviews"])
    ]
    problems = []
    for name, value in fields:
        if value is None:
            continue
        try:
            parse_time(value)
        except ValueError:
            problems.append(
                Problem(
                    file=display_path,
                    field=name,
                    message=f"{value!r} is not a date-time",
                    hint="use RFC 3339, e.g. 2026-03-01T12:00:00Z",
                )
            )
    return problems


def parse_snapshot_bytes(raw: bytes, display_path: str) -> PullSnapshot:
    if len(raw) > MAX_SNAPSHOT_BYTES:
        problem = Problem(file=display_path, message=f"larger than {MAX_SNAPSHOT_BYTES} bytes")
        raise ConfigError(problem.render(), [problem])
    try:
        data = parse_json(raw, max_bytes=MAX_SNAPSHOT_BYTES)
    except JsonError as error:
        problem = error.problem(
            display_path, hint="a snapshot is the JSON that `promotion-bot snapshot` writes"
        )
        raise ConfigError(problem.render(), [problem]) from None
    return parse_snapshot(data, display_path)


def snapshot_to_json(snapshot: PullSnapshot) -> dict[str, Any]:
    """The snapshot as its JSON document (GitHub's shapes); `parse_snapshot` reads it back."""
    pull: dict[str, Any] = {
        "number": snapshot.number,
        "title": snapshot.title,
        "user": snapshot.author.as_data(),
        "head": {"ref": snapshot.head_ref, "sha": snapshot.head_sha},
        "base": {"ref": snapshot.base_ref, "sha": snapshot.base_sha},
    }
    if snapshot.changed_files is not None:
        pull["changed_files"] = snapshot.changed_files
    if snapshot.commit_count is not None:
        pull["commits"] = snapshot.commit_count
    if snapshot.labels:
        pull["labels"] = [{"name": name} for name in snapshot.labels]
    data: dict[str, Any] = {"snapshot_version": 1}
    if snapshot.repository:
        data["repository"] = snapshot.repository
    if snapshot.captured_at:
        data["captured_at"] = format_time(snapshot.captured_at)
    data["pull_request"] = pull
    data["files"] = [item.as_data() for item in snapshot.files]
    if snapshot.commits is not None:
        data["commits"] = [item.as_data() for item in snapshot.commits]
    data["reviews"] = [review.as_data() for review in snapshot.reviews]
    data["teams"] = {
        name: {
            "members": [member.as_data() for member in team.members]
            + [{**member.as_data(), "state": state} for member, state in team.inactive]
        }
        for name, team in sorted(snapshot.teams.items())
    }
    return data
