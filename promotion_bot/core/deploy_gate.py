"""The deployment gate's judgement (`promotion-bot verify`). Pure: facts in, refusals out.

A commit may be deployed only when its governed state is exactly what valid, approved records
promoted. Three ways it can differ, each a refusal (`Uncovered`):

- a governed file at the commit is not what its newest valid record lists (no record, other
  bytes, or a record of a merge that violated the policy): `audit.coverage`;
- a governed file that a valid record promoted is gone, and the commit that deleted it is not
  a merge that a valid, approved record covers (a direct push deleting an artifact);
- the state rests on a stale promotion: a record the commit's files (or a target's newest
  promotion) depend on moved its target from a version that was no longer current
  (the audit's STALE_VERSION: two pull requests promoting the same target from the same
  current_version).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from promotion_bot.core.audit import Finding, JudgedTag, Uncovered, coverage
from promotion_bot.core.governance import AnyRecord, GovernanceRecord
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.records import PromotionRecord

STALE_VERSION = "STALE_VERSION"


def judge_deployment(
    files: Mapping[str, str | None],
    judged: Sequence[JudgedTag],
    history: History,
    governed: Callable[[str], bool],
    findings: Iterable[Finding],
) -> list[Uncovered]:
    """Every reason the commit at the end of `history` must not be deployed.

    `files`: each governed file at the commit and its sha256; `governed`: whether a path is
    governed (the same patterns that chose `files`); `findings`: the audit of the same
    history (its STALE_VERSION findings name the stale promotions)."""
    records = _valid_records(judged, history)
    newest = _newest_by_path(records)
    refused = coverage(files, judged, history)
    refused += _deleted_without_record(files, records, newest, history, governed)
    refused += _resting_on_stale(files, records, newest, findings)
    return sorted(refused, key=lambda item: (item.path, item.reason))


def _valid_records(
    judged: Sequence[JudgedTag], history: History
) -> list[tuple[int, AnyRecord]]:
    """(position on the history, record) of every valid record whose merge is on it: the
    promotion records and the adoption baseline (a governance record promotes no artifact)."""
    found = []
    for item in judged:
        if not item.valid or item.record is None:
            continue
        if isinstance(item.record, GovernanceRecord) and item.record.kind != "baseline":
            continue
        position = history.index(item.record.merge_commit)
        if position is not None:
            found.append((position, item.record))
    return sorted(found, key=lambda pair: (pair[0], pair[1].change_id))


def _newest_by_path(
    records: Sequence[tuple[int, AnyRecord]],
) -> dict[str, tuple[int, AnyRecord]]:
    newest: dict[str, tuple[int, AnyRecord]] = {}
    for position, record in records:  # in history order: a later record replaces an earlier
        for artifact in record.artifacts:
            newest[artifact.path] = (position, record)
    return newest


def _last_deletions(history: History) -> dict[str, tuple[int, HistoryCommit]]:
    """path -> the last commit on the history that deleted it (or renamed it away)."""
    deleted: dict[str, tuple[int, HistoryCommit]] = {}
    for position, commit in enumerate(history.commits):
        for change in commit.changes:
            if change.status.startswith("D"):
                deleted[change.path] = (position, commit)
            elif change.old_path is not None and change.status.startswith("R"):
                deleted[change.old_path] = (position, commit)
    return deleted


def _deleted_without_record(
    files: Mapping[str, str | None],
    records: Sequence[tuple[int, AnyRecord]],
    newest: Mapping[str, tuple[int, AnyRecord]],
    history: History,
    governed: Callable[[str], bool],
) -> list[Uncovered]:
    approved_merges = {record.merge_commit for _, record in records if not record.is_violation}
    deletions = _last_deletions(history)
    refused: list[Uncovered] = []
    for path, (position, record) in sorted(newest.items()):
        if path in files or not governed(path):
            continue
        deletion = deletions.get(path)
        if deletion is None or deletion[0] <= position:
            refused.append(
                Uncovered(
                    path,
                    f"{record.change_id} promoted it, but it is missing at this commit",
                )
            )
            continue
        commit = deletion[1]
        if commit.sha in approved_merges:
            continue  # deleted by an approved promotion (a rollback, a replaced version)
        refused.append(
            Uncovered(
                path,
                f"{record.change_id} promoted it, and {commit.sha[:12]} deleted it without a "
                "valid, approved promotion record: the governed files differ from what the "
                "records promoted",
            )
        )
    return refused


def _resting_on_stale(
    files: Mapping[str, str | None],
    records: Sequence[tuple[int, AnyRecord]],
    newest: Mapping[str, tuple[int, AnyRecord]],
    findings: Iterable[Finding],
) -> list[Uncovered]:
    stale = {
        finding.change_id: finding.message
        for finding in findings
        if finding.code == STALE_VERSION and finding.change_id is not None
    }
    if not stale:
        return []
    refused: list[Uncovered] = []
    relied_on: set[str] = set()
    for path in sorted(files):
        found = newest.get(path)
        if found is None:
            continue
        record = found[1]
        relied_on.add(record.change_id)
        if record.change_id in stale:
            refused.append(Uncovered(path, _stale_reason(record, stale[record.change_id])))
    latest_of_target: dict[str, AnyRecord] = {}
    for _, record in records:
        latest_of_target[record.target] = record
    for record in latest_of_target.values():
        if not isinstance(record, PromotionRecord):
            continue  # STALE_VERSION is about change requests
        if record.change_id in stale and record.change_id not in relied_on:
            reason = _stale_reason(record, stale[record.change_id])
            refused.append(Uncovered(record.change_request_path, reason))
    return refused


def _stale_reason(record: AnyRecord, message: str) -> str:
    return (
        f"it rests on {record.change_id}, a stale promotion ({message}); roll it back, or "
        f"promote these files again from the version of {record.target} that is current"
    )


__all__ = ["judge_deployment"]
