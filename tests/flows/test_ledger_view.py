"""flows/ledger_view.py: what the ledger reads before judging."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

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


def test_each_signature_is_verified_once_and_the_audit_reuses_the_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger judges every tag once (the Ed25519 verification is most of a record's
    floor); the audit then finds what it found when it judged the tags itself."""
    import promotion_bot.core.audit as core_audit
    from promotion_bot.flows.ledger_view import run_audit

    history = GovernedHistory.create(tmp_path, adopt=True)
    history.ruleset("CR-2026-0100", "1.1.0", "1.0.0")
    assert main(history.record_args()) == 0
    capsys.readouterr()
    # one record broken: a signature over other bytes
    raw = history.git("cat-file", "tag", "promotion/CR-2026-0100")
    envelope = json.loads(raw.split("\n\n", 1)[1])
    envelope["signatures"][0]["sig"] = base64.b64encode(b"\0" * 64).decode()
    history.git(
        "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", "promotion/CR-2026-0100",
        history.rev("HEAD"), input_text=json.dumps(envelope) + "\n",
    )
    verified: list[int] = []
    real_verify = core_audit.verify

    def counting(*args: Any) -> Any:
        verified.append(1)
        return real_verify(*args)

    monkeypatch.setattr(core_audit, "verify", counting)
    ledger = load_ledger(history.root, "main", None)
    assert len(verified) == len(ledger.tags) > 1  # every tag's signature, once
    report = run_audit(ledger)
    assert len(verified) == len(ledger.tags)  # not verified again
    assert [(f.code, f.change_id) for f in report.findings if f.code == "BAD_SIGNATURE"] == [
        ("BAD_SIGNATURE", "CR-2026-0100")
    ]
    assert "UNRECORDED_MERGE" in {f.code for f in report.findings}


def test_the_audits_ledger_keeps_no_envelope_once_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ten thousand envelopes are most of an audit's memory: once judged, they are dropped;
    the judgement is the same as with them kept."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    assert main(history.record_args()) == 0
    capsys.readouterr()
    kept = load_ledger(history.root, "main", None)
    dropped = load_ledger(history.root, "main", None, keep_envelopes=False)
    assert all(tag.message for tag in kept.tags)
    assert [tag.message for tag in dropped.tags] == [b""] * len(kept.tags)
    assert [(t.name, t.target) for t in dropped.tags] == [(t.name, t.target) for t in kept.tags]
    assert [(j.valid, j.record) for j in dropped.judged] == [
        (j.valid, j.record) for j in kept.judged
    ]
    assert all(j.valid for j in kept.judged)
