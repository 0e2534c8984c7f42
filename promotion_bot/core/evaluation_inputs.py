"""Collecting what the approval engine needs: the one I/O step before the pure `evaluate`.

Trust rule: the policy, CODEOWNERS and the membership roster come from the BASE commit, so a
pull request cannot lower its own bar; change requests and changed configs come from the HEAD
(they are what is being judged).

`RevisionReader` is the seam: `promotion_bot.adapters.git.GitRevisionReader` implements it
over a local clone, and the GitHub adapter over the contents and compare APIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Protocol

from promotion_bot.core.approvals import ConfigFile, EvaluationInputs
from promotion_bot.core.codeowners import (
    CODEOWNERS_LOCATIONS,
    MAX_CODEOWNERS_BYTES,
    Codeowners,
    parse_codeowners,
)
from promotion_bot.core.errors import InputError, Problem, PromotionBotError
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes
from promotion_bot.core.git_facts import Change
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import FileChange, watched_config_files
from promotion_bot.core.snapshot import PullSnapshot, TeamMembership, User


class RevisionReader(Protocol):
    """Read-only access to the governed repository at given commits.

    Paths are relative to the governed repository's root, with '/' separators.
    """

    def read(self, rev: str, path: str) -> bytes | None:
        """The file's bytes at commit `rev`, or None when it does not exist there."""
        ...

    def changes(self, base: str, head: str) -> list[Change]:
        """The files the pull request changes: head compared with its merge base with base
        (GitHub's `base...head`), renames detected."""
        ...


def collect_inputs(
    reader: RevisionReader, base_sha: str, head_sha: str, snapshot: PullSnapshot
) -> EvaluationInputs:
    """Read everything `evaluate` needs; unreadable documents become problems, not raises."""
    problems: list[Problem] = []
    policy = _read_policy(reader, base_sha, problems)
    codeowners = _read_codeowners(reader, base_sha, problems)
    changes = tuple(
        FileChange(change.status, change.path, change.old_path)
        for change in reader.changes(base_sha, head_sha)
    )
    change_requests: tuple[ChangeRequest, ...] = ()
    config_files: tuple[ConfigFile, ...] = ()
    earlier: dict[str, tuple[FileChange, ...] | None] = {}
    teams: Mapping[str, TeamMembership] = snapshot.teams
    source = "snapshot"
    if policy is not None:
        change_requests = _read_change_requests(reader, policy, head_sha, changes, problems)
        config_files = tuple(
            ConfigFile(
                change,
                reader.read(base_sha, change.old_path or change.path),
                None if change.status == "D" else reader.read(head_sha, change.path),
            )
            for change in watched_config_files(policy, changes)
        )
        if policy.approvals.allow_approvals_on_earlier_commits:
            earlier = _earlier_commit_changes(reader, snapshot, head_sha)
        if policy.membership.source == "roster":
            source = policy.membership.roster
            teams = _read_roster(reader, base_sha, policy.membership.roster, problems)
    return EvaluationInputs(
        base_sha=base_sha,
        head_sha=head_sha,
        snapshot=snapshot,
        policy=policy,
        codeowners=codeowners,
        change_requests=change_requests,
        changes=changes,
        config_files=config_files,
        earlier_commits=MappingProxyType(earlier),
        teams=teams,
        membership_source=source,
        problems=tuple(problems),
    )


def _read_policy(reader: RevisionReader, base: str, problems: list[Problem]) -> Policy | None:
    raw = reader.read(base, POLICY_PATH)
    if raw is None:
        problems.append(
            Problem(
                file=POLICY_PATH,
                message=f"no policy on the base commit {base[:12]}",
                hint="the policy is read from the base branch; merge it there first",
            )
        )
        return None
    loaded = load_policy(raw, POLICY_PATH)
    problems.extend(loaded.problems)
    return loaded.value


def _read_codeowners(
    reader: RevisionReader, base: str, problems: list[Problem]
) -> Codeowners | None:
    for location in CODEOWNERS_LOCATIONS:
        raw = reader.read(base, location)
        if raw is None:
            continue
        if len(raw) > MAX_CODEOWNERS_BYTES:
            problems.append(
                Problem(file=location, message="larger than 3 MB: GitHub ignores it")
            )
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(file=location, message="not UTF-8"))
            return None
        return parse_codeowners(text, location)
    return None


def _read_change_requests(
    reader: RevisionReader,
    policy: Policy,
    head: str,
    changes: tuple[FileChange, ...],
    problems: list[Problem],
) -> tuple[ChangeRequest, ...]:
    directory = policy.change_request_dir.rstrip("/") + "/"
    found: list[ChangeRequest] = []
    for change in changes:
        path = PurePosixPath(change.path)
        if change.status == "D" or not change.path.startswith(directory):
            continue
        if path.suffix not in (".yaml", ".yml"):
            continue
        raw = reader.read(head, change.path)
        if raw is None:
            problems.append(Problem(file=change.path, message="cannot be read at the head"))
            continue
        loaded = load_change_request(raw, change.path)
        problems.extend(loaded.problems)
        if loaded.value is not None:
            found.append(loaded.value)
    return tuple(found)


def _earlier_commit_changes(
    reader: RevisionReader, snapshot: PullSnapshot, head: str
) -> dict[str, tuple[FileChange, ...] | None]:
    commits = {
        review.commit_id
        for review in snapshot.reviews
        if review.state == "APPROVED" and review.commit_id and review.commit_id != head
    }
    found: dict[str, tuple[FileChange, ...] | None] = {}
    for commit in sorted(commits):
        try:
            # both three-dot diffs: what changed on either side since the approved commit and
            # the head parted. One direction alone misses a force-push that rewrote history
            # under the approval (head = a bad commit + harmless ones; commit = its good fix).
            either = [*reader.changes(commit, head), *reader.changes(head, commit)]
        except PromotionBotError:
            found[commit] = None  # unknown commit (force-pushed away): the approval is stale
            continue
        unique = {(c.path, c.old_path): c for c in either}
        found[commit] = tuple(
            FileChange(c.status, c.path, c.old_path) for c in unique.values()
        )
    return found


def _read_roster(
    reader: RevisionReader, base: str, path: str, problems: list[Problem]
) -> Mapping[str, TeamMembership]:
    """The administrators' roster on the base branch:

        version: 1
        teams:
          example-org/promotion-admins: [alice, bob]
    """
    raw = reader.read(base, path)
    if raw is None:
        problems.append(
            Problem(
                file=path,
                message="the policy takes team membership from this roster, but it is missing",
                hint="add the roster on the base branch, or set membership.source: github",
            )
        )
        return MappingProxyType({})
    try:
        document = load_yaml_bytes(raw, path)
    except InputError as error:
        problems.extend(error.problems)
        return MappingProxyType({})
    data: Any = document.data
    teams = data.get("teams") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("version") != 1
        or not isinstance(teams, dict)
        or set(data) - {"version", "teams"}
    ):
        problems.append(
            document.problem(
                [],
                "a roster is a mapping with version: 1 and teams: {org/team: [login, ...]}",
            )
        )
        return MappingProxyType({})
    result: dict[str, TeamMembership] = {}
    for name, members in teams.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            problems.append(document.problem(["teams", name], "must be a list of logins"))
            continue
        result[name] = TeamMembership(name, tuple(User(login) for login in members))
    return MappingProxyType(result)
