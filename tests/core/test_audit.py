"""The audit on real git histories: what an auditor sees for each kind of event and tamper."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from promotion_bot.cli.main import main
from promotion_bot.core.dsse import parse_envelope, sign
from promotion_bot.core.keys import GeneratedKey, generate_key, keyid_of, policy_entry
from promotion_bot.core.records import statement_bytes
from tests.ledger_repo import GovernedHistory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def audit_json(capsys: pytest.CaptureFixture[str], history: GovernedHistory) -> tuple[int, dict]:
    code, out = run(capsys, "audit", "--repo", str(history.root), "--format", "json")
    return code, json.loads(out)


def codes(report: dict) -> list[tuple[str, str | None]]:
    return sorted((f["code"], f["change_id"]) for f in report["findings"])


def tag_message(history: GovernedHistory, change_id: str) -> dict:
    raw = history.git("cat-file", "tag", f"promotion/{change_id}")
    return json.loads(raw.split("\n\n", 1)[1])


def replace_tag(history: GovernedHistory, change_id: str, target: str, message: str) -> None:
    history.git(
        "tag",
        "-f",
        "-a",
        "--cleanup=verbatim",
        "-F",
        "-",
        f"promotion/{change_id}",
        target,
        input_text=message + "\n",
    )


def recorded(history: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> int:
    code, _ = run(capsys, *history.record_args())
    return code


@pytest.fixture
def history(tmp_path: Path) -> GovernedHistory:
    return GovernedHistory.create(tmp_path)


def test_full_history_reports_exactly_the_expected_findings(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert recorded(history, capsys) == 0
    hotfix = history.direct_push("9.9.9")  # an administrator bypasses the gate
    assert recorded(history, capsys) == 1  # recorded, as a violation: the run is red
    history.ruleset("CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006")
    history.ruleset("CR-2026-0008", "1.3.0", "1.1.0")
    assert recorded(history, capsys) == 0
    # tamper: someone edits the first record (the approvers) and keeps its signature
    envelope = tag_message(history, "CR-2026-0005")
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["decision"]["approvals"][0]["login"] = "mallory"
    envelope["payload"] = base64.b64encode(statement_bytes(statement)).decode()
    replace_tag(history, "CR-2026-0005", history.merges[0].sha, json.dumps(envelope))

    code, report = audit_json(capsys, history)

    assert code == 1
    hotfix_id = next(e["change_id"] for e in report["entries"] if e["commit"] == hotfix)
    assert codes(report) == sorted(
        [
            ("BAD_SIGNATURE", "CR-2026-0005"),
            ("UNRECORDED_MERGE", "CR-2026-0005"),
            ("CHAIN_BROKEN", "CR-2026-0006"),
            ("POLICY_VIOLATION", hotfix_id),
        ]
    )
    entries = {e["change_id"]: e for e in report["entries"]}
    assert [e["change_id"] for e in report["entries"]] == [
        "CR-2026-0005",
        "CR-2026-0006",
        hotfix_id,
        "CR-2026-0007",
        "CR-2026-0008",
    ]
    assert entries["CR-2026-0005"]["state"] == "invalid"
    assert entries[hotfix_id]["state"] == "violation"
    assert entries["CR-2026-0007"]["kind"] == "rollback"
    assert entries["CR-2026-0007"]["rollback_of"] == "CR-2026-0006"
    good = entries["CR-2026-0008"]
    assert good["state"] == "recorded" and good["findings"] == []
    assert [(a["login"], a["role"]) for a in good["approvals"]] == [
        ("rita", "reviewer"),
        ("adam", "administrator"),
    ]
    assert [c["name"] for c in good["checks"]] == ["rules-lint", "rules-simulate", "pack-verify"]
    assert all(c["run_url"].startswith("https://github.com/") for c in good["checks"])
    assert good["pull_request"]["url"].endswith(f"/pull/{good['pull_request']['number']}")
    assert good["artifacts"][0]["path"] == "configs/routing_tables/routing_rules_v1.3.0.json"
    assert report["summary"] == {
        "commits": 6,
        "ungoverned_commits": 1,
        "records": 5,
        "promotions": 4,
        "rollbacks": 1,
        "governance": 0,
        "baselines": 0,
        "findings": 4,
    }


def test_clean_history_formats(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset("CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006")
    assert recorded(history, capsys) == 0
    root = str(history.root)
    code, text = run(capsys, "audit", "--repo", root)
    assert code == 0
    assert "OK: every merge on main is recorded, signed, approved and intact" in text
    assert re.search(
        r"CR-2026-0007 \(rollback of CR-2026-0006\)\s+routing-rules\s+1\.2\.0 -> 1\.1\.0", text
    )
    code, markdown = run(capsys, "audit", "--repo", root, "--format", "markdown")
    assert code == 0 and markdown.startswith("# Promotion audit")
    assert "[#101](https://github.com/example-org/intake-routing/pull/101)" in markdown
    code, csv_text = run(capsys, "audit", "--repo", root, "--format", "csv")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("kind,merged_at,change_id")
    assert [line.split(",")[0] for line in lines[1:]] == ["promotion", "promotion", "rollback"]
    page = tmp_path / "audit.html"
    code, _ = run(capsys, "audit", "--repo", root, "--format", "html", "--output", str(page))
    html = page.read_text()
    assert code == 0 and html.startswith("<!DOCTYPE html>")
    assert "<script src" not in html and "Content-Security-Policy" in html  # one file, offline
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by promotion-bot", html)
    assert "No findings" in html and "CR-2026-0007" in html
    code, filtered = run(
        capsys, "audit", "--repo", root, "--change-id", "CR-2026-0006", "--format", "json"
    )
    assert [e["change_id"] for e in json.loads(filtered)["entries"]] == ["CR-2026-0006"]
    code, filtered = run(
        capsys, "audit", "--repo", root, "--since", "2099-01-01", "--format", "json"
    )
    assert json.loads(filtered)["entries"] == []
    code, status = run(capsys, "status", "--repo", root, "--format", "json")
    assert code == 0
    [target] = json.loads(status)["targets"]
    assert (target["target"], target["version"], target["change_id"], target["state"]) == (
        "routing-rules",
        "1.1.0",
        "CR-2026-0007",
        "recorded",
    )


def test_deleted_record_and_truncated_tail(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset("CR-2026-0007", "1.3.0", "1.2.0")
    assert recorded(history, capsys) == 0
    history.git("tag", "-d", "promotion/CR-2026-0005")  # in the middle: the chain notices
    history.git("tag", "-d", "promotion/CR-2026-0007")  # at the tail: history notices
    code, status = run(capsys, "status", "--repo", str(history.root))
    assert code == 0
    assert status.splitlines()[1].split()[2:4] == ["1.3.0", "CR-2026-0007"]
    assert status.splitlines()[1].endswith("unrecorded (last recorded: 1.2.0)")
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("CHAIN_BROKEN", "CR-2026-0006"),
        ("UNRECORDED_MERGE", "CR-2026-0005"),
        ("UNRECORDED_MERGE", "CR-2026-0007"),
    ]


def test_record_moved_to_another_commit(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert recorded(history, capsys) == 0
    message = json.dumps(
        tag_message(history, "CR-2026-0006"), sort_keys=True, separators=(",", ":")
    )
    replace_tag(history, "CR-2026-0006", history.merges[0].sha, message)
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("RECORD_MOVED", "CR-2026-0006"),
        ("UNRECORDED_MERGE", "CR-2026-0006"),
    ]


def resign(history: GovernedHistory, change_id: str, key: Ed25519PrivateKey) -> None:
    envelope = parse_envelope(json.dumps(tag_message(history, change_id)))
    forged = sign(envelope.payload, key, keyid_of(key.public_key()))
    target = history.git("rev-parse", f"promotion/{change_id}^{{commit}}")
    replace_tag(history, change_id, target, forged.to_json())


def test_foreign_key(history: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    resign(history, "CR-2026-0005", Ed25519PrivateKey.generate())
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("UNRECORDED_MERGE", "CR-2026-0005"),
        ("UNTRUSTED_KEY", "CR-2026-0005"),
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("      revoked: true\n", "KEY_REVOKED"),
        ('      not_after: "2026-01-01T00:00:00Z"\n', "KEY_EXPIRED"),
        ('      not_before: "2027-01-01T00:00:00Z"\n', "KEY_EXPIRED"),
    ],
)
def test_revoked_or_expired_key(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], change: str, code: str
) -> None:
    """The window or revocation arrives through an approved, recorded governance merge; it then
    applies to every record the key signed, the governance record's own included."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    text = history.policy_text().replace("      public_key: |\n", change + "      public_key: |\n")
    merge = history.governance("Governance: retire the signing key", {".promotion/policy.yaml": text})
    # `record` refuses a key the policy has retired; a recorder that ignores it signs anyway
    assert recorded(history, capsys) == 2
    assert history.record_ignoring_key_trust() == 0
    exit_code, report = audit_json(capsys, history)
    assert exit_code == 1
    gov = f"GOV-{merge.sha[:12]}"
    assert codes(report) == sorted([
        (code, "CR-2026-0005"), (code, gov),
        ("UNRECORDED_GOVERNANCE", gov), ("UNRECORDED_MERGE", "CR-2026-0005"),
    ])


def test_rewritten_main(history: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    # main is rewritten: the same change lands again as a new (unrecorded) commit
    history.git("reset", "-q", "--hard", "HEAD~1")
    history.git("merge", "-q", "--no-ff", "promote/CR-2026-0005", "-m", "Merge again")
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("NOT_ON_MAIN", "CR-2026-0005"),
        ("UNRECORDED_MERGE", "CR-2026-0005"),
    ]


def test_lightweight_tag_is_malformed(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.git("tag", "promotion/CR-2026-0005", merge.sha)
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("MALFORMED_RECORD", "CR-2026-0005"),
        ("UNRECORDED_MERGE", "CR-2026-0005"),
    ]


def test_merge_without_approvals_is_recorded_as_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", approvers=("rita",))
    code, out = run(capsys, *history.record_args())
    assert code == 1
    assert "policy violation" in out and "administrator" in out
    code, report = audit_json(capsys, history)
    assert codes(report) == [("POLICY_VIOLATION", "CR-2026-0005")]
    assert report["entries"][0]["state"] == "violation"


def test_failed_checks_are_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", checks_pass=False)
    code, out = run(capsys, *history.record_args())
    assert code == 1
    assert "required check rules-lint: failed" in out


def test_reevaluation_catches_a_record_that_claims_approval(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A (trusted) recorder bug or a stolen key writes 'approved' for an unapproved merge:
    re-running the decision from the embedded snapshot disagrees."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", approvers=("rita",))
    assert recorded(history, capsys) == 1
    envelope = parse_envelope(json.dumps(tag_message(history, "CR-2026-0005")))
    statement = json.loads(envelope.payload)
    statement["predicate"]["decision"].update(approved=True, violations=[], summary="approved")
    from promotion_bot.core.keys import load_private_key

    identity = load_private_key(history.key.private_pem, "test")
    forged = sign(statement_bytes(statement), identity.private_key, identity.keyid)
    replace_tag(history, "CR-2026-0005", history.merges[0].sha, forged.to_json())
    code, report = audit_json(capsys, history)
    assert code == 1
    [finding] = report["findings"]
    assert finding["code"] == "POLICY_VIOLATION"
    assert "re-evaluating its snapshot" in finding["message"]
    assert "administrator" in finding["message"]


def test_audit_without_trusted_keys_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = GovernedHistory.create(tmp_path)
    policy = history.root / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().split("\nsigning:")[0] + "\n")
    history.git("commit", "-q", "--amend", "-am", "Adopted without keys")
    code, out = run(capsys, "audit", "--repo", str(history.root))
    assert code == 2
    assert "no trusted keys" in out


def test_dropping_the_keys_with_a_push_does_not_drop_trust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = GovernedHistory.create(tmp_path)
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    policy = history.root / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().split("\nsigning:")[0] + "\n")
    history.git("commit", "-qam", "Drop the keys")  # pushed past the rulesets
    code, report = audit_json(capsys, history)
    assert code == 1
    gov = f"GOV-{history.rev('HEAD')[:12]}"
    assert codes(report) == [("UNRECORDED_GOVERNANCE", gov), ("UNTRUSTED_KEY_CHANGE", None)]
    assert report["trusted_keys"][0].startswith(history.key.keyid)


def test_a_tag_named_after_another_change_request(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    message = json.dumps(tag_message(history, "CR-2026-0005"))
    replace_tag(history, "CR-2026-0099", merge.sha, message)
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [("RECORD_NAME_MISMATCH", "CR-2026-0005")]
    assert report["findings"][0]["tag"] == "promotion/CR-2026-0099"


def test_a_change_id_merged_twice(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    history.git("rm", "-q", "change-requests/CR-2026-0005.yaml")
    history.git("commit", "-qm", "Remove a merged change request")
    history.git("checkout", "-q", "HEAD~1", "--", "change-requests/CR-2026-0005.yaml")
    history.git("commit", "-qm", "Add it again")
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [
        ("CHANGE_REQUEST_EDITED", "CR-2026-0005"),  # deleted after its merge
        ("DUPLICATE_CHANGE_ID", "CR-2026-0005"),
    ]


def test_undeclared_change_on_main(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", "{}\n")
    history.git("commit", "-qam", "Quick fix")
    code, report = audit_json(capsys, history)
    assert code == 1
    [finding] = report["findings"]
    assert finding["code"] == "UNDECLARED_CHANGE"
    assert "configs/routing_tables/routing_rules_v1.1.0.json" in finding["message"]


@pytest.mark.parametrize(
    ("old", "new", "findings"),
    [
        ("max_tokens: 256", "max_tokens: 512", []),  # not a governed key
        ("provider: ollama", "provider: openai", ["UNDECLARED_CHANGE"]),
    ],
)
def test_governed_keys_changed_on_main_without_a_change_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, findings: list[str]
) -> None:
    def govern_model_keys(policy: str) -> str:
        return policy.replace(
            '    paths: ["configs/models/**"]\n',
            '    keys:\n      - files: ["configs/models/*.yaml"]\n'
            "        keys: [identifier, provider, endpoint]\n",
        )

    history = GovernedHistory.create(tmp_path, edit_policy=govern_model_keys)
    config = history.root / "configs/models/classifier.yaml"
    history.write("configs/models/classifier.yaml", config.read_text().replace(old, new))
    history.git("commit", "-qam", "Edit the model config on main")
    _, report = audit_json(capsys, history)
    assert [f["code"] for f in report["findings"]] == findings
    if findings:
        assert "configs/models/classifier.yaml" in report["findings"][0]["message"]


def test_stale_version_and_unknown_rollback(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.0.0")  # raced with CR-2026-0005
    history.ruleset("CR-2026-0007", "1.0.0", "1.2.0", rollback_of="CR-2026-0001")
    recorded(history, capsys)
    code, report = audit_json(capsys, history)
    assert code == 1
    found = {(f["code"], f["change_id"]) for f in report["findings"]}
    assert ("STALE_VERSION", "CR-2026-0006") in found
    assert ("ROLLBACK_TARGET_UNKNOWN", "CR-2026-0007") not in found  # a bootstrap promotion
    messages = [f["message"] for f in report["findings"] if f["code"] == "STALE_VERSION"]
    assert messages == [
        "CR-2026-0006 moves routing-rules from 1.0.0, but 1.1.0 was promoted before"
    ]


def test_an_unreadable_policy_on_main_is_a_finding_not_a_way_out(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Break the policy, push a hotfix straight to main, restore the policy: the audit must
    still see the hotfix, and record must keep working afterwards."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    policy = history.root / ".promotion/policy.yaml"
    good = policy.read_text()
    policy.write_text(good + "version: 1\n")  # a duplicate key: unreadable
    history.git("commit", "-qam", "break the policy")
    history.direct_push("6.6.6")
    policy.write_text(good)
    history.git("commit", "-qam", "restore the policy")
    assert recorded(history, capsys) == 1  # the hotfix is recorded, as a violation
    code, report = audit_json(capsys, history)
    assert code == 1
    found = [code for code, _ in codes(report)]
    assert found.count("POLICY_UNREADABLE") == 2  # the bases of the hotfix and of the restore
    assert "POLICY_VIOLATION" in found
    history.git("commit", "-q", "--allow-empty", "-m", "later")
    assert recorded(history, capsys) == 0  # nothing left to record, and no error


def test_an_expired_key_cannot_backdate_a_record(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key expired before the merge; the record claims an earlier merged_at."""
    from promotion_bot.core.keys import load_private_key

    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    merge = history.merges[-1].sha
    envelope = parse_envelope(json.dumps(tag_message(history, "CR-2026-0005")))
    statement = json.loads(envelope.payload)
    statement["predicate"]["merge"]["merged_at"] = "2025-06-01T00:00:00Z"  # backdated
    identity = load_private_key(history.key.private_pem, "test")
    forged = sign(statement_bytes(statement), identity.private_key, identity.keyid)
    replace_tag(history, "CR-2026-0005", merge, forged.to_json())
    text = history.policy_text().replace(
        "      public_key: |\n", '      not_after: "2026-01-01T00:00:00Z"\n      public_key: |\n')
    history.governance("Governance: the key expired at the end of 2025", {".promotion/policy.yaml": text})
    assert history.record_ignoring_key_trust() == 0  # record would refuse the expired key
    code, report = audit_json(capsys, history)
    assert code == 1
    assert ("KEY_EXPIRED", "CR-2026-0005") in codes(report)


def test_every_finding_code_is_documented() -> None:
    """docs/records.md's table of finding codes and the audit's codes are the same set."""
    from promotion_bot.core.audit import FINDINGS

    docs = (Path(__file__).resolve().parents[2] / "docs/records.md").read_text()
    table = docs.split("## Finding codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert documented == set(FINDINGS)


def _keys_file(history: GovernedHistory, *keys: GeneratedKey) -> str:
    path = history.root.parent / "out-of-band-keys.yaml"
    entries = [policy_entry(k.keyid, k.public_pem, None).split("  keys:\n", 1)[1] for k in keys]
    path.write_text("keys:\n" + "".join(entries))
    return str(path)


def test_trusted_keys_received_out_of_band_restrict_the_anchor(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history rewritten from its first commit brings its own anchor (the policy's key);
    keys received out of band replace it instead of only adding to it."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    other = generate_key()
    code, out = run(capsys, "audit", "--repo", str(history.root), "--format", "json",
                    "--trusted-keys", _keys_file(history, other))
    assert code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} >= {"UNTRUSTED_KEY"}
    code, out = run(capsys, "verify", "--repo", str(history.root), "--commit", "HEAD",
                    "--trusted-keys", _keys_file(history, other))
    assert code == 1, out
    code, out = run(capsys, "audit", "--repo", str(history.root),
                    "--trusted-keys", _keys_file(history, history.key))
    assert code == 0, out


def test_narrowing_the_governed_paths_by_direct_push_does_not_hide_a_later_undeclared_change(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert recorded(history, capsys) == 0
    policy = history.root / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace('paths: ["configs/routing_tables/**"]',
                                                 'paths: ["configs/routing_tables/none/**"]'))
    history.git("commit", "-qam", "policy tweak (direct push)")
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", '{"rules": "unreviewed"}\n')
    history.write("configs/routing_tables/routing_rules_v6.6.6.json", '{"rules": "evil"}\n')
    history.git("add", "-A")
    history.git("commit", "-qm", "rewrite the rulesets (direct push)")
    code, report = audit_json(capsys, history)
    assert code == 1
    undeclared = [f for f in report["findings"] if f["code"] == "UNDECLARED_CHANGE"]
    assert [f["commit"] for f in undeclared] == [history.rev("HEAD")]
    assert "routing_rules_v1.1.0.json" in undeclared[0]["message"]
    assert "routing_rules_v6.6.6.json" in undeclared[0]["message"]
    assert "UNRECORDED_GOVERNANCE" in {f["code"] for f in report["findings"]}


def test_an_unreadable_change_request_on_main_is_a_finding(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write("change-requests/CR-2026-0100.yaml", "change_id: CR-2026-0100\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "junk change request (direct push)")
    code, report = audit_json(capsys, history)
    assert code == 1
    [finding] = report["findings"]
    assert finding["code"] == "INVALID_CHANGE_REQUEST"
    assert finding["message"].startswith(
        f"{history.rev('HEAD')[:12]} adds change-requests/CR-2026-0100.yaml, which is not a valid "
        "change request: change-requests/CR-2026-0100.yaml:1:1: missing required key"
    )


def test_reverting_an_approved_rollback_by_direct_push_is_found(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert recorded(history, capsys) == 0
    history.ruleset("CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006",
                    remove=("configs/routing_tables/routing_rules_v1.2.0.json",))
    assert recorded(history, capsys) == 0
    history.git("revert", "--no-edit", "-m", "1", "HEAD")
    code, report = audit_json(capsys, history)
    assert code == 1
    assert codes(report) == [("CHANGE_REQUEST_EDITED", "CR-2026-0007"),
                             ("UNDECLARED_CHANGE", None)]
