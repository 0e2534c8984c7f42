"""`promotion-bot export`: deliver every valid record on main, after a cursor, to a sink.

Events are made from the records that judge valid (a trusted key's signature, on main's
first-parent history): a forged or edited tag never reaches the audit system. They are
delivered one at a time, oldest first; the cursor moves past an event only once the sink
acknowledged it, so a run that fails part-way loses nothing and, run again, starts after the
last acknowledged event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.event_sinks import (
    DeliveryError,
    FileCursor,
    HttpAuth,
    HttpSink,
    JsonLinesSink,
    RetryPolicy,
    Sink,
    StreamSink,
)
from promotion_bot.core.audit import JudgedTag, judge_all
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.events import (
    RecordEvent,
    after_cursor,
    data_problems,
    ordered,
    record_event,
    source_for,
)
from promotion_bot.core.git_facts import TagRecord
from promotion_bot.core.history import History
from promotion_bot.core.key_trust import KeyTrust
from promotion_bot.flows.ledger_view import load_ledger

Progress = Callable[[int, int], None]


class Cursor(Protocol):
    def read(self) -> str | None: ...

    def advance(self, event: RecordEvent) -> None: ...


@dataclass
class ExportResult:
    sink: str
    total: int  # valid records on main
    pending: int  # after the cursor, when the run started
    delivered: list[RecordEvent] = field(default_factory=list)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def events_from(judged: Sequence[JudgedTag], history: History, source: str) -> list[RecordEvent]:
    """An event for every valid record whose commit is on `history`, in export order."""
    events: list[RecordEvent] = []
    for item in judged:
        record = item.record
        if not item.valid or record is None:
            continue
        position = history.index(record.merge_commit)
        if position is None:
            continue
        event = record_event(
            record,
            tag=item.tag.name,
            signed_by=item.signed_by.keyid if item.signed_by else None,
            source=source,
            position=position,
        )
        problems = data_problems(event)
        if problems:  # a bug: never send what the schema does not describe
            raise ConfigError(f"event of {record.change_id} does not match its schema", [])
        events.append(event)
    return ordered(events)


class LedgerLike(Protocol):
    history: History
    tags: list[TagRecord]
    trusted: KeyTrust


def load_events(
    ledger: LedgerLike, source: str | None, env: Mapping[str, str]
) -> list[RecordEvent]:
    """The events of `ledger`'s valid records, with `source` (or the default source)."""
    judged = judge_all(ledger.tags, ledger.trusted, ledger.history)
    urls = [
        item.record.pull_request.url
        for item in judged
        if item.valid and item.record and item.record.pull_request and item.record.pull_request.url
    ]
    return events_from(judged, ledger.history, source_for(source, env, urls))


def deliver(
    events: Sequence[RecordEvent],
    sink: Sink,
    cursor: Cursor | None,
    progress: Progress | None = None,
) -> ExportResult:
    last = cursor.read() if cursor else None
    pending = after_cursor(events, last)
    if pending is None:
        raise ConfigError(
            f"the cursor names event {str(last)[:12]}…, which is not a valid record on this "
            "history (was main rewritten, or is it another repository's cursor?); run "
            "promotion-bot audit --checkpoint with it, and only then start a new cursor"
        )
    result = ExportResult(sink.description, len(events), len(pending))
    try:
        for done, event in enumerate(pending, 1):
            try:
                sink.deliver(event)
                if cursor is not None:
                    cursor.advance(event)
            except DeliveryError as error:
                result.failure = str(error)
                break
            result.delivered.append(event)
            if progress is not None:
                progress(done, len(pending))
    finally:
        sink.close()
    return result


@dataclass(frozen=True)
class ExportRequest:
    root: Path
    ref: str
    destination: str  # -, a file, or an https:// URL
    cursor: Path | None
    source: str | None
    trusted_keys: Path | None
    environ: Mapping[str, str]
    stdout: IO[bytes]
    retry: RetryPolicy
    ca_file: Path | None = None
    progress: Progress | None = None


def export(request: ExportRequest) -> ExportResult:
    """Load the ledger, make the events, deliver those after the cursor."""
    sink = open_sink(request)
    ledger = load_ledger(request.root, request.ref, request.trusted_keys)
    events = load_events(ledger, request.source, request.environ)
    cursor = FileCursor(request.cursor, utc_now) if request.cursor else None
    return deliver(events, sink, cursor, request.progress)


def open_sink(request: ExportRequest) -> Sink:
    destination = request.destination
    if destination == "-":
        return StreamSink(request.stdout)
    if destination.startswith(("https://", "http://")):
        auth = HttpAuth.from_environment(request.environ)
        return HttpSink(destination, auth, request.retry, request.ca_file)
    if "://" in destination:
        raise ConfigError(f"--to {destination}: give -, a file, or an https:// URL")
    return JsonLinesSink(Path(destination))
