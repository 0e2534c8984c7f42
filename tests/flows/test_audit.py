"""flows/audit.py: the audit use case as a caller in the same process sees it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.core.errors import PromotionBotError
from promotion_bot.flows.audit import AuditRequest, audit_ledger
from tests.ledger_repo import GovernedHistory


@pytest.mark.parametrize("works", [True, False], ids=["audited", "failed"])
def test_the_audit_leaves_the_cyclic_collector_as_it_found_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], works: bool
) -> None:
    """The audit pauses the cyclic collector while it builds the ledger and freezes it out of
    the collector's passes: afterwards (or after a failure) the collector runs again and
    nothing stays frozen."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    assert main(history.record_args()) == 0
    capsys.readouterr()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    if works:
        report = audit_ledger(AuditRequest(history.root, "main"))
        assert report.ok and report.records == len(report.entries) > 0
    else:
        with pytest.raises(PromotionBotError):
            audit_ledger(AuditRequest(history.root, "no-such-branch"))
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
