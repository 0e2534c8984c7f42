"""The PR snapshot read from GitHub: the pull request, its files, commits, reviews and the owner
teams' members, in the shapes of schemas/pr-snapshot.schema.json (what the pure core judges).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from promotion_bot.adapters.github import PullFacts, PullReader
from promotion_bot.core.models import Policy
from promotion_bot.core.snapshot import format_time

_PULL_FIELDS = ("number", "title", "state", "draft", "user", "changed_files", "commits",
                "labels", "html_url", "merged", "merge_commit_sha", "merged_at", "merged_by")
_FILE_FIELDS = ("filename", "status", "previous_filename", "sha")


def build_snapshot(reader: PullReader, facts: PullFacts, policy: Policy | None,
                   repository: str, clock: Callable[[], dt.datetime], *,
                   teams_of: Iterable[tuple[str, str]] | None = None,
                   verify: bool = True) -> dict[str, Any]:
    """The PR snapshot in GitHub's shapes; the base is the commit the policy was read at.
    Its teams are every owner team the policy names, or only `teams_of` (the gate lists the
    teams of the roles the change requires); with `verify=False` their member counts are
    left to the reader's next `verify_pending`."""
    pull = {key: facts.pull[key] for key in _PULL_FIELDS if key in facts.pull}
    pull["head"] = {"ref": facts.pull["head"]["ref"], "sha": facts.head_sha}
    pull["base"] = {"ref": facts.pull["base"]["ref"], "sha": facts.base_tip}
    teams: dict[str, Any] = {}
    if policy is not None and policy.membership.source == "github":
        listed = owner_teams(policy) if teams_of is None else set(teams_of)
        for org, slug in sorted(listed):
            teams[f"{org}/{slug}"] = {"members": reader.team_members(org, slug,
                                                                     verify=verify)}
    return {
        "snapshot_version": 1,
        "repository": repository,
        "captured_at": format_time(clock()),
        "pull_request": pull,
        "files": [_file(f) for f in facts.files],
        "commits": facts.commits,
        "reviews": facts.reviews,
        "teams": teams,
    }


def _file(item: dict[str, Any]) -> dict[str, Any]:
    """A listed file. One GitHub lists as `unchanged` (no line changed: its mode, say) is in
    the pull request's diff all the same: judged as modified, as git's diff of the two commits
    has it (the gate reads it so: adapters/github.py)."""
    found = {k: item[k] for k in _FILE_FIELDS if item.get(k) is not None}
    if found.get("status") == "unchanged":
        found["status"] = "modified"
    return found


def owner_teams(policy: Policy) -> set[tuple[str, str]]:
    teams = set()
    for role in policy.roles.values():
        for owner in role.owners:
            name = owner.removeprefix("@")
            if "/" in name:
                org, slug = name.split("/", 1)
                teams.add((org, slug))
    return teams
