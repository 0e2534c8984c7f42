"""Records as events for the operational audit system: CloudEvents 1.0 attributes and the data
of `schemas/record-event.schema.json`. Pure: the adapters serialise them (the `cloudevents` SDK,
JSON structured mode) and deliver them.

The event `id` is the record's digest (the SHA-256 of its signed statement), so the same record
always becomes the same event: delivery is idempotent and a receiver de-duplicates on
(`source`, `id`), as the CloudEvents specification asks. Events are ordered as the records'
commits are on main's first-parent history (then by record id), which is the order a cursor
follows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.governance import (
    BASELINE_PREDICATE,
    GOVERNANCE_PREDICATE,
    AnyRecord,
    GovernanceRecord,
)
from promotion_bot.core.records import PREDICATE_TYPE, PromotionRecord, format_time

SPEC_VERSION = "1.0"
EVENT_TYPE_PREFIX = "dev.promotion-bot.record"
DATA_SCHEMA = "https://promotion-bot.dev/schemas/record-event/v1"
KINDS = ("promotion", "rollback", "violation", "governance", "baseline")

_RUN_ID = re.compile(r"/actions/runs/(\d+)")
_PULL_URL = re.compile(r"^(https://[^/]+/[^/]+/[^/]+)/pull/\d+$")


def event_type(kind: str) -> str:
    """`dev.promotion-bot.record.promotion.v1`, `...rollback.v1`, ... one type per kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    return f"{EVENT_TYPE_PREFIX}.{kind}.v1"


@dataclass(frozen=True)
class RecordEvent:
    """One CloudEvent: the context attributes and the data, before serialisation."""

    id: str
    type: str
    source: str
    subject: str
    time: dt.datetime
    data: Mapping[str, Any]
    position: int  # of the record's commit on main's first-parent history (the cursor's order)

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    def attributes(self) -> dict[str, Any]:
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.astimezone(dt.UTC),
            "datacontenttype": "application/json",
            "dataschema": DATA_SCHEMA,
        }


def run_id(url: str | None) -> str | None:
    """The Actions run id in a check's run URL (`.../actions/runs/7103/attempts/1`)."""
    if not url:
        return None
    found = _RUN_ID.search(url)
    return found.group(1) if found else None


def source_for(explicit: str | None, env: Mapping[str, str], pull_urls: Sequence[str]) -> str:
    """The CloudEvents `source`: stable across runs, so that a receiver de-duplicates on
    (source, id). --source, else the repository of the Actions run, else the repository the
    records' pull requests name."""
    if explicit:
        return explicit
    repository = env.get("GITHUB_REPOSITORY")
    if repository:
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server.rstrip('/')}/{repository}"
    for url in pull_urls:
        found = _PULL_URL.match(url)
        if found:
            return found.group(1)
    raise ConfigError(
        "no CloudEvents source: pass --source URI (the governed repository, e.g. "
        "https://github.com/OWNER/NAME); it must stay the same across runs"
    )


def promotion_kind(record: PromotionRecord) -> str:
    if record.is_violation:
        return "violation"
    return "rollback" if record.rollback_of else "promotion"


def promotion_event(
    record: PromotionRecord,
    *,
    tag: str,
    signed_by: str | None,
    source: str,
    position: int,
) -> RecordEvent:
    """The event of a promotion record (a promotion, a rollback, or a merge recorded as a
    policy violation)."""
    kind = promotion_kind(record)
    pull = record.pull_request
    evidence = record.evidence
    data: dict[str, Any] = {
        "event_version": 1,
        "kind": kind,
        "record": {
            "id": record.change_id,
            "tag": tag,
            "digest": record.digest,
            "predicate_type": PREDICATE_TYPE,
            "signed_by": signed_by,
        },
        "change_id": record.change_id,
        "change_type": record.change_type,
        "target": record.target,
        "title": record.title,
        "from_version": record.current_version,
        "to_version": record.proposed_version,
        "rollback_of": record.rollback_of,
        "artifacts": [{"path": a.path, "sha256": a.sha256} for a in record.artifacts],
        "approved": record.decision.approved,
        "required_roles": list(record.decision.required_roles),
        "approvals": [
            {
                "login": a.login,
                "role": a.role,
                "review_id": a.review_id,
                "submitted_at": a.submitted_at,
                "team": a.team,
            }
            for a in record.decision.approvals
        ],
        "violations": list(record.decision.violations),
        "checks": [
            {
                "name": c.name,
                "result": c.result,
                "run_id": run_id(c.run_url),
                "run_url": c.run_url,
            }
            for c in (evidence.checks if evidence else ())
        ],
        "evidence_sha256": evidence.sha256 if evidence else None,
        "merge": {
            "commit": record.merge_commit,
            "parent": record.merge_parent,
            "merged_at": format_time(record.merged_at),
            "merged_by": record.merged_by,
        },
        "pull_request": {"number": pull.number, "url": pull.url} if pull else None,
        "changed": [],
    }
    return RecordEvent(
        id=record.digest,
        type=event_type(kind),
        source=source,
        subject=record.change_id,
        time=record.merged_at,
        data=data,
        position=position,
    )


def governance_event(
    record: GovernanceRecord,
    *,
    tag: str,
    signed_by: str | None,
    source: str,
    position: int,
) -> RecordEvent:
    """The event of a governance or baseline record (a violation when it was not approved)."""
    kind = "violation" if record.is_violation else record.kind
    pull = record.pull_request
    evidence = record.evidence
    predicate_type = BASELINE_PREDICATE if record.kind == "baseline" else GOVERNANCE_PREDICATE
    data: dict[str, Any] = {
        "event_version": 1,
        "kind": kind,
        "record": {
            "id": record.change_id,
            "tag": tag,
            "digest": record.digest,
            "predicate_type": predicate_type,
            "signed_by": signed_by,
        },
        "change_id": record.change_id,
        "change_type": None,
        "target": None,
        "title": pull.title if pull else f"{record.kind} change (no pull request)",
        "from_version": None,
        "to_version": None,
        "rollback_of": None,
        "artifacts": [{"path": a.path, "sha256": a.sha256} for a in record.artifacts],
        "approved": record.decision.approved,
        "required_roles": list(record.decision.required_roles),
        "approvals": [
            {
                "login": a.login,
                "role": a.role,
                "review_id": a.review_id,
                "submitted_at": a.submitted_at,
                "team": a.team,
            }
            for a in record.decision.approvals
        ],
        "violations": list(record.decision.violations),
        "checks": [
            {"name": c.name, "result": c.result, "run_id": run_id(c.run_url), "run_url": c.run_url}
            for c in (evidence.checks if evidence else ())
        ],
        "evidence_sha256": evidence.sha256 if evidence else None,
        "merge": {
            "commit": record.merge_commit,
            "parent": record.merge_parent,
            "merged_at": format_time(record.merged_at),
            "merged_by": record.merged_by,
        },
        "pull_request": {"number": pull.number, "url": pull.url} if pull else None,
        "changed": [
            {"path": c.path, "status": c.status, "sha256": c.sha256} for c in record.changed
        ],
        "keys": {
            "added": list(record.keys.added),
            "revoked": list(record.keys.revoked),
            "removed": list(record.keys.removed),
        },
    }
    if record.kind == "baseline":
        data["targets"] = [target.as_data() for target in record.targets]
    return RecordEvent(
        id=record.digest,
        type=event_type(kind),
        source=source,
        subject=record.change_id,
        time=record.merged_at,
        data=data,
        position=position,
    )


def record_event(
    record: AnyRecord, *, tag: str, signed_by: str | None, source: str, position: int
) -> RecordEvent:
    if isinstance(record, GovernanceRecord):
        return governance_event(
            record, tag=tag, signed_by=signed_by, source=source, position=position
        )
    return promotion_event(record, tag=tag, signed_by=signed_by, source=source, position=position)


def ordered(events: Sequence[RecordEvent]) -> list[RecordEvent]:
    """The export order: by the commit's position on main, then by record id."""
    return sorted(events, key=lambda event: (event.position, event.subject, event.id))


def after_cursor(events: Sequence[RecordEvent], cursor: str | None) -> list[RecordEvent] | None:
    """The events after the one whose id is `cursor` (all of them without a cursor); None when
    the cursor names no event of this history (main was rewritten, or another repository's
    cursor): the caller must stop rather than guess."""
    if cursor is None:
        return list(events)
    for index, event in enumerate(events):
        if event.id == cursor:
            return list(events[index + 1 :])
    return None


def data_problems(event: RecordEvent) -> list[str]:
    """The event's data checked against schemas/record-event.schema.json (a bug if not empty)."""
    return [problem.render() for problem in validate_data("record-event", event.data, "data")]
