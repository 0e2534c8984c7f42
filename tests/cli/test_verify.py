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
    """Adopted, one promotion, recorded (recorded once per worker, then copied)."""

    def build(base: Path) -> GovernedHistory:
        made = GovernedHistory.create(base, adopt=True)
        made.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
        assert run(capsys, *made.record_args())[0] == 0
        return made

    return GovernedHistory.built_once("test_verify.history", tmp_path, build)


def verify(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    return run(capsys, "verify", "--repo", str(history.root), "--commit", "HEAD", *extra)


def test_every_governed_file_covered(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(history, capsys, "--base", "main")
    assert code == 0
    assert out.startswith("ok: all 11 governed file(s)")  # 6 artifacts, 5 change requests


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
    assert "refused: 1 of 12 governed file(s)" in out


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
    code, out = verify(history, capsys)  # no --base: main is the default
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
    assert "refused: 1 of 10 governed file(s)" in out


def test_a_deletion_that_an_approved_rollback_merged_is_deployable(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rollback of 1.2.0 removes its file: approved and recorded, so it is deployable
    (only a rollback may delete what the promotion it undoes added: record re-checks that)."""
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset(
        "CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006",
        remove=("configs/routing_tables/routing_rules_v1.2.0.json",),
    )
    assert run(capsys, *history.record_args())[0] == 0
    code, out = verify(history, capsys)
    assert code == 0, out
    assert out.startswith("ok: all 13 governed file(s)")  # 6 artifacts, 7 change requests


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
    assert out.startswith("ok: all 11 governed file(s)")


def _unmerged_commit_rewriting_a_ruleset(history: GovernedHistory) -> str:
    history.git("checkout", "-q", "-b", "evil", "main")
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", '{"rules": "unreviewed"}\n')
    history.git("commit", "-qam", "never reviewed, never merged")
    history.git("checkout", "-q", "main")
    return history.rev("evil")


@pytest.mark.parametrize(
    ("tag", "args", "code", "message"),
    [
        ("origin/main", [], 1, "is not on the first-parent history of origin/main"),
        ("main", ["--base", "refs/heads/main"], 1, "is not on the first-parent history of"),
        ("origin/main", ["--base", "origin/main"], 2,
         "'origin/main' is ambiguous here: it names refs/remotes/origin/main, "
         "refs/tags/origin/main"),
        ("main", ["--base", "main"], 2, "'main' is ambiguous here"),
        ("trunk", ["--base", "trunk"], 2, "'trunk' is a tag (refs/tags/trunk), not a branch"),
    ],
)
def test_a_tag_named_origin_main_does_not_replace_the_trusted_branch(
    history: GovernedHistory,
    capsys: pytest.CaptureFixture[str],
    tag: str,
    args: list[str],
    code: int,
    message: str,
) -> None:
    """git resolves refs/tags/<name> before branches: anyone who can push a tag could
    otherwise name an unmerged commit main."""
    history.git("update-ref", "refs/remotes/origin/main", "main")
    evil = _unmerged_commit_rewriting_a_ruleset(history)
    history.git("tag", tag, evil)
    got, out = run(capsys, "verify", "--repo", str(history.root), "--commit", evil, *args)
    assert (got, message in out) == (code, True), out
    assert "Traceback" not in out


def test_audit_refuses_a_ref_that_a_tag_makes_ambiguous(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.git("update-ref", "refs/remotes/origin/main", "main")
    history.git("tag", "origin/main", _unmerged_commit_rewriting_a_ruleset(history))
    code, out = run(capsys, "audit", "--repo", str(history.root), "--base", "origin/main")
    assert code == 2
    assert "'origin/main' is ambiguous here" in out
    code, out = run(
        capsys, "audit", "--repo", str(history.root), "--base", "refs/remotes/origin/main"
    )
    assert code == 0, out


def _narrow_the_ruleset_paths(history: GovernedHistory) -> None:
    policy = history.root / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace('paths: ["configs/routing_tables/**"]',
                                                 'paths: ["configs/routing_tables/none/**"]'))
    history.git("commit", "-qam", "policy tweak (direct push)")


def test_narrowing_the_governed_paths_on_main_does_not_hide_later_tampering(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Push 1 narrows the policy on main, push 2 rewrites a recorded ruleset, deletes another
    and adds an unreviewed one: files a valid record listed stay checked, and a narrowing
    without an approved record governs nothing less."""
    _narrow_the_ruleset_paths(history)
    history.write("configs/routing_tables/routing_rules_v1.1.0.json", '{"rules": "unreviewed"}\n')
    history.write("configs/routing_tables/routing_rules_v6.6.6.json", '{"rules": "evil"}\n')
    history.git("rm", "-q", "configs/routing_tables/routing_rules_v1.0.0.json")
    history.git("add", "-A")
    history.git("commit", "-qm", "rewrite the rulesets (direct push)")
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    refused = {item["path"]: item["reason"] for item in json.loads(out)["uncovered"]}
    assert sorted(refused) == [
        "configs/routing_tables/routing_rules_v1.0.0.json",
        "configs/routing_tables/routing_rules_v1.1.0.json",
        "configs/routing_tables/routing_rules_v6.6.6.json",
    ]
    assert "differ from CR-2026-0005's record" in refused[
        "configs/routing_tables/routing_rules_v1.1.0.json"]
    assert "deleted it without a valid, approved promotion record" in refused[
        "configs/routing_tables/routing_rules_v1.0.0.json"]


def test_reverting_an_approved_rollback_by_direct_push_is_refused(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """CR-6 promotes 1.2.0, the approved rollback CR-7 removes its file; `git revert` of the
    rollback pushed straight to main brings 1.2.0 back (its bytes are what CR-6 recorded)."""
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset(
        "CR-2026-0007", "1.1.0", "1.2.0", rollback_of="CR-2026-0006",
        remove=("configs/routing_tables/routing_rules_v1.2.0.json",),
    )
    assert run(capsys, *history.record_args())[0] == 0
    rollback = history.rev("HEAD")
    assert verify(history, capsys)[0] == 0
    history.git("revert", "--no-edit", "-m", "1", rollback)
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    refused = {item["path"]: item["reason"] for item in json.loads(out)["uncovered"]}
    assert refused["configs/routing_tables/routing_rules_v1.2.0.json"].startswith(
        f"CR-2026-0007 removed it in {rollback[:12]}, and it is back without a valid, approved "
        "record that promotes it"
    )
    assert "deleted it without a valid, approved promotion record" in refused[
        "change-requests/CR-2026-0007.yaml"]


def test_a_file_made_to_match_a_wrong_declared_hash_by_direct_push_is_refused(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = history.ruleset_declaring_other_bytes("CR-2026-0006", "1.2.0", "1.1.0")
    code, out = run(capsys, *history.record_args())
    assert code == 1, out  # record re-checks the hashes from git: a violation, not approved
    history.write("configs/routing_tables/routing_rules_v1.2.0.json", evil)
    history.git("commit", "-qam", "make the file what the record declares (direct push)")
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    [item] = json.loads(out)["uncovered"]
    assert item["path"] == "configs/routing_tables/routing_rules_v1.2.0.json"
    assert item["reason"].startswith("its newest record CR-2026-0006 is a policy violation")


def test_a_state_resting_on_a_record_the_audit_flags_is_refused_with_the_finding(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """An approved, recorded rollback that restores 1.0.0 although CR-6 replaced 1.1.0:
    every signature holds, but the audit says ROLLBACK_VERSION_MISMATCH; verify names it."""
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    history.ruleset("CR-2026-0007", "1.0.0", "1.2.0", rollback_of="CR-2026-0006")
    assert run(capsys, *history.record_args())[0] == 0
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    [item] = json.loads(out)["uncovered"]
    assert item["path"] == "configs/routing_tables/routing_rules_v1.0.0.json"
    assert item["reason"].startswith(
        "it rests on CR-2026-0007, whose record the audit does not accept "
        "(ROLLBACK_VERSION_MISMATCH: CR-2026-0007 rolls back CR-2026-0006 to 1.0.0"
    )


def test_a_copy_of_a_valid_record_pushed_as_another_tag_does_not_stop_a_deploy(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """RECORD_MOVED and RECORD_NAME_MISMATCH about a copied tag are the tag's findings, not
    the record's: pushing a tag needs no key, so it must not taint what is deployed."""
    message = history.git("tag", "-l", "--format=%(contents)", "promotion/CR-2026-0005")
    history.git("tag", "-a", "-m", message, "promotion/CR-2026-0005-copy", "HEAD~1")
    code, out = run(capsys, "audit", "--repo", str(history.root), "--format", "json")
    assert code == 1 and "RECORD_MOVED" in out
    code, out = verify(history, capsys)
    assert code == 0, out


@pytest.mark.parametrize(
    ("edit", "finding"),
    [
        ("bump", "CHANGE_REQUEST_EDITED"),
        ("junk", "CHANGE_REQUEST_EDITED"),
        ("delete", "CHANGE_REQUEST_EDITED"),
    ],
)
def test_a_merged_change_request_edited_on_main_is_refused(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], edit: str, finding: str
) -> None:
    path = "change-requests/CR-2026-0005.yaml"
    if edit == "bump":
        target = history.root / path
        target.write_text(target.read_text().replace('"1.1.0"', '"9.9.9"', 1))
    elif edit == "junk":
        history.write(path, "change_id: [\n")
    else:
        history.git("rm", "-q", path)
    history.git("commit", "-qam", "edit a merged change request (direct push)")
    code, out = verify(history, capsys, "--format", "json")
    assert code == 1, out
    [item] = json.loads(out)["uncovered"]
    assert item["path"] == path
    code, out = run(capsys, "audit", "--repo", str(history.root), "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == [finding]


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
    """Adopted with key-governed model configs, recorded (once per worker, then copied)."""

    def build(base: Path) -> GovernedHistory:
        made = GovernedHistory.create(base, adopt=True, edit_policy=govern_model_keys)
        assert run(capsys, *made.record_args())[0] == 0
        return made

    return GovernedHistory.built_once("test_verify.key_history", tmp_path, build)


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
    assert out.startswith("ok: all 9 governed file(s)")  # 5 artifacts and 4 change requests


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


def test_narrowing_the_governed_keys_by_direct_push_does_not_hide_a_later_key_change(
    key_history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Push 1 drops `endpoint` from the keys the model change type governs, push 2 points the
    model at an external host: a key watch leaves governance only through an approved record,
    as governed paths do."""
    policy = key_history.root / ".promotion/policy.yaml"
    text = policy.read_text()
    assert "keys: [identifier, provider, endpoint]" in text
    policy.write_text(text.replace("keys: [identifier, provider, endpoint]",
                                   "keys: [identifier, provider]"))
    key_history.git("commit", "-qam", "policy tweak (direct push)")
    edit_on_main(key_history, "endpoint: http://127.0.0.1:11434", "endpoint: https://llm.example.com")
    code, out = verify(key_history, capsys, "--base", "main")
    assert code == 1, out
    assert (
        f"NOT COVERED {MODEL_CONFIG}: its governed keys differ from CR-2026-0002's record: "
        'endpoint changed from "http://127.0.0.1:11434" to "https://llm.example.com"'
    ) in out


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


@pytest.mark.parametrize("named", ["refs/heads", "refs/remotes"])
def test_a_branch_named_like_the_commit_does_not_replace_its_history(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], named: str
) -> None:
    """The commit is judged on its own first-parent history, the beginning of main's: a ref
    named like its id (git takes a full id for the object; a branch lookup would take the
    ref) pointing before the promotion it undoes must not make its state look covered."""
    promoted = history.rev("main")
    history.git("revert", "-m", "1", "--no-edit", promoted)  # a direct push undoing CR-2026-0005
    undone = history.rev("HEAD")
    history.write("NOTES.md", "notes\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "Notes")
    args = ("--commit", undone, "--base", "main")
    code, out = verify(history, capsys, *args)
    assert code == 1, out
    history.git("update-ref", f"{named}/{undone}", history.rev(f"{promoted}~1"))
    assert verify(history, capsys, *args) == (code, out)


@pytest.mark.parametrize(("base", "listings"), [("main", 1), (None, 2)])
def test_verify_reads_git_with_a_fixed_handful_of_processes(
    history: GovernedHistory, git_processes: list[tuple[str, ...]], base: str | None,
    listings: int,
) -> None:
    """The commit, main with the tags (origin/main, else main, found first without --base),
    main's history, its tags and files in two batches, the commit's tree and files; the
    commit's own ledger is the beginning of main's, read once."""
    from promotion_bot.adapters import git
    from promotion_bot.flows.verify import verify_commit

    git.toplevel(history.root)  # the command finds its repository first
    git_processes.clear()
    assert verify_commit(history.root, "HEAD", base, None).ok
    assert [args[0] for args in git_processes] == [
        "rev-parse", *["for-each-ref"] * listings, "log", "cat-file", "cat-file", "ls-tree",
        "cat-file",
    ]


def _uncovered_tip(history: GovernedHistory) -> tuple[str, str]:
    """main's tip adds a governed file no record lists; (the covered commit before, the tip)."""
    covered = history.rev("main")
    history.write("templates/replies/new_reply.md", "Hello {{ name }}\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "Add a template without a change request")
    return covered, history.rev("main")


@pytest.mark.parametrize(
    ("commit", "args"),
    [
        ("origin/main", []),  # the README's own `verify --commit origin/main`
        ("main", []),
        ("main", ["--base", "refs/heads/main"]),
        ("tip:12", ["--base", "main"]),  # the README's `verify --commit 17c85f3a1f6a`
        ("tip:7", ["--base", "main"]),
    ],
    ids=["origin-main", "main", "main-with-base", "short-id", "shortest-id"],
)
def test_a_tag_named_like_the_deployed_commit_does_not_stand_in_for_it(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], commit: str, args: list[str]
) -> None:
    """git takes refs/tags/<name> before the branch, and any ref before an abbreviated commit
    id: a tag pushed under the name production deploys (anyone who can push a tag can) on an
    older, covered commit would make verify judge that commit and say ok. Refused instead."""
    covered, tip = _uncovered_tip(history)
    history.git("update-ref", "refs/remotes/origin/main", tip)
    name = tip[: int(commit[4:])] if commit.startswith("tip:") else commit
    code, out = verify_named(history, capsys, name, *args)
    assert code == 1 and "NOT COVERED templates/replies/new_reply.md" in out, out
    history.git("tag", name, covered)
    code, out = verify_named(history, capsys, name, *args)
    assert code == 2, out
    assert f"{name!r} is ambiguous here" in out and "Traceback" not in out


def verify_named(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], commit: str, *extra: str
) -> tuple[int, str]:
    return run(capsys, "verify", "--repo", str(history.root), "--commit", commit, *extra)


@pytest.mark.parametrize("named", ["refs/heads", "refs/remotes"])
def test_a_branch_named_like_main_s_commit_does_not_replace_main(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], named: str
) -> None:
    """`--base <main's commit id>`: git reads a full id as the commit; a branch named like it
    (a mirror clone has one for every pushed branch) must not become main, or a commit that was
    never merged would pass as on main's history."""
    tip = history.rev("main")
    history.git("checkout", "-q", "-b", "never-merged", "main")
    history.write("NOTES.md", "ungoverned, never reviewed\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "never merged")
    unmerged = history.rev("HEAD")
    history.git("checkout", "-q", "main")
    args = ("--commit", unmerged, "--base", tip)
    code, out = verify(history, capsys, *args)
    assert code == 1 and "is not on the first-parent history of" in out, out
    history.git("update-ref", f"{named}/{tip}", unmerged)
    assert verify(history, capsys, *args) == (code, out)


def test_audit_of_main_s_commit_id_is_not_replaced_by_a_branch_named_like_it(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.direct_push("9.9.9")
    tip = history.rev("main")
    args = ("audit", "--repo", str(history.root), "--base", tip)
    code, out = run(capsys, *args)
    assert code == 1 and "UNRECORDED_MERGE" in out, out
    history.git("update-ref", f"refs/heads/{tip}", history.rev("main~1"))  # before the push
    assert run(capsys, *args) == (code, out)


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("annotated-copy-on-a-tree", 0),
        ("annotated-copy-on-a-blob", 0),
        ("annotated-copy-on-the-record", 0),
        ("lightweight-on-a-tree", 0),
        ("lightweight-on-a-blob", 0),
        ("lightweight-on-the-record", 0),
        ("leading-dash-name", 0),
        ("the-record-wrapped-in-a-tag", 1),
        ("the-record-moved-to-a-tree", 1),
    ],
)
def test_promotion_tags_on_what_is_not_a_commit(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tag: str, code: int
) -> None:
    """Tags are read with the files in one batch, each by the type git lists: a tag on a tree,
    a blob or another tag (pushing one needs no key) is never a valid record and never stops
    a deploy that valid records cover; the record itself moved onto one covers nothing."""
    real = "promotion/CR-2026-0005"
    message = history.git("tag", "-l", "--format=%(contents)", real)
    targets = {"tree": history.rev("HEAD^{tree}"), "blob": history.rev("HEAD:.promotion/policy.yaml"),
               "record": history.rev(f"refs/tags/{real}")}
    on = tag.rsplit("-", 1)[-1]
    if tag.startswith("annotated-copy"):
        history.git("tag", "-a", "-m", message, "promotion/CR-2026-0099", targets[on])
    elif tag.startswith("lightweight"):
        history.git("update-ref", "refs/tags/promotion/CR-2026-0099", targets[on])
    elif tag == "leading-dash-name":
        history.git("update-ref", "refs/tags/promotion/-CR-2026-0005", targets["record"])
    else:
        history.git("tag", "-d", real)
        target = targets["record"] if tag.endswith("tag") else targets["tree"]
        history.git("tag", "-a", "-m", message, real, target)
    got, out = verify(history, capsys)
    assert got == code, out
    if code:
        assert "routing_rules_v1.1.0.json: no valid promotion record lists this file" in out


@pytest.mark.parametrize("depth", [1, 2])
def test_a_shallow_clone_without_the_records_history_covers_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int
) -> None:
    """A shallow clone's history starts at its boundary, which adds every file: the records
    of the merges below it are not on that history, so what they list is not covered (nor
    what rests on them)."""
    clone = tmp_path / "shallow"
    history.git("clone", "-q", "--depth", str(depth), "--no-local", f"file://{history.root}",
                str(clone))
    history.git("-C", str(clone), "fetch", "-q", "--tags", "origin")
    code, out = run(capsys, "verify", "--repo", str(clone), "--commit", "HEAD")
    assert code == 1 and out.startswith("NOT COVERED"), out


@pytest.mark.parametrize(("missing", "code", "message"), [
    ("artifact", 1, "routing_rules_v1.2.0.json is missing"),
    ("policy", 2, "no readable .promotion/policy.yaml at"),
])
def test_a_blob_missing_from_the_clone_covers_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], missing: str, code: int,
    message: str,
) -> None:
    """The batch that reads the files answers `missing` for a blob the clone lacks: a recorded
    artifact without its bytes is not covered, and main without a readable policy says
    nothing is governed: refused."""
    history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")
    if missing == "policy":
        history.governance("comment the policy", {".promotion/policy.yaml":
                                                  history.policy_text() + "# reviewed\n"})
    assert run(capsys, *history.record_args())[0] == 0
    path = ("configs/routing_tables/routing_rules_v1.2.0.json" if missing == "artifact"
            else ".promotion/policy.yaml")
    blob = history.rev(f"HEAD:{path}")
    (history.root / ".git/objects" / blob[:2] / blob[2:]).unlink()
    got, out = verify(history, capsys)
    assert got == code and message in out, out
