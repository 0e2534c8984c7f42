"""The status use case: which version of each target main promotes now, and its record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from promotion_bot.core.audit import TargetStatus, current_status
from promotion_bot.flows.ledger_view import load_ledger, run_audit


@dataclass(frozen=True)
class StatusResult:
    ref: str
    head: str | None
    targets: list[TargetStatus]


def promoted_status(root: Path, ref: str, trusted_keys: Path | None) -> StatusResult:
    report = run_audit(load_ledger(root, ref, trusted_keys), reevaluate=False)
    return StatusResult(ref, report.head, current_status(report))
