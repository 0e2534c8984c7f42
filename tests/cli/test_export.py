"""`promotion-bot export`: every valid record, once, to a real receiver on loopback, across
outages, 5xx, dropped connections, slow answers, a receiver that acknowledges and dies, and
replays."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from promotion_bot.cli.main import main
from promotion_bot.core.dsse import parse_envelope, sign
from promotion_bot.core.keys import keyid_of
from promotion_bot.core.records import statement_digest
from tests.event_receiver import Receiver
from tests.ledger_repo import GovernedHistory

FAST = ["--timeout", "0.5", "--backoff", "0", "--retries", "4"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def record_digests(history: GovernedHistory) -> dict[str, str]:
    """change id -> the digest of its signed statement (what the event id must be)."""
    found = {}
    for name in history.git("tag", "--list", "promotion/*").split():
        message = history.git("cat-file", "tag", name).split("\n\n", 1)[1]
        payload = parse_envelope(message).payload
        found[name.removeprefix("promotion/")] = statement_digest(payload)
    return found


@pytest.fixture
def history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GovernedHistory:
    """Two promotions, a merge pushed straight to main (a violation) and a rollback, recorded
    (once per worker, then copied)."""

    def build(base: Path) -> GovernedHistory:
        history = GovernedHistory.create(base)
        history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
        history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
        history.direct_push("9.9.9")
        history.ruleset("CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006")
        assert run(capsys, *history.record_args())[0] == 1  # the direct push is a violation
        return history

    return GovernedHistory.built_once("test_export.history", tmp_path, build)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def export(capsys: pytest.CaptureFixture[str], history: GovernedHistory, to: str, *extra: str) -> tuple[int, str]:
    cursor = history.root.parent / "cursor.json"
    return run(capsys, "export", "--repo", str(history.root), "--to", to, "--cursor", str(cursor), *FAST, *extra)


def test_every_record_reaches_the_receiver_once_across_faults(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # "slow": stored, but not answered until the sender has given up (after --timeout) and retried
    receiver.faults = ["500", "drop", "503-retry-after", "slow", "ok", "500"]
    code, out = export(capsys, history, receiver.url)
    assert code == 0, out
    digests = record_digests(history)
    assert sorted(receiver.events) == sorted(digests.values())
    hotfix = next(c for c in digests if c.startswith("CR-2026-9"))
    assert receiver.order == [digests[c] for c in ("CR-2026-0005", "CR-2026-0006", hotfix, "CR-2026-0007")]
    assert receiver.duplicates == 1  # the slow answer: the receiver de-duplicated the retry
    assert receiver.rejected == []
    assert f"export: {len(digests)} of {len(digests)} pending event(s) delivered" in out
    # run again: nothing is pending, nothing is posted
    posts = receiver.posts
    code, out = export(capsys, history, receiver.url)
    assert code == 0 and "export: 0 of 0 pending" in out
    assert receiver.posts == posts


def test_an_outage_delivers_nothing_and_loses_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = Receiver(port=port)
    code, out = export(capsys, history, receiver.url)
    assert code == 1
    assert "did not acknowledge event" in out and "after 5 attempts" in out
    assert not (history.root.parent / "cursor.json").exists()
    receiver.start()
    try:
        code, out = export(capsys, history, receiver.url)
    finally:
        receiver.stop()
    assert code == 0, out
    assert sorted(receiver.events) == sorted(record_digests(history).values())
    assert receiver.duplicates == 0


def test_a_receiver_that_acknowledges_then_crashes_gets_the_rest_later(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.faults = ["ok", "crash"]
    code, out = export(capsys, history, receiver.url)
    assert code == 1
    assert "export: 2 of 4 pending event(s) delivered" in out
    cursor = json.loads((history.root.parent / "cursor.json").read_text())
    assert cursor["last_event_id"] == receiver.order[1]
    revived = Receiver(port=receiver.port, events=receiver.events, order=receiver.order).start()
    try:
        code, out = export(capsys, history, revived.url)
    finally:
        revived.stop()
    assert code == 0, out
    assert "export: 2 of 2 pending event(s) delivered" in out
    assert sorted(revived.events) == sorted(record_digests(history).values())
    assert revived.duplicates == 0 and revived.posts == 2


def test_a_refused_event_stops_the_export_before_it(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.faults = ["ok", "401"]
    code, out = export(capsys, history, receiver.url)
    assert code == 1
    assert "refused event" in out and "HTTP 401" in out
    assert len(receiver.events) == 1
    code, out = export(capsys, history, receiver.url)
    assert code == 0
    assert len(receiver.events) == 4 and receiver.duplicates == 0


def test_a_replay_without_cursor_is_absorbed_by_the_receiver(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["export", "--repo", str(history.root), "--to", receiver.url, *FAST]
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args)[0] == 0
    assert len(receiver.events) == 4 and receiver.duplicates == 4


def test_bearer_token_and_hmac_signature_from_the_environment(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver(token="s3cret", hmac_key=b"shared-key").start()
    try:
        code, out = export(capsys, history, receiver.url)
        assert code == 1 and "HTTP 400" in out and receiver.rejected == ["bad token"]
        monkeypatch.setenv("PROMOTION_BOT_EXPORT_TOKEN", "s3cret")
        monkeypatch.setenv("PROMOTION_BOT_EXPORT_HMAC_KEY", "shared-key")
        code, out = export(capsys, history, receiver.url)
    finally:
        receiver.stop()
    assert code == 0, out
    assert len(receiver.events) == 4


def test_the_events_say_what_each_record_says(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(capsys, history, receiver.url)[0] == 0
    by_subject = {event["subject"]: event for event in receiver.events.values()}
    rollback = by_subject["CR-2026-0007"]
    assert rollback["specversion"] == "1.0"
    assert rollback["type"] == "dev.promotion-bot.record.rollback.v1"
    assert rollback["source"] == "https://github.com/example-org/intake-routing"
    assert rollback["id"] == record_digests(history)["CR-2026-0007"]
    data = rollback["data"]
    assert (data["rollback_of"], data["target"], data["from_version"], data["to_version"]) == (
        "CR-2026-0006", "routing-rules", "1.2.0", "1.1.0"
    )
    assert data["record"]["tag"] == "promotion/CR-2026-0007"
    assert [(a["login"], a["role"]) for a in data["approvals"]] == [("adam", "administrator")]
    assert all(a["review_id"] and a["submitted_at"] for a in data["approvals"])
    assert [(c["name"], c["result"], c["run_id"]) for c in data["checks"]] == [("pack-verify", "passed", "7103")]
    assert data["merge"]["commit"] == history.merges[-1].sha
    assert data["artifacts"][0]["path"] == "configs/routing_tables/routing_rules_v1.1.0.json"
    kinds = sorted(event["type"].split(".")[3] for event in receiver.events.values())
    assert kinds == ["promotion", "promotion", "rollback", "violation"]
    violation = next(e for e in receiver.events.values() if e["type"].endswith(".violation.v1"))
    assert violation["data"]["approved"] is False
    assert violation["data"]["pull_request"] is None
    assert violation["data"]["violations"][0].startswith("no pull request")


def test_a_forged_record_never_reaches_the_audit_system(
    history: GovernedHistory, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = history.git("cat-file", "tag", "promotion/CR-2026-0006").split("\n\n", 1)[1]
    forger = Ed25519PrivateKey.generate()
    forged = sign(parse_envelope(raw).payload, forger, keyid_of(forger.public_key()))
    target = history.git("rev-parse", "promotion/CR-2026-0006^{commit}")
    history.git("tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", "promotion/CR-2026-0006", target, input_text=forged.to_json() + "\n")
    assert export(capsys, history, receiver.url)[0] == 0
    assert "CR-2026-0006" not in {e["subject"] for e in receiver.events.values()}
    assert len(receiver.events) == 3


def test_json_lines_file_and_standard_output(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "events.jsonl"
    args = ["export", "--repo", str(history.root), "--to", str(target)]
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args)[0] == 0  # no cursor: the file is its own receiver
    lines = target.read_text().splitlines()
    assert len(lines) == 4 and len({json.loads(line)["id"] for line in lines}) == 4
    code = main(["export", "--repo", str(history.root), "--to", "-"])
    out = capsys.readouterr()
    assert code == 0
    assert [json.loads(line)["id"] for line in out.out.splitlines()] == [json.loads(line)["id"] for line in lines]
    assert "export: 4 of 4 pending event(s) delivered to standard output" in out.err


@pytest.mark.parametrize(
    ("to", "cursor", "message"),
    [
        ("http://example.org/events", None, "plain http is refused"),
        ("ftp://example.org/events", None, "give -, a file, or an https:// URL"),
        ("-", json.dumps({"last_event_id": "f" * 64}), "which is not a valid record on this history"),
        ("-", "not json", "not a cursor file of promotion-bot export"),
    ],
)
def test_what_export_refuses(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], to: str, cursor: str | None, message: str
) -> None:
    path = history.root.parent / "cursor.json"
    if cursor is not None:
        path.write_text(cursor)
    code, out = run(capsys, "export", "--repo", str(history.root), "--to", to, "--cursor", str(path))
    assert code == 2
    assert message in out
    assert "Traceback" not in out


def test_payload_is_base64_of_the_statement_whose_digest_is_the_event_id(history: GovernedHistory) -> None:
    raw = history.git("cat-file", "tag", "promotion/CR-2026-0005").split("\n\n", 1)[1]
    payload = base64.b64decode(json.loads(raw)["payload"])
    assert record_digests(history)["CR-2026-0005"] == statement_digest(payload)


def test_governance_and_baseline_records_become_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_baseline import BASELINE

    history = GovernedHistory.unadopted(tmp_path, months=2)
    history.adopt(BASELINE)
    history.governance("Governance: add a check script", {"scripts/lint.sh": "echo ok\n"})
    assert run(capsys, *history.record_args())[0] == 0
    target = tmp_path / "events.jsonl"
    assert run(capsys, "export", "--repo", str(history.root), "--to", str(target))[0] == 0
    events = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["type"] for e in events] == [
        "dev.promotion-bot.record.baseline.v1",
        "dev.promotion-bot.record.governance.v1",
    ]
    baseline, governance = (e["data"] for e in events)
    assert (baseline["targets"][0]["target"], baseline["targets"][0]["version"]) == ("routing-rules", "1.4.1")
    assert baseline["record"]["predicate_type"] == "https://promotion-bot.dev/baseline-record/v1"
    assert [(a["login"], a["role"]) for a in governance["approvals"]] == [("adam", "administrator")]
    assert governance["changed"] == [{"path": "scripts/lint.sh", "status": "A", "sha256": governance["changed"][0]["sha256"]}]
    assert events[1]["subject"] == governance["change_id"] and governance["change_id"].startswith("GOV-")
