"""The deployment gate's judgement (`promotion-bot verify`). Pure: facts in, refusals out.

A commit may be deployed only when its governed state is exactly what valid, approved records
promoted or removed. What counts as governed is every file under the change types' paths
(trusted through history: core/governed_history.py) and every file any valid record ever
listed, whatever the patterns say now, including each record's change request. For each such
path, the newest event on the commit's first-parent history decides:

- a valid record lists it: the file must be there with the listed sha256, and that record
  must be approved and free of the audit findings that make a record untrustworthy
  (`RECORD_FINDINGS`: other hashes than the merge, a re-run decision that disagrees, a broken
  chain, a stale or wrong rollback, ...), each refusal naming the finding;
- an approved merge with a valid record deleted it (a rollback, a replaced version): it must
  stay deleted; a file that comes back without a record that promotes it is refused;
- nothing: a governed file no record lists is refused; a listed file deleted by a commit that
  no valid, approved record covers (a direct push) is refused.

The newest record of each target is also held to `RECORD_FINDINGS` when no file rests on it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from promotion_bot.core.audit import Finding, JudgedTag, Uncovered
from promotion_bot.core.git_facts import TAG_PREFIX
from promotion_bot.core.governance import AnyRecord, GovernanceRecord
from promotion_bot.core.history import History
from promotion_bot.core.records import PromotionRecord

STALE_VERSION = "STALE_VERSION"
# audit findings about a record itself, from what reached main (never from a tag alone: anyone
# can push a tag, and no tag may stop a deploy): a record with one of them vouches for nothing
RECORD_FINDINGS = frozenset(
    {
        "ARTIFACT_MISMATCH",
        "RECORD_INCONSISTENT",
        "POLICY_VIOLATION",
        "CHAIN_BROKEN",
        STALE_VERSION,
        "ROLLBACK_TARGET_UNKNOWN",
        "ROLLBACK_VERSION_MISMATCH",
        "DUPLICATE_CHANGE_ID",
        "RECORD_MOVED",
    }
)


@dataclass(frozen=True)
class _Listed:
    position: int
    record: AnyRecord
    sha256: str
    is_change_request: bool


@dataclass(frozen=True)
class _Removed:
    position: int
    record: AnyRecord
    commit: str


def listed_paths(judged: Sequence[JudgedTag], history: History) -> set[str]:
    """Every file a valid record on `history` lists: governed for good."""
    return {path for _, record in _valid_records(judged, history) for path, _, _ in _lists(record)}


def relied_on(judged: Sequence[JudgedTag], history: History) -> set[str]:
    """The digests of the records the commit's state may rest on (the newest record of each
    artifact, the newest record of each target): only their decisions need re-running."""
    records = _valid_records(judged, history)
    events = _newest_events(records, history)
    found = {event.record.digest for event in events.values() if _rests(event)}
    found |= {record.digest for record in _newest_of_target(records).values()}
    return found


def _rests(event: _Listed | _Removed) -> bool:
    """Whether the state rests on the event's record: its change request file does not
    (every record is the newest record of its own change request)."""
    return isinstance(event, _Removed) or not event.is_change_request


def judge_deployment(
    files: Mapping[str, str | None],
    judged: Sequence[JudgedTag],
    history: History,
    findings: Iterable[Finding],
    judged_by_keys: Collection[str] = (),
) -> list[Uncovered]:
    """Every reason the commit at the end of `history` must not be deployed.

    `files`: each governed file at the commit (under the governed patterns, or listed by a
    valid record) and its sha256; `findings`: the audit of the same history;
    `judged_by_keys`: files at the commit in which a change type governs only keys (their
    governed keys are judged by `core.audit.key_coverage`, not their bytes)."""
    records = _valid_records(judged, history)
    events = _newest_events(records, history)
    flagged = _flagged(records, findings)
    refused: list[Uncovered] = []
    relied: set[str] = set()
    for path in sorted(set(files) | set(events)):
        if path in judged_by_keys and path not in files:
            continue
        event = events.get(path)
        if event is not None and _rests(event) and (path in files or isinstance(event, _Removed)):
            relied.add(event.record.change_id)
        reason = _judge_path(path, files, event, flagged, history)
        if reason is not None:
            refused.append(Uncovered(path, reason))
    for record in _newest_of_target(records).values():
        if (
            isinstance(record, PromotionRecord)
            and record.change_id not in relied
            and record.change_id in flagged
        ):
            reason = _flagged_reason(record, flagged)
            refused.append(Uncovered(record.change_request_path, reason))
    return sorted(refused, key=lambda item: (item.path, item.reason))


def _judge_path(
    path: str,
    files: Mapping[str, str | None],
    event: _Listed | _Removed | None,
    flagged: Mapping[str, list[Finding]],
    history: History,
) -> str | None:
    present = path in files
    if event is None:
        return "no valid promotion record lists this file" if present else None
    record = event.record
    if isinstance(event, _Removed):
        if present:
            return (
                f"{record.change_id} removed it in {event.commit[:12]}, and it is back without "
                "a valid, approved record that promotes it: the governed files differ from "
                "what the records promoted"
            )
        return _flagged_reason(record, flagged) if record.change_id in flagged else None
    if not present:
        return _missing_reason(path, event, history)
    if event.is_change_request:  # only its bytes: the record's artifacts say the rest
        return _differs(files[path], event)
    if record.is_violation:
        return (
            f"its newest record {record.change_id} is a policy violation: "
            + (record.decision.violations[0] if record.decision.violations else "")
        )
    if record.change_id in flagged:
        return _flagged_reason(record, flagged)
    return _differs(files[path], event)


def _differs(digest: str | None, event: _Listed) -> str | None:
    if digest == event.sha256:
        return None
    return (
        f"its bytes (sha256 {str(digest)[:12]}…) differ from {event.record.change_id}'s "
        f"record ({event.sha256[:12]}…)"
    )


def _missing_reason(path: str, event: _Listed, history: History) -> str:
    deleter = None
    for commit in history.commits[event.position + 1 :]:
        for change in commit.changes:
            if (change.status.startswith("D") and change.path == path) or (
                change.status.startswith("R") and change.old_path == path
            ):
                deleter = commit.sha
    if deleter is None:
        return f"{event.record.change_id} promoted it, but it is missing at this commit"
    return (
        f"{event.record.change_id} promoted it, and {deleter[:12]} deleted it without a valid, "
        "approved promotion record: the governed files differ from what the records promoted"
    )


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


def _lists(record: AnyRecord) -> list[tuple[str, str, bool]]:
    """(path, sha256, is the change request) of every file the record vouches for."""
    listed = [(artifact.path, artifact.sha256, False) for artifact in record.artifacts]
    if isinstance(record, PromotionRecord):
        listed.append((record.change_request_path, record.change_request_sha256, True))
    return listed


def _newest_events(
    records: Sequence[tuple[int, AnyRecord]], history: History
) -> dict[str, _Listed | _Removed]:
    """path -> the newest record that lists it, or the newest approved merge with a valid
    record that deleted it, whichever is later."""
    events: dict[str, _Listed | _Removed] = {}
    for position, record in records:  # in history order: a later event replaces an earlier
        if not record.is_violation:
            commit = history.commits[position]
            for change in commit.changes:
                if change.status.startswith("D"):
                    events[change.path] = _Removed(position, record, commit.sha)
                elif change.status.startswith("R") and change.old_path is not None:
                    events[change.old_path] = _Removed(position, record, commit.sha)
        for path, digest, is_change_request in _lists(record):
            events[path] = _Listed(position, record, digest, is_change_request)
    return events


def _newest_of_target(records: Sequence[tuple[int, AnyRecord]]) -> dict[str, AnyRecord]:
    latest: dict[str, AnyRecord] = {}
    for _, record in records:
        latest[record.target] = record
    return latest


def _flagged(
    records: Sequence[tuple[int, AnyRecord]], findings: Iterable[Finding]
) -> dict[str, list[Finding]]:
    """change_id -> the RECORD_FINDINGS about a valid record on the history."""
    ids = {record.change_id for _, record in records}
    flagged: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.code not in RECORD_FINDINGS or finding.change_id not in ids:
            continue
        if finding.tag is not None and finding.tag != f"{TAG_PREFIX}{finding.change_id}":
            continue  # about another tag (a copy pushed elsewhere), not this record
        flagged.setdefault(finding.change_id, []).append(finding)
    return flagged


def _flagged_reason(record: AnyRecord, flagged: Mapping[str, list[Finding]]) -> str:
    found = flagged[record.change_id]
    stale = next((f for f in found if f.code == STALE_VERSION), None)
    if stale is not None:
        return (
            f"it rests on {record.change_id}, a stale promotion ({stale.message}); roll it "
            f"back, or promote these files again from the version of {record.target} that is "
            "current"
        )
    named = "; ".join(f"{f.code}: {f.message}" for f in found[:3])
    return (
        f"it rests on {record.change_id}, whose record the audit does not accept ({named}); "
        "see the finding codes in docs/records.md, and promote these files again with a "
        "change request that is recorded cleanly"
    )


__all__ = ["RECORD_FINDINGS", "judge_deployment", "listed_paths", "relied_on"]
