"""GitHub for the offline demo: pull requests between branches of a local clone, their reviews
and their merges, each pull request's state written as a snapshot file in GitHub's REST shapes
(schemas/pr-snapshot.schema.json), as `promotion-bot snapshot` would export it from GitHub.

It answers what GitHub would: the changed files of the three-dot diff, the commits with the
accounts GitHub links to their e-mails, the reviews on the commit that was the head when they
were given, the members of the owner teams; after a merge (a `--no-ff` merge commit on main,
pushed to origin), `merged_at`, `merged_by` and `merge_commit_sha`. `approvals --snapshot` and
`record --snapshot` read these files. It decides nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promotion_bot.adapters.sandbox import Person, git
from promotion_bot.core.snapshot import format_time

_STATUSES = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied"}


def account(login: str) -> dict[str, Any]:
    """A GitHub user object (the id is derived from the login, so it is stable)."""
    return {"login": login, "id": 10_000 + sum(map(ord, login)), "type": "User"}


@dataclass
class _Pull:
    number: int
    title: str
    author: Person
    head_ref: str
    base_ref: str
    reviews: list[dict[str, Any]] = field(default_factory=list)
    merged: dict[str, Any] | None = None  # merged_at, merged_by, merge_commit_sha


class OfflineGitHub:
    def __init__(
        self,
        clone: Path,
        folder: Path,
        repository: str,
        teams: Mapping[str, Sequence[str]],
        people: Sequence[Person],
        clock: Callable[[], dt.datetime],
        first_number: int = 1,
    ) -> None:
        self.clone = clone
        self.folder = folder
        self.repository = repository
        self.teams = {name: list(members) for name, members in teams.items()}
        self.accounts = {person.email: person.login for person in people}
        self.clock = clock
        self._next = first_number
        self._next_review = 1001
        self._pulls: dict[int, _Pull] = {}
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def next_number(self) -> int:
        """The number the next pull request gets."""
        return self._next

    def snapshot_path(self, number: int) -> Path:
        return self.folder / f"pr-{number}.json"

    def open_pull(self, head_ref: str, title: str, author: Person, base_ref: str = "main") -> int:
        number = self._next
        self._next += 1
        self._pulls[number] = _Pull(number, title, author, head_ref, base_ref)
        self._write(number)
        return number

    def review(self, number: int, reviewer: Person, state: str = "APPROVED") -> None:
        """`reviewer` reviews the pull request's current head."""
        pull = self._pulls[number]
        self._pulls[number].reviews.append(
            {
                "id": self._next_review,
                "user": account(reviewer.login),
                "state": state,
                "commit_id": self._sha(f"refs/heads/{pull.head_ref}"),
                "submitted_at": format_time(self.clock()),
                "author_association": "MEMBER",
            }
        )
        self._next_review += 1
        self._write(number)

    def merge(self, number: int, merged_by: Person) -> str:
        """Merge the pull request into its base as GitHub's merge button does (a merge commit),
        push the base to origin, and return the merge commit."""
        pull = self._pulls[number]
        snapshot = self._snapshot(pull)  # the facts as they were just before the merge
        git(self.clone, "checkout", "-q", pull.base_ref, person=merged_by)
        git(self.clone, "merge", "-q", "--no-ff", "-m",
            f"Merge pull request #{number} from {self.repository.split('/')[0]}/{pull.head_ref}",
            f"refs/heads/{pull.head_ref}", person=merged_by)
        sha = self._sha("HEAD")
        git(self.clone, "push", "-q", "origin", pull.base_ref, person=merged_by)
        pull.merged = {
            "merged_at": format_time(self.clock()),
            "merged_by": account(merged_by.login),
            "merge_commit_sha": sha,
        }
        self._write(number, snapshot)
        return sha

    # -- the snapshot ---------------------------------------------------------------------
    def _write(self, number: int, before_merge: dict[str, Any] | None = None) -> None:
        pull = self._pulls[number]
        data = before_merge or self._snapshot(pull)
        if pull.merged is not None:
            data["pull_request"].update(
                {"state": "closed", "merged": True, **pull.merged}
            )
        self.snapshot_path(number).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def _snapshot(self, pull: _Pull) -> dict[str, Any]:
        base = self._sha(f"refs/remotes/origin/{pull.base_ref}")
        head = self._sha(f"refs/heads/{pull.head_ref}")
        files = self._files(base, head)
        commits = self._commits(base, head)
        owner = self.repository
        return {
            "snapshot_version": 1,
            "repository": owner,
            "captured_at": format_time(self.clock()),
            "pull_request": {
                "number": pull.number,
                "title": pull.title,
                "state": "open",
                "user": account(pull.author.login),
                "head": {"ref": pull.head_ref, "sha": head},
                "base": {"ref": pull.base_ref, "sha": base},
                "changed_files": len(files),
                "commits": len(commits),
                "html_url": f"https://github.com/{owner}/pull/{pull.number}",
            },
            "files": files,
            "commits": commits,
            "reviews": list(pull.reviews),
            "teams": {
                name: {"members": [account(login) for login in members]}
                for name, members in self.teams.items()
            },
        }

    def _sha(self, ref: str) -> str:
        return git(self.clone, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
                   person=_GITHUB)

    def _files(self, base: str, head: str) -> list[dict[str, Any]]:
        fields = git(self.clone, "diff", "--name-status", "-z", "-M", f"{base}...{head}",
                     person=_GITHUB).split("\0")
        fields = [item for item in fields if item]
        files: list[dict[str, Any]] = []
        index = 0
        while index < len(fields):
            status = _STATUSES.get(fields[index][0], "changed")
            if status in ("renamed", "copied"):
                files.append({"filename": fields[index + 2], "status": status,
                              "previous_filename": fields[index + 1]})
                index += 3
            else:
                files.append({"filename": fields[index + 1], "status": status})
                index += 2
        return files

    def _commits(self, base: str, head: str) -> list[dict[str, Any]]:
        log = git(self.clone, "log", "--reverse", "-z",
                  "--format=%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%B", f"{base}..{head}",
                  person=_GITHUB)
        commits = []
        for entry in filter(None, log.split("\0")):
            sha, author_name, author_email, committer_name, committer_email, message = (
                entry.split("\x1f")
            )
            commits.append(
                {
                    "sha": sha,
                    "author": self._linked(author_email),
                    "committer": self._linked(committer_email),
                    "commit": {
                        "author": {"name": author_name, "email": author_email},
                        "committer": {"name": committer_name, "email": committer_email},
                        "message": message.strip(),
                    },
                }
            )
        return commits

    def _linked(self, email: str) -> dict[str, Any] | None:
        login = self.accounts.get(email)
        return account(login) if login else None


_GITHUB = Person("github", "GitHub", "noreply@github.com")
