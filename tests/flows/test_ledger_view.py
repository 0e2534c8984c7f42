"""flows/ledger_view.py: what the ledger reads before judging."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.flows.ledger_view import load_ledger
from tests.ledger_repo import GovernedHistory


def test_an_unsigned_payload_is_never_parsed_to_plan_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anyone can push a tag: its payload may name any file (or 16 MB of them). Only records
    a trusted key signed decide which files are read."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    assert main(history.record_args()) == 0
    capsys.readouterr()
    head = history.rev("HEAD")
    statement = {
        "subject": [{"name": "planted/by-an-unsigned-tag.json"}],
        "predicate": {"merge": {"commit": head}, "change_request": {"path": "planted/cr.yaml"}},
    }
    envelope = {
        "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"keyid": history.key.keyid, "sig": "AAAA"}],
    }
    history.git("tag", "-a", "-m", json.dumps(envelope), "promotion/CR-2026-0999", head)
    ledger = load_ledger(history.root, "main", None)
    assert (head, "planted/by-an-unsigned-tag.json") not in ledger.tree._blob_ids
    signed = "configs/routing_tables/routing_rules_v1.0.0.json"
    assert (head, signed) in ledger.tree._blob_ids  # the valid record's artifact was planned
