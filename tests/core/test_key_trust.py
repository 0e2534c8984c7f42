"""Governance records and keys trusted through history, on real git histories: rotation,
revocation, a bypass push that adds a key, a record forged with it, and the audit system's
checkpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.core.dsse import parse_envelope, sign
from promotion_bot.core.keys import GeneratedKey, generate_key, load_private_key
from promotion_bot.core.records import statement_bytes, statement_digest
from tests.event_receiver import Receiver
from tests.ledger_repo import GovernedHistory

POLICY = ".promotion/policy.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def audit(capsys: pytest.CaptureFixture[str], history: GovernedHistory, *extra: str) -> tuple[int, dict]:
    code, out = run(capsys, "audit", "--repo", str(history.root), "--format", "json", *extra)
    return code, json.loads(out)


def codes(report: dict) -> list[tuple[str, str | None]]:
    return sorted((f["code"], f["change_id"]) for f in report["findings"])


def record(history: GovernedHistory, capsys: pytest.CaptureFixture[str], key_file: Path | None = None) -> int:
    args = history.record_args()
    if key_file is not None:
        args[args.index("--key-file") + 1] = str(key_file)
    return run(capsys, *args)[0]


def key_file(history: GovernedHistory, name: str, key: GeneratedKey) -> Path:
    path = history.root.parent / f"{name}.pem"
    path.write_bytes(key.private_pem)
    return path


def statement_of(history: GovernedHistory, tag: str) -> dict:
    message = history.git("cat-file", "tag", tag).split("\n\n", 1)[1]
    return json.loads(parse_envelope(message).payload)


def forge_approval(history: GovernedHistory, change_id: str, key: GeneratedKey) -> None:
    """Rewrite the record of `change_id` to say approved, signed with `key`."""
    statement = statement_of(history, f"promotion/{change_id}")
    decision = statement["predicate"]["decision"]
    decision.update(approved=True, violations=[], summary="approved: adam (administrator)")
    identity = load_private_key(key.private_pem, "forger")
    envelope = sign(statement_bytes(statement), identity.private_key, identity.keyid)
    target = history.git("rev-parse", f"promotion/{change_id}^{{commit}}")
    history.git("tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", f"promotion/{change_id}", target,
                input_text=envelope.to_json() + "\n")


@pytest.fixture
def history(tmp_path: Path) -> GovernedHistory:
    return GovernedHistory.create(tmp_path)


def test_a_year_of_governance_audits_with_exactly_the_expected_findings(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Promotions, a rollback, a policy change, a key rotation, a bypass push that adds an
    attacker's key, and a record forged with that key."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset("CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006")
    assert record(history, capsys) == 0
    policy_change = history.governance(
        "Governance: the golden corpus is owned by the administrators",
        {POLICY: history.policy_text().replace("governance:\n", "# reviewed 2026-03\ngovernance:\n")},
    )
    assert record(history, capsys) == 0
    # rotation: the new key is added by an approved pull request, recorded with the old key ...
    new_key = generate_key()
    rotation = history.governance("Governance: add the 2026 signing key", {POLICY: history.with_key(new_key)})
    assert record(history, capsys) == 0
    # ... then the recorder signs with the new key, and the old one is retired
    history.key_file = key_file(history, "new", new_key)
    retired = history.policy_text().replace(
        f"    - keyid: {history.key.keyid}\n",
        f'    - keyid: {history.key.keyid}\n      not_after: "{history.tick()}"\n',
    )
    retire = history.governance("Governance: retire the 2025 signing key", {POLICY: retired})
    history.ruleset("CR-2026-0008", "1.3.0", "1.1.0")
    assert record(history, capsys) == 0
    # an attacker with a bypass adds their key to the policy on main ...
    attacker = generate_key()
    (history.root / POLICY).write_text(history.with_key(attacker))
    history.git("commit", "-qam", "Add a signing key (pushed past the rulesets)")
    bypass = history.rev("HEAD")
    assert record(history, capsys) == 1  # recorded, as a violation: the run is red
    # ... pushes a hotfix, records it with their key and forges the approval
    hotfix = history.direct_push("9.9.9")
    assert record(history, capsys, key_file(history, "attacker", attacker)) == 1
    hotfix_id = next(n.removeprefix("promotion/") for n in history.git("tag", "--list", "promotion/CR-2026-9*").split())
    forge_approval(history, hotfix_id, attacker)
    assert record(history, capsys) == 0  # the legitimate recorder finds the tag taken

    code, report = audit(capsys, history)

    assert code == 1
    assert codes(report) == sorted([
        ("POLICY_VIOLATION", f"GOV-{bypass[:12]}"),
        ("UNTRUSTED_KEY_CHANGE", None),
        ("UNTRUSTED_KEY", hotfix_id),
        ("UNRECORDED_MERGE", hotfix_id),
    ])
    untrusted = next(f for f in report["findings"] if f["code"] == "UNTRUSTED_KEY_CHANGE")
    assert untrusted["commit"] == bypass
    assert f"adds {attacker.keyid[:16]}" in untrusted["message"]
    kinds = [(e["kind"], e["change_id"], e["state"]) for e in report["entries"]]
    assert kinds == [
        ("promotion", "CR-2026-0005", "recorded"),
        ("promotion", "CR-2026-0006", "recorded"),
        ("rollback", "CR-2026-0007", "recorded"),
        ("governance", f"GOV-{policy_change.sha[:12]}", "recorded"),
        ("governance", f"GOV-{rotation.sha[:12]}", "recorded"),
        ("governance", f"GOV-{retire.sha[:12]}", "recorded"),
        ("promotion", "CR-2026-0008", "recorded"),
        ("governance", f"GOV-{bypass[:12]}", "violation"),
        ("promotion", hotfix_id, "invalid"),
    ]
    signers = {e["change_id"]: e["signed_by"] for e in report["entries"]}
    assert signers["CR-2026-0005"] == history.key.keyid and signers["CR-2026-0008"] == new_key.keyid
    assert signers[f"GOV-{rotation.sha[:12]}"] == history.key.keyid  # rotated by the old key
    assert not any(attacker.keyid in k for k in report["trusted_keys"])
    governance = next(e for e in report["entries"] if e["change_id"] == f"GOV-{rotation.sha[:12]}")
    assert [(a["login"], a["role"]) for a in governance["approvals"]] == [("adam", "administrator")]
    # the deployment gate agrees: the forged hotfix is not deployable
    code, out = run(capsys, "verify", "--repo", str(history.root), "--commit", hotfix, "--base", "main")
    assert code == 1
    assert "NOT COVERED configs/routing_tables/routing_rules_v9.9.9.json" in out
    # and the operational audit system receives every valid record once, across faults
    receiver = Receiver(faults=["500", "drop", "ok", "crash"]).start()
    cursor = history.root.parent / "cursor.json"
    export = ["export", "--repo", str(history.root), "--cursor", str(cursor),
              "--timeout", "0.5", "--backoff", "0", "--retries", "3"]
    assert run(capsys, *export, "--to", receiver.url)[0] == 1  # acknowledged two, then died
    revived = Receiver(port=receiver.port, events=receiver.events, order=receiver.order,
                       faults=["503-retry-after", "ok", "500"]).start()
    try:
        code, out = run(capsys, *export, "--to", revived.url)
    finally:
        revived.stop()
    assert code == 0, out
    valid = {
        name.removeprefix("promotion/"): statement_digest(parse_envelope(
            history.git("cat-file", "tag", name).split("\n\n", 1)[1]).payload)
        for name in history.git("tag", "--list", "promotion/*").split()
        if name != f"promotion/{hotfix_id}"
    }
    assert sorted(revived.events) == sorted(valid.values())
    assert revived.duplicates == 0
    assert sorted(e["subject"] for e in revived.events.values()) == sorted(valid)


def test_a_key_is_trusted_from_the_commit_after_its_approved_rotation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    new_key = generate_key()
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    # signed with the new key before it was trusted: never valid, even once it is (`record`
    # refuses a key the policy does not list; a recorder that ignores that signs anyway)
    assert record(history, capsys, key_file(history, "new", new_key)) == 2
    assert history.record_ignoring_key_trust(key_file(history, "new", new_key)) == 0
    history.governance("Governance: add the 2026 signing key", {POLICY: history.with_key(new_key)})
    assert record(history, capsys) == 0
    code, report = audit(capsys, history)
    assert code == 1
    assert codes(report) == [("UNRECORDED_MERGE", "CR-2026-0005"), ("UNTRUSTED_KEY", "CR-2026-0005")]


def test_an_unapproved_governance_merge_cannot_add_a_key(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    new_key = generate_key()
    merge = history.governance("Add my key", {POLICY: history.with_key(new_key)}, approvers=("rita",))
    assert record(history, capsys) == 1  # recorded as a violation: the administrator is missing
    history.key_file = key_file(history, "new", new_key)
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert record(history, capsys) == 0
    code, report = audit(capsys, history)
    assert code == 1
    assert codes(report) == sorted([
        ("POLICY_VIOLATION", f"GOV-{merge.sha[:12]}"),
        ("UNTRUSTED_KEY_CHANGE", None),
        ("UNTRUSTED_KEY", "CR-2026-0005"),
        ("UNRECORDED_MERGE", "CR-2026-0005"),
    ])
    violation = next(e for e in report["entries"] if e["change_id"] == f"GOV-{merge.sha[:12]}")
    assert violation["required_roles"] == ["administrator"] and violation["approvals"] == []
    assert violation["state"] == "violation"


def test_the_governance_record_says_what_changed_and_who_approved(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    new_key = generate_key()
    merge = history.governance("Add the 2026 key", {POLICY: history.with_key(new_key), "scripts/old.sh": "echo\n"})
    assert record(history, capsys) == 0
    statement = statement_of(history, f"promotion/GOV-{merge.sha[:12]}")
    assert statement["predicateType"] == "https://promotion-bot.dev/governance-record/v1"
    predicate = statement["predicate"]
    assert predicate["keys"] == {"added": [new_key.keyid], "revoked": [], "removed": [], "changed": []}
    assert sorted((c["path"], c["status"]) for c in predicate["changed"]) == [(POLICY, "M"), ("scripts/old.sh", "A")]
    assert predicate["decision"]["approved"] is True
    assert predicate["decision"]["required_roles"] == ["administrator"]
    new_policy = next(c["sha256"] for c in predicate["changed"] if c["path"] == POLICY)
    assert predicate["policy"]["sha256"] != new_policy  # judged by the policy before the change
    assert sorted(s["name"] for s in statement["subject"]) == [POLICY, "scripts/old.sh"]
    code, out = run(capsys, *history.record_args())
    assert (code, out.strip()) == (0, "nothing to record: every merge on main is recorded")


def test_deleting_a_governance_record_is_a_finding(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.governance("Tighten CODEOWNERS", {"CODEOWNERS": (history.root / "CODEOWNERS").read_text() + "\n"})
    assert record(history, capsys) == 0
    history.git("tag", "-d", f"promotion/GOV-{merge.sha[:12]}")
    code, report = audit(capsys, history)
    assert code == 1
    assert codes(report) == [("UNRECORDED_GOVERNANCE", f"GOV-{merge.sha[:12]}")]


def test_the_checkpoint_of_the_audit_system_notices_a_rewound_main(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert record(history, capsys) == 0
    message = history.git("cat-file", "tag", "promotion/CR-2026-0006").split("\n\n", 1)[1]
    checkpoint = f"CR-2026-0006@{statement_digest(parse_envelope(message).payload)}"
    code, report = audit(capsys, history, "--checkpoint", checkpoint)
    assert (code, codes(report)) == (0, [])
    # rewind main past the newest promotion and delete its tag: git alone sees a clean history
    history.git("reset", "-q", "--hard", history.merges[0].sha)
    history.git("tag", "-d", "promotion/CR-2026-0006")
    assert audit(capsys, history)[0] == 0
    code, report = audit(capsys, history, "--checkpoint", checkpoint)
    assert code == 1
    assert codes(report) == [("CHECKPOINT_UNREACHABLE", "CR-2026-0006")]
    code, out = run(capsys, "audit", "--repo", str(history.root), "--checkpoint", "CR-2026-0006")
    assert code == 2 and "RECORD_ID@SHA256" in out


def test_payload_edits_of_a_governance_record_do_not_verify(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.governance("Tighten CODEOWNERS", {"CODEOWNERS": (history.root / "CODEOWNERS").read_text() + "\n"})
    assert record(history, capsys) == 0
    tag = f"promotion/GOV-{merge.sha[:12]}"
    envelope = json.loads(history.git("cat-file", "tag", tag).split("\n\n", 1)[1])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["decision"]["approvals"][0]["login"] = "mallory"
    envelope["payload"] = base64.b64encode(statement_bytes(statement)).decode()
    history.git("tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", tag, merge.sha, input_text=json.dumps(envelope) + "\n")
    code, report = audit(capsys, history)
    assert code == 1
    assert codes(report) == [("BAD_SIGNATURE", f"GOV-{merge.sha[:12]}"), ("UNRECORDED_GOVERNANCE", f"GOV-{merge.sha[:12]}")]
