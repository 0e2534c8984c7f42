"""`promotion-bot verify --commit SHA`: the deployment gate refuses what no valid record covers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from tests.ledger_repo import GovernedHistory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GovernedHistory:
    made = GovernedHistory.create(tmp_path, adopt=True)
    made.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert run(capsys, *made.record_args())[0] == 0
    return made


def verify(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    return run(capsys, "verify", "--repo", str(history.root), "--commit", "HEAD", *extra)


def test_every_governed_file_covered(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(history, capsys, "--base", "main")
    assert code == 0
    assert out.startswith("ok: all 6 governed file(s)")


def test_refuses_an_artifact_without_a_record(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write("templates/replies/new_reply.md", "Hello {{ name }}\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "Add a template without a change request")
    code, out = verify(history, capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        "NOT COVERED templates/replies/new_reply.md: no valid promotion record lists this file"
    )
    assert "refused: 1 of 7 governed file(s)" in out


def test_refuses_an_artifact_whose_bytes_differ(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", '{"edited": true}\n')
    history.git("commit", "-qam", "Quick fix on main")
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1
    [item] = json.loads(out)["uncovered"]
    assert item["path"] == "configs/routing_tables/routing_rules_v1.1.0.json"
    assert "differ from CR-2026-0005's record" in item["reason"]


def test_refuses_an_artifact_covered_only_by_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.direct_push("9.9.9")
    assert run(capsys, *history.record_args())[0] == 1
    code, out = verify(history, capsys)
    assert code == 1
    assert "routing_rules_v9.9.9.json: its newest record" in out
    assert "is a policy violation: no pull request" in out


def test_refuses_when_the_record_was_tampered(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.git("tag", "-d", "promotion/CR-2026-0005")
    history.git("tag", "-a", "-m", "{}", "promotion/CR-2026-0005", history.merges[-1].sha)
    code, out = verify(history, capsys)
    assert code == 1
    assert "routing_rules_v1.1.0.json: no valid promotion record lists this file" in out


def test_refuses_a_commit_that_is_not_on_main(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.git("checkout", "-q", "-b", "side")
    history.git("commit", "-q", "--allow-empty", "-m", "side")
    code, out = verify(history, capsys, "--base", "main")
    assert code == 1
    assert "is not on the first-parent history of main" in out


def test_unknown_commit_is_a_usage_error(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "verify", "--repo", str(history.root), "--commit", "nope")
    assert code == 2
    assert "'nope' is not a commit" in out and "Traceback" not in out


def test_a_branch_that_narrows_the_governed_paths_is_refused_by_default(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deployed commit never says what is governed or which keys sign: main does."""
    history.git("checkout", "-q", "-b", "evil")
    policy = history.root / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace('paths: ["configs/routing_tables/**"]',
                                                 'paths: ["configs/routing_tables/none/**"]'))
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", '{"rules": "unreviewed"}\n')
    history.git("add", "-A")
    history.git("commit", "-q", "-m", "narrow the governed paths and rewrite a ruleset")
    code, out = verify(history, capsys)  # no --main: main is the default
    assert code == 1
    assert "is not on the first-parent history of main" in out


def test_without_a_main_branch_verify_asks_for_one(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.git("branch", "-m", "main", "trunk")
    code, out = verify(history, capsys)
    assert code == 2
    assert "pass --base BRANCH" in out


def test_refuses_a_direct_push_that_deletes_a_governed_artifact(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every remaining file is covered, but the deployed set is not what the records promoted."""
    history.git("rm", "-q", "configs/routing_tables/routing_rules_v1.1.0.json")
    history.git("commit", "-qm", "Remove a ruleset on main, no pull request")
    deleter = history.rev("HEAD")
    code, out = verify(history, capsys)
    assert code == 1, out
    assert out.splitlines()[0] == (
        "NOT COVERED configs/routing_tables/routing_rules_v1.1.0.json: CR-2026-0005 promoted it, "
        f"and {deleter[:12]} deleted it without a valid, approved promotion record: the governed "
        "files differ from what the records promoted"
    )
    assert "refused: 1 of 5 governed file(s)" in out


def test_a_deletion_that_an_approved_promotion_merged_is_deployable(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pull request of 1.2.0 removes 1.0.0: approved and recorded, so it is deployable."""
    history.ruleset(
        "CR-2026-0006", "1.2.0", "1.1.0",
        remove=("configs/routing_tables/routing_rules_v1.0.0.json",),
    )
    assert run(capsys, *history.record_args())[0] == 0
    code, out = verify(history, capsys)
    assert code == 0, out
    assert out.startswith("ok: all 6 governed file(s)")


def test_a_deletion_outside_the_promotions_merge_is_refused(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same deletion fast-forwarded onto main before the next promotion: no record covers
    the commit that deleted it, even though a later promotion is approved."""
    history.git("checkout", "-q", "-b", "drop-old", "main")
    history.git("rm", "-q", "configs/routing_tables/routing_rules_v1.0.0.json")
    history.git("commit", "-qm", "Drop 1.0.0")
    history.git("checkout", "-q", "main")
    history.git("merge", "-q", "--ff-only", "drop-old")
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    assert run(capsys, *history.record_args())[0] == 0
    code, out = verify(history, capsys)
    assert code == 1
    assert "routing_rules_v1.0.0.json: CR-2026-0001 promoted it, and " in out


def test_refuses_a_state_that_rests_on_a_stale_promotion(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two pull requests promote routing-rules from 1.1.0; both are approved and recorded."""
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset("CR-2026-0007", "1.3.0", "1.1.0")
    assert run(capsys, *history.record_args())[0] == 0
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    [item] = json.loads(out)["uncovered"]
    assert item["path"] == "configs/routing_tables/routing_rules_v1.3.0.json"
    assert item["reason"].startswith(
        "it rests on CR-2026-0007, a stale promotion (CR-2026-0007 moves routing-rules from "
        "1.1.0, but 1.2.0 was promoted before)"
    )


def test_a_junk_tag_does_not_stop_verify_of_a_covered_commit(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key is needed to push a tag; no tag may stop a deploy."""
    history.git("tag", "-a", "-m", '{"payload":"' + "[" * 1000 + '"}', "promotion/junk", "HEAD")
    code, out = verify(history, capsys)
    assert code == 0, out
    assert out.startswith("ok: all 6 governed file(s)")


# --- keys a change type governs inside a file ------------------------------------------------

MODEL_CONFIG = "configs/models/classifier.yaml"


def govern_model_keys(policy: str) -> str:
    """The model change type governs only the model keys of its configs, not whole files."""
    old = '    paths: ["configs/models/**"]\n'
    assert old in policy
    return policy.replace(
        old,
        '    keys:\n      - files: ["configs/models/*.yaml"]\n'
        "        keys: [identifier, provider, endpoint]\n",
    )


@pytest.fixture
def key_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GovernedHistory:
    made = GovernedHistory.create(tmp_path, adopt=True, edit_policy=govern_model_keys)
    assert run(capsys, *made.record_args())[0] == 0
    return made


def edit_on_main(history: GovernedHistory, old: str, new: str) -> None:
    text = (history.root / MODEL_CONFIG).read_text()
    assert old in text
    history.write(MODEL_CONFIG, text.replace(old, new))
    history.git("commit", "-qam", "Edit the model config on main")


def test_a_key_governed_file_whose_other_keys_changed_is_covered(
    key_history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_on_main(key_history, "max_tokens: 256", "max_tokens: 512")
    code, out = verify(key_history, capsys, "--base", "main")
    assert code == 0, out
    assert out.startswith("ok: all 5 governed file(s)")


def test_a_key_governed_file_whose_governed_key_changed_is_refused(
    key_history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_on_main(key_history, "endpoint: http://127.0.0.1:11434", "endpoint: https://llm.example.com")
    code, out = verify(key_history, capsys, "--base", "main")
    assert code == 1
    assert out.splitlines()[0] == (
        f"NOT COVERED {MODEL_CONFIG}: its governed keys differ from CR-2026-0002's record: "
        'endpoint changed from "http://127.0.0.1:11434" to "https://llm.example.com"'
    )


def test_a_new_file_with_governed_keys_and_no_record_is_refused(
    key_history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    key_history.write("configs/models/shadow.yaml", "provider: openai\nnote: x\n")
    key_history.git("add", "-A")
    key_history.git("commit", "-qm", "A second model config, pushed to main")
    code, out = verify(key_history, capsys, "--base", "main")
    assert code == 1
    assert (
        "NOT COVERED configs/models/shadow.yaml: no valid promotion record lists this file, "
        "but it holds governed keys (provider)"
    ) in out
