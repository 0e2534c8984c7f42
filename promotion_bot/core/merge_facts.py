"""Where `record` learns about the pull request behind a merge: the MergeFactsSource seam.

`snapshot_for_merge(commit)` returns the pull request snapshot (pr-snapshot.schema.json, in
GitHub's shapes; the pull request object may carry GitHub's `merged_at`, `merged_by`,
`merge_commit_sha` and `html_url`) and the evidence document of its checks, or None when no
pull request merged that commit (a direct push).

- `OfflineFacts` (promotion_bot.adapters.offline_facts): snapshot and evidence files given on
  the command line (tests, the bundled example, re-recording by hand).
- `GitHubFacts` (promotion_bot.adapters.github_facts): asks GitHub for the pull request that
  merged the commit, builds the snapshot with the gate's snapshot builder, and takes the
  evidence from the checks run's artifact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from promotion_bot.core.digests import sha256_bytes
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.records import (
    CheckSummary,
    EvidenceSummary,
    MergeCommitFacts,
    PullRequestFacts,
    parse_time,
)
from promotion_bot.core.snapshot import PullSnapshot

MAX_EVIDENCE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class MergeFacts:
    snapshot: PullSnapshot
    snapshot_data: Mapping[str, Any]  # as written to the record (snapshot_to_json)
    pull: Mapping[str, Any]  # the raw pull_request object (merged_at, merged_by, html_url...)
    evidence: EvidenceSummary | None
    source: str
    evidence_note: str = ""  # why artifacts that looked like evidence were not accepted


class MergeFactsSource(Protocol):
    def snapshot_for_merge(self, commit: HistoryCommit) -> MergeFacts | None:
        """The facts of the pull request that merged `commit`, or None when none did."""
        ...


def summarise_evidence(raw: bytes, display_path: str) -> EvidenceSummary:
    try:
        data = parse_json(raw, max_bytes=MAX_EVIDENCE_BYTES)
    except JsonError as error:
        problem = error.problem(display_path, hint="evidence is what `promotion-bot check` writes")
        raise ConfigError(problem.render(), [problem]) from None
    problems = validate_data("evidence", data, display_path)
    if problems:
        raise ConfigError(
            f"{display_path}: not a valid evidence document ({len(problems)} problem(s)); "
            "see schemas/evidence.schema.json",
            problems,
        )
    github = (data.get("runner") or {}).get("github") or {}
    run_url = github.get("run_url")
    # in a pull request's checks run the checked commit is GitHub's merge commit; the evidence
    # names the pull request head it merges, which is what approvals and records bind to
    pull_request = data.get("pull_request") or {}
    return EvidenceSummary(
        sha256=sha256_bytes(raw),
        head_sha=pull_request.get("head_sha") or data["head"]["sha"],
        result=data["result"],
        checks=tuple(
            CheckSummary(
                name=check["name"],
                result=check["result"],
                run_url=run_url,
                output_sha256=(check.get("output") or {}).get("sha256"),
            )
            for check in data["checks"]
        ),
    )


def merge_commit_facts(
    commit: HistoryCommit, base: str | None, facts: MergeFacts | None
) -> MergeCommitFacts:
    """The merge as a record states it: who merged it, and when."""
    merged_by = facts.pull.get("merged_by") if facts else None
    login = merged_by.get("login") if isinstance(merged_by, Mapping) else None
    return MergeCommitFacts(commit.sha, commit.tree, base, login, merged_at(commit, facts))


def merged_at(commit: HistoryCommit, facts: MergeFacts | None) -> dt.datetime:
    """GitHub's merged_at where the facts give it, else the commit's time."""
    when = facts.pull.get("merged_at") if facts else None
    return parse_time(when) if isinstance(when, str) else commit.committed_at


def pull_request_facts(facts: MergeFacts | None, head_tree: str | None) -> PullRequestFacts | None:
    """The pull request behind a merge as a record states it (None: no facts of one)."""
    if facts is None:
        return None
    snapshot = facts.snapshot
    url = facts.pull.get("html_url")
    return PullRequestFacts(
        number=snapshot.number,
        url=url if isinstance(url, str) else None,
        title=snapshot.title,
        author=snapshot.author.login,
        base_ref=snapshot.base_ref,
        base_sha=snapshot.base_sha,
        head_sha=snapshot.head_sha,
        head_tree=head_tree,
    )
