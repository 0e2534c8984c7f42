"""Where `record` learns about the pull request behind a merge: the MergeFactsSource seam.

`snapshot_for_merge(commit)` returns the pull request snapshot (pr-snapshot.schema.json, in
GitHub's shapes; the pull request object may carry GitHub's `merged_at`, `merged_by`,
`merge_commit_sha` and `html_url`) and the evidence document of its checks, or None when no
pull request merged that commit (a direct push).

- `OfflineFacts`: snapshot and evidence files given on the command line (tests, the bundled
  example, re-recording by hand). A snapshot belongs to the merge whose SHA equals its
  `pull_request.merge_commit_sha`, or whose second parent is its head SHA (a merge commit).
  Evidence belongs to the snapshot whose head SHA it names (`head.sha`).
- A GitHub source (pending, with the GitHub integration) will ask
  `GET /repos/{o}/{r}/commits/{sha}/pulls` for the pull request and build the snapshot with
  the gate's snapshot builder, and take the evidence from the check run's artifact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from promotion_bot.core.digests import sha256_bytes
from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.records import CheckSummary, EvidenceSummary
from promotion_bot.core.snapshot import PullSnapshot, parse_snapshot_bytes, snapshot_to_json

MAX_EVIDENCE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class MergeFacts:
    snapshot: PullSnapshot
    snapshot_data: Mapping[str, Any]  # as written to the record (snapshot_to_json)
    pull: Mapping[str, Any]  # the raw pull_request object (merged_at, merged_by, html_url...)
    evidence: EvidenceSummary | None
    source: str


class MergeFactsSource(Protocol):
    def snapshot_for_merge(self, commit: HistoryCommit) -> MergeFacts | None:
        """The facts of the pull request that merged `commit`, or None when none did."""
        ...


@dataclass(frozen=True)
class _Snapshot:
    path: str
    snapshot: PullSnapshot
    pull: Mapping[str, Any]


class OfflineFacts:
    def __init__(self, snapshots: Sequence[Path], evidence: Sequence[Path]) -> None:
        self._snapshots = [_load_snapshot(path) for path in _files(snapshots, "--snapshot")]
        self._evidence: dict[str, EvidenceSummary] = {}
        for path in _files(evidence, "--evidence"):
            summary = load_evidence(path)
            if summary.head_sha is not None:
                self._evidence[summary.head_sha] = summary

    def snapshot_for_merge(self, commit: HistoryCommit) -> MergeFacts | None:
        matches = [
            item
            for item in self._snapshots
            if item.pull.get("merge_commit_sha") == commit.sha
            or (
                item.pull.get("merge_commit_sha") in (None, "")
                and len(commit.parents) > 1
                and commit.parents[1] == item.snapshot.head_sha
            )
        ]
        if not matches:
            return None
        if len(matches) > 1:
            names = ", ".join(item.path for item in matches)
            raise ConfigError(f"several snapshots match merge {commit.sha[:12]}: {names}")
        found = matches[0]
        return MergeFacts(
            snapshot=found.snapshot,
            snapshot_data=snapshot_to_json(found.snapshot),
            pull=found.pull,
            evidence=self._evidence.get(found.snapshot.head_sha),
            source=found.path,
        )


def _files(paths: Sequence[Path], option: str) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{option} {path}: no such file or folder")
    return found


def _load_snapshot(path: Path) -> _Snapshot:
    raw = path.read_bytes()
    snapshot = parse_snapshot_bytes(raw, str(path))
    data = json.loads(raw)
    return _Snapshot(str(path), snapshot, data["pull_request"])


def load_evidence(path: Path) -> EvidenceSummary:
    """The evidence document `promotion-bot check` writes, summarised for the record."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_EVIDENCE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"--evidence {path}: cannot read ({error.strerror})") from None
    if len(raw) > MAX_EVIDENCE_BYTES:
        raise ConfigError(f"--evidence {path}: larger than {MAX_EVIDENCE_BYTES} bytes")
    return summarise_evidence(raw, str(path))


def summarise_evidence(raw: bytes, display_path: str) -> EvidenceSummary:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = Problem(file=display_path, message=f"not JSON evidence: {error}")
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
