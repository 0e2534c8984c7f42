"""`record`'s offline source of pull request facts: snapshot and evidence files given on the
command line (tests, the bundled example, re-recording by hand).

A snapshot belongs to the merge whose SHA equals its `pull_request.merge_commit_sha`, or whose
second parent is its head SHA (a merge commit). Evidence belongs to the snapshot whose head SHA
it names (`head.sha`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.adapters.files import is_folder, read_regular_file
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.bounded_json import parse_json
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.merge_facts import MAX_EVIDENCE_BYTES, MergeFacts, summarise_evidence
from promotion_bot.core.records import EvidenceSummary
from promotion_bot.core.snapshot import (
    MAX_SNAPSHOT_BYTES,
    PullSnapshot,
    parse_snapshot_bytes,
    snapshot_to_json,
)


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
        if is_folder(path):
            found.extend(sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file()))
        else:
            found.append(path)  # read_regular_file refuses what is missing or not a file
    return found


def _load_snapshot(path: Path) -> _Snapshot:
    raw = read_regular_file(path, max_bytes=MAX_SNAPSHOT_BYTES)
    snapshot = parse_snapshot_bytes(raw, str(path))
    data = parse_json(raw, max_bytes=MAX_SNAPSHOT_BYTES)  # the same bytes parsed just above
    return _Snapshot(str(path), snapshot, data["pull_request"])


def load_evidence(path: Path) -> EvidenceSummary:
    """The evidence document `promotion-bot check` writes, summarised for the record."""
    raw = read_regular_file(path, max_bytes=MAX_EVIDENCE_BYTES)
    return summarise_evidence(raw, str(path))
