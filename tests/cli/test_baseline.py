"""The adoption baseline on a repository with a year of history: `baseline` proposes and
checks it, `record` signs it, and verify, status, audit, check and new start from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.core.dsse import parse_envelope
from promotion_bot.core.keys import policy_entry
from tests.ledger_repo import EXAMPLE, GovernedHistory

POLICY = (EXAMPLE / ".promotion/policy.yaml").read_text()

BASELINE = """\
baseline_version: 1
targets:
  - target: routing-rules
    change_type: ruleset
    version: "1.4.1"
    artifacts: [configs/routing_tables/routing_rules_v1.0.0.json]
  - target: classifier
    change_type: model
    version: "2.0.0"
    artifacts: [configs/models/classifier.yaml]
  - target: classify-prompt
    change_type: prompt
    version: "3.1.0"
    artifacts: [prompts/classify_prompt.md]
  - target: reply-templates
    change_type: template
    version: "2025.12"
    artifacts: [templates/replies/acknowledgement.md, templates/privacy/gdpr_access_response.md]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def history(tmp_path: Path) -> GovernedHistory:
    return GovernedHistory.unadopted(tmp_path)


@pytest.fixture
def adopted(history: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> GovernedHistory:
    history.adopt(BASELINE)
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    return history


def test_without_a_baseline_verify_refuses_every_live_file(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The problem the baseline solves: after an adoption without one, nothing live is covered."""
    merge = history.governance("Adopt promotion-bot", {".promotion/policy.yaml": POLICY + "\n" + policy_entry(history.key.keyid, history.key.public_pem, None)})
    assert merge.sha
    code, out = run(capsys, "verify", "--repo", str(history.root), "--commit", "main", "--base", "main")
    assert code == 1
    assert "refused: 5 of 5 governed file(s)" in out


def test_baseline_propose_and_check(history: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    history.write(".promotion/policy.yaml", POLICY)
    code, proposal = run(capsys, "baseline", "--repo", str(history.root), "--propose")
    assert code == 0
    assert "  - target: ruleset\n    change_type: ruleset\n" in proposal
    assert "      - configs/routing_tables/routing_rules_v1.0.0.json\n" in proposal
    assert proposal.count("QUESTION: which version") == 4
    history.write(".promotion/baseline.yaml", proposal)
    code, out = run(capsys, "baseline", "--repo", str(history.root))
    assert code == 1
    assert out.splitlines()[0] == (
        '.promotion/baseline.yaml:8:14: targets[0].version: must not be empty (the version live '
        'today, quoted: version: "1.4.1")'
    )
    history.write(".promotion/baseline.yaml", BASELINE.replace(", templates/privacy/gdpr_access_response.md", ""))
    code, out = run(capsys, "baseline", "--repo", str(history.root))
    assert code == 1
    assert "templates/privacy/gdpr_access_response.md is governed but in no target" in out
    history.write(".promotion/baseline.yaml", BASELINE)
    code, out = run(capsys, "baseline", "--repo", str(history.root))
    assert code == 0, out
    assert "ok: 4 target(s)" in out


def test_the_adoption_is_signed_as_the_baseline(adopted: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    [tag] = adopted.git("tag", "--list", "promotion/*").split()
    merge = adopted.merges[-1]
    assert tag == f"promotion/BASELINE-{merge.sha[:12]}"
    message = adopted.git("cat-file", "tag", tag).split("\n\n", 1)[1]
    statement = json.loads(parse_envelope(message).payload)
    assert statement["predicateType"] == "https://promotion-bot.dev/baseline-record/v1"
    predicate = statement["predicate"]
    assert [(t["target"], t["version"]) for t in predicate["targets"]] == [
        ("routing-rules", "1.4.1"), ("classifier", "2.0.0"), ("classify-prompt", "3.1.0"), ("reply-templates", "2025.12"),
    ]
    assert predicate["decision"]["approved"] is True
    assert [(a["login"], a["role"]) for a in predicate["decision"]["approvals"]] == [("adam", "administrator")]
    assert predicate["trust_anchor"] == [adopted.key.keyid]
    assert len(statement["subject"]) == 5


def test_verify_status_and_audit_start_from_the_baseline(adopted: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(adopted.root)
    code, out = run(capsys, "verify", "--repo", root, "--commit", "main", "--base", "main")
    assert code == 0, out
    assert "ok: all 5 governed file(s)" in out
    code, out = run(capsys, "status", "--repo", root, "--format", "json")
    assert code == 0
    versions = {t["target"]: (t["version"], t["state"]) for t in json.loads(out)["targets"]}
    assert versions == {
        "routing-rules": ("1.4.1", "recorded"), "classifier": ("2.0.0", "recorded"),
        "classify-prompt": ("3.1.0", "recorded"), "reply-templates": ("2025.12", "recorded"),
    }
    code, out = run(capsys, "audit", "--repo", root, "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["summary"]["ungoverned_commits"] == 12 and report["summary"]["baselines"] == 4


def test_the_first_change_request_after_the_baseline_declares_the_baselined_version(
    adopted: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(adopted.root)
    adopted.git("checkout", "-q", "-b", "promote/next", "main")
    path = "configs/routing_tables/routing_rules_v1.5.0.json"
    adopted.write(path, json.dumps({"version": "1.5.0", "rules": []}) + "\n")
    adopted.git("add", path)
    code, out = run(capsys, "new", "--repo", root, "--type", "ruleset", "--target", "routing-rules",
                    "--title", "Routing rules 1.5.0", "--proposed", "1.5.0", "--stdout", path)
    assert code == 0, out
    assert 'current_version: "1.4.1"' in out
    adopted.git("reset", "-q", "--hard")
    adopted.git("checkout", "-q", "main")
    adopted.git("branch", "-q", "-D", "promote/next")
    adopted.ruleset("CR-2026-0001", "1.5.0", "1.4.1")
    code, out = run(capsys, *adopted.record_args())
    assert code == 0, out
    code, out = run(capsys, "audit", "--repo", root)
    assert code == 0, out
    assert re.search(r"CR-2026-0001\s+routing-rules\s+1\.4\.1 -> 1\.5\.0", out)
    code, out = run(capsys, "verify", "--repo", root, "--commit", "main", "--base", "main")
    assert code == 0, out
    code, out = run(capsys, "status", "--repo", root)
    assert "routing-rules    ruleset   1.5.0    CR-2026-0001" in out


def test_a_stale_first_change_request_is_a_finding(adopted: GovernedHistory, capsys: pytest.CaptureFixture[str]) -> None:
    adopted.ruleset("CR-2026-0001", "1.5.0", None)  # "never promoted": but 1.4.1 is live
    assert run(capsys, *adopted.record_args())[0] == 0
    code, out = run(capsys, "audit", "--repo", str(adopted.root), "--format", "json")
    assert code == 1
    assert [(f["code"], f["change_id"]) for f in json.loads(out)["findings"]] == [("STALE_VERSION", "CR-2026-0001")]
