"""The audit use case: every promotion and rollback on main, judged from git alone."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.core.audit import AuditReport, Checkpoint, filter_report
from promotion_bot.core.errors import ConfigError
from promotion_bot.flows.ledger_view import load_ledger, run_audit


@dataclass(frozen=True)
class AuditRequest:
    root: Path
    ref: str
    trusted_keys: Path | None = None
    since: str | None = None
    target: str | None = None
    change_id: str | None = None
    checkpoint: str | None = None  # RECORD_ID@SHA256: the audit system's last record
    progress: Callable[[int, int], None] | None = None


def audit_ledger(request: AuditRequest) -> AuditReport:
    """The full audit (records re-evaluated), filtered as asked."""
    since = parse_since(request.since)
    checkpoint = parse_checkpoint(request.checkpoint)
    try:
        with _built_to_stay():
            ledger = load_ledger(
                request.root, request.ref, request.trusted_keys, keep_envelopes=False
            )
        report = run_audit(ledger, progress=request.progress, checkpoint=checkpoint)
    finally:
        gc.unfreeze()
    return filter_report(report, since, request.target, request.change_id)


@contextmanager
def _built_to_stay() -> Iterator[None]:
    """The ledger is some hundred objects per merge that all live until the report is made,
    and loading it makes almost no cyclic garbage: a running cyclic collector would walk them
    again at each of its passes (8% of the audit's CPU at 10,000 merges). It is paused while
    they are built, and they are then frozen (left out of its passes) until the audit ends
    (the caller's `gc.unfreeze()`); reference counting frees what is dropped as always."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def parse_checkpoint(value: str | None) -> Checkpoint | None:
    if value is None:
        return None
    try:
        return Checkpoint.parse(value)
    except ValueError as error:
        raise ConfigError(f"--checkpoint {value!r}: {error}") from None


def parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since {value!r}: not a date; write 2026-03-01 or 2026-03-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
