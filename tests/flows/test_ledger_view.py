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


def test_the_ledger_of_a_commit_on_main_is_what_loading_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], git_processes: list[tuple[str, ...]]
) -> None:
    """ledger_at (verify's ledger of the deployed commit) takes the beginning of main's
    history and main's tags and files instead of reading them again: at every commit it is
    what load_ledger reads, with keys trusted through that commit's history only."""
    from promotion_bot.core.keys import generate_key
    from promotion_bot.flows.ledger_view import ledger_at

    history = GovernedHistory.create(tmp_path, adopt=True)
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.governance("Governance: a second signing key",
                       {".promotion/policy.yaml": history.with_key(generate_key())})
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert main(history.record_args()) == 0
    history.direct_push("9.9.9")
    capsys.readouterr()
    main_ledger = load_ledger(history.root, "main", None)
    git_processes.clear()
    for commit in main_ledger.history.commits:
        derived = ledger_at(main_ledger, commit.sha, None)
        assert git_processes == []
        loaded = load_ledger(history.root, commit.sha, None, commit=commit.sha)
        git_processes.clear()
        assert derived.history == loaded.history
        assert derived.tags == loaded.tags
        assert (derived.trusted.epochs, derived.trusted.extra, derived.trusted.findings) == (
            loaded.trusted.epochs, loaded.trusted.extra, loaded.trusted.findings)
        assert derived.judged == loaded.judged
        assert derived.tree._blob_ids == loaded.tree._blob_ids
        for blob in filter(None, loaded.tree._blob_ids.values()):
            assert derived.tree.content(blob) == loaded.tree.content(blob)
    assert len({len(ledger_at(main_ledger, c.sha, None).trusted.epochs)
                for c in main_ledger.history.commits}) > 1  # the trust differs along the way


@pytest.mark.parametrize("ref", ["HEAD", "main", "commit"])
def test_the_ledger_is_read_with_four_git_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], git_processes: list[tuple[str, ...]],
    ref: str,
) -> None:
    """The branch with the promotion tags' refs, the history, the tag objects with the files
    every commit is judged by, the files the valid records name; however long the history."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert main(history.record_args()) == 0
    capsys.readouterr()
    tip = history.rev("main")
    git_processes.clear()
    ledger = load_ledger(history.root, tip if ref == "commit" else ref, None,
                         commit=tip if ref == "commit" else None)
    assert [args[0] for args in git_processes] == ["for-each-ref", "log", "cat-file", "cat-file"]
    assert ledger.history.tip is not None and ledger.history.tip.sha == tip
    assert len(ledger.tags) == 5 and all(item.valid for item in ledger.judged)
