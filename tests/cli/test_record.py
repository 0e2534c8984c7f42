"""`promotion-bot record`: catch-up, idempotency, violations, and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.core.governance import governance_id
from promotion_bot.core.keys import generate_key
from promotion_bot.core.records import parse_statement
from tests.conftest import git
from tests.ledger_repo import RULESET_CHECKS, GovernedHistory, Merge


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def statement(history: GovernedHistory, change_id: str) -> dict:
    raw = history.git("cat-file", "tag", f"promotion/{change_id}")
    envelope = json.loads(raw.split("\n\n", 1)[1])
    return json.loads(base64.b64decode(envelope["payload"]))


@pytest.fixture
def history(tmp_path: Path) -> GovernedHistory:
    return GovernedHistory.create(tmp_path)


def test_catches_up_after_a_cancelled_run_and_chains_the_records(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert run(capsys, *history.record_args())[0] == 0
    second = history.ruleset("CR-2026-0006", "1.2.0", "1.1.0")  # its run was cancelled
    third = history.ruleset("CR-2026-0007", "1.3.0", "1.2.0")
    code, out = run(capsys, *history.record_args())
    assert code == 0
    assert out.splitlines() == [
        f"created   promotion/CR-2026-0006 on {second.sha[:12]}: approved: rita (reviewer), "
        "adam (administrator)",
        f"created   promotion/CR-2026-0007 on {third.sha[:12]}: approved: rita (reviewer), "
        "adam (administrator)",
    ]
    assert [line.split()[1] for line in out.splitlines()] == [
        "promotion/CR-2026-0006",
        "promotion/CR-2026-0007",
    ]
    assert history.git("rev-parse", "promotion/CR-2026-0007^{commit}") == third.sha
    previous = statement(history, "CR-2026-0007")["predicate"]["previous"]
    tag = history.git("cat-file", "tag", "promotion/CR-2026-0006").split("\n\n", 1)[1]
    six = parse_statement(base64.b64decode(json.loads(tag)["payload"]))
    assert previous == {
        "change_id": "CR-2026-0006",
        "merge_commit": second.sha,
        "statement_sha256": six.digest,
    }
    assert statement(history, "CR-2026-0005")["predicate"]["previous"] is None  # bootstrap


def test_running_again_changes_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert run(capsys, *history.record_args())[0] == 0
    before = history.git("for-each-ref", "refs/tags/promotion/")
    code, out = run(capsys, *history.record_args())
    assert code == 0
    assert out.strip() == "nothing to record: every merge on main is recorded"
    assert history.git("for-each-ref", "refs/tags/promotion/") == before


def test_the_record_says_what_happened(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert run(capsys, *history.record_args())[0] == 0
    data = statement(history, "CR-2026-0005")
    assert data["_type"] == "https://in-toto.io/Statement/v1"
    assert data["predicateType"] == "https://promotion-bot.dev/promotion-record/v1"
    [subject] = data["subject"]
    path = "configs/routing_tables/routing_rules_v1.1.0.json"
    assert subject["name"] == path
    assert (
        subject["digest"]["sha256"]
        == hashlib.sha256((history.root / path).read_bytes()).hexdigest()
    )
    predicate = data["predicate"]
    assert predicate["merge"]["commit"] == merge.sha
    assert predicate["merge"]["parent"] == merge.base
    assert predicate["merge"]["merged_by"] == "adam"
    assert predicate["pull_request"]["head_sha"] == merge.head
    assert predicate["pull_request"]["number"] == merge.number
    assert predicate["decision"]["approved"] is True
    assert [
        (a["login"], a["role"], a["commit_id"]) for a in predicate["decision"]["approvals"]
    ] == [
        ("rita", "reviewer", merge.head),
        ("adam", "administrator", merge.head),
    ]
    assert (
        predicate["snapshot"]["teams"]["example-org/promotion-admins"]["members"][0]["login"]
        == "adam"
    )
    assert predicate["evidence"]["result"] == "passed"
    assert predicate["policy"]["path"] == ".promotion/policy.yaml"
    assert predicate["codeowners"]["path"] == "CODEOWNERS"
    assert predicate["change_request"]["content"]["change_id"] == "CR-2026-0005"


def test_direct_push_is_recorded_as_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.direct_push("9.9.9")
    code, out = run(capsys, *history.record_args())
    assert code == 1
    assert "policy violation: no pull request" in out
    [tag] = history.git("tag", "-l", "promotion/*").splitlines()
    data = statement(history, tag.removeprefix("promotion/"))["predicate"]
    assert data["pull_request"] is None and data["decision"]["approved"] is False


def test_a_merge_that_changed_the_approved_tree_is_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merge queue (or an admin) merges something else than what was approved."""
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", merge=False)
    history.git("merge", "-q", "--no-ff", "--no-commit", "promote/CR-2026-0005")
    history.write("configs/routing_tables/routing_rules_v1.0.0.json", "{}\n")
    history.git("commit", "-qam", "Merge pull request (queue rewrote it)")
    merge.sha = history.rev("HEAD")
    history.write_snapshot(merge, ("rita", "adam"), title="x")
    code, out = run(capsys, *history.record_args())
    assert code == 1
    assert "the merged tree differs from the approved head on governed paths" in out
    assert "routing_rules_v1.0.0.json" in out


def test_squash_merge_needs_the_approved_head_in_the_clone(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", merge=False)
    history.git("merge", "-q", "--squash", "promote/CR-2026-0005")
    history.git("commit", "-qm", "Routing rules 1.1.0 (#101)")
    merge.sha = history.rev("HEAD")
    history.write_snapshot(merge, ("rita", "adam"), title="x")
    history.git("branch", "-q", "-D", "promote/CR-2026-0005")
    history.git("reflog", "expire", "--expire=now", "--all")
    history.git("gc", "-q", "--prune=now")
    code, out = run(capsys, *history.record_args())
    assert code == 2
    assert f"the approved head {merge.head[:12]} is not in this clone" in out
    assert history.git("tag", "-l", "promotion/*") == ""


def test_squash_merge_with_the_head_fetched_is_recorded(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", merge=False)
    history.git("merge", "-q", "--squash", "promote/CR-2026-0005")
    history.git("commit", "-qm", "Routing rules 1.1.0 (#101)")
    merge.sha = history.rev("HEAD")
    history.write_snapshot(merge, ("rita", "adam"), title="x")
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    code, _ = run(capsys, "audit", "--repo", str(history.root))
    assert code == 0


def test_without_a_key_nothing_is_written(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    args = [a for a in history.record_args() if a not in ("--key-file", str(history.key_file))]
    code, out = run(capsys, *args)
    assert code == 2
    assert "PROMOTION_BOT_SIGNING_KEY" in out


def test_key_from_the_environment_and_dry_run(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    monkeypatch.setenv("PROMOTION_BOT_SIGNING_KEY", history.key.private_pem.decode())
    args = [a for a in history.record_args() if a not in ("--key-file", str(history.key_file))]
    code, out = run(capsys, *args, "--dry-run", "--format", "json")
    assert code == 0
    [item] = json.loads(out)["records"]
    assert item["written"] == "dry-run" and item["approved"] is True
    assert history.git("tag", "-l") == ""


def test_bad_snapshot_is_a_configuration_error(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    (history.snapshots / "broken.json").write_text('{"snapshot_version": 1}')
    code, out = run(capsys, *history.record_args())
    assert code == 2
    assert "broken.json" in out and "Traceback" not in out


def test_push_to_a_remote(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    remote = tmp_path / "origin.git"
    history.git("init", "-q", "--bare", str(remote))
    history.git("remote", "add", "origin", str(remote))
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.git("push", "-q", "origin", "main")
    assert run(capsys, *history.record_args(), "--push", "origin")[0] == 0
    assert "refs/tags/promotion/CR-2026-0005" in history.git("ls-remote", "--tags", "origin")


def test_a_written_record_verifies_with_securesystemslib(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """An independent DSSE implementation (in-toto's) accepts the tag as written by record."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    from promotion_bot.core.keys import load_public_key

    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    assert run(capsys, *history.record_args())[0] == 0
    message = history.git("cat-file", "tag", "promotion/CR-2026-0005").split("\n\n", 1)[1]
    envelope = Envelope.from_dict(json.loads(message))
    key = SSlibKey.from_crypto(
        load_public_key(history.key.public_pem, "t"), keyid=history.key.keyid
    )
    assert list(envelope.verify([key], 1)) == [history.key.keyid]
    assert envelope.payload_type == "application/vnd.in-toto+json"
    assert json.loads(envelope.payload)["subject"][0]["name"].endswith("routing_rules_v1.1.0.json")


def test_without_a_source_of_pull_request_facts_it_refuses_and_writes_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    code, out = run(
        capsys, "record", "--repo", str(history.root), "--key-file", str(history.key_file)
    )
    assert code == 2  # records are permanent: a merge without facts must not be signed
    assert "record needs the facts of each merged pull request" in out
    assert git(history.root, "tag", "--list", "promotion/*") == ""


# --- the signing-key traps an adopter fell into ----------------------------------------------


def set_policy_key(history: GovernedHistory, **fields: str) -> None:
    """Change the trusted key's entry in the policy on main (a governance commit)."""
    policy = history.root / ".promotion/policy.yaml"
    text = policy.read_text()
    marker = f"    - keyid: {history.key.keyid}\n"
    extra = "".join(f"      {name}: {value}\n" for name, value in fields.items())
    policy.write_text(text.replace(marker, marker + extra))
    history.git("commit", "-qam", "policy: signing key entry")


def test_record_refuses_a_key_the_policy_does_not_trust_and_writes_nothing(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(generate_key().private_pem)
    args = [str(stranger) if a == str(history.key_file) else a for a in history.record_args()]
    code, out = run(capsys, *args)
    assert code == 2
    assert "is not trusted by the policy on HEAD" in out
    assert f"signing.keys: {history.key.keyid[:16]}" in out
    assert history.git("tag", "-l") == ""
    # with nothing left to record, an untrusted key is still refused: the run goes red now,
    # not at the next merge
    assert run(capsys, *history.record_args())[0] == 0
    assert run(capsys, *args)[0] == 2


def test_record_refuses_a_revoked_key(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    set_policy_key(history, revoked="true")
    code, out = run(capsys, *history.record_args())
    assert code == 2 and "is revoked in the policy" in out
    assert history.git("tag", "-l") == ""


def test_record_refuses_a_key_not_yet_valid_when_the_merge_happened(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")  # merged in March 2026
    set_policy_key(history, not_before='"2027-01-01T00:00:00Z"')
    code, out = run(capsys, *history.record_args())
    assert code == 2
    assert f"is not yet valid for the merge {merge.sha[:12]} (CR-2026-0005" in out
    assert history.git("tag", "-l") == ""


def test_record_without_a_git_identity_tags_as_promotion_bot(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh runner or container: git knows nobody and may not guess (useConfigOnly)."""
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    config = tmp_path / "nobody.gitconfig"
    config.write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME",
                 "GIT_AUTHOR_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    tagger = history.git("for-each-ref", "--format=%(taggername) %(taggeremail)",
                         "refs/tags/promotion/CR-2026-0005")
    assert tagger == "promotion-bot <promotion-bot@noreply.invalid>"


def test_record_keeps_the_identity_git_has(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "promo[bot]")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "promo[bot]@users.noreply.github.com")
    assert run(capsys, *history.record_args())[0] == 0
    tagger = history.git("for-each-ref", "--format=%(taggername)",
                         "refs/tags/promotion/CR-2026-0005")
    assert tagger == "promo[bot]"


def test_a_change_request_declaring_other_bytes_than_it_merges_is_recorded_as_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The evidence says passed (the checks job runs the pull request's own code); record
    re-checks the declared hashes against the merge from git."""
    history.ruleset_declaring_other_bytes("CR-2026-0005", "1.1.0", "1.0.0")
    code, out = run(capsys, *history.record_args())
    assert code == 1, out
    predicate = statement(history, "CR-2026-0005")["predicate"]
    assert predicate["decision"]["approved"] is False
    [violation] = predicate["decision"]["violations"]
    assert violation.startswith(
        "the change requests do not describe the merge: change-requests/CR-2026-0005.yaml:"
    )
    assert "sha256 of configs/routing_tables/routing_rules_v1.1.0.json" in violation


def test_a_merge_changing_a_governed_file_its_change_request_does_not_declare_is_a_violation(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    pending = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", merge=False)
    history.git("checkout", "-q", "promote/CR-2026-0005")
    history.write("templates/replies/acknowledgement.md", "Sneaked in with a ruleset.\n")
    history.git("commit", "-qam", "Sneak a template change")
    head = history.rev("HEAD")
    history.git("checkout", "-q", "main")
    history.git("merge", "-q", "--no-ff", "promote/CR-2026-0005", "-m", "Merge pull request #101")
    merged = Merge("CR-2026-0005", history.rev("HEAD"), head, pending.base, pending.number)
    history.write_snapshot(merged, ("rita", "adam", "pat"), title="Routing rules 1.1.0")
    history.write_evidence(merged, RULESET_CHECKS, passed=True)
    code, out = run(capsys, *history.record_args())
    assert code == 1, out
    violations = statement(history, "CR-2026-0005")["predicate"]["decision"]["violations"]
    assert any(
        "templates/replies/acknowledgement.md" in line and "declared by no change request" in line
        for line in violations
    ), violations


def test_an_unreadable_change_request_stops_only_its_own_merge(
    history: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A direct push adds change-requests/CR-2026-0100.yaml with only `change_id:`; the next
    pull request is still recorded, and the run after that has nothing left to report."""
    history.write("change-requests/CR-2026-0100.yaml", "change_id: CR-2026-0100\n")
    history.git("add", "-A")
    history.git("commit", "-qm", "junk change request (direct push)")
    junk = history.rev("HEAD")
    code, out = run(capsys, *history.record_args())
    assert code == 1, out
    assert out.startswith(f"skipped   promotion/CR-2026-0100 on {junk[:12]}: not recorded: ")
    assert "Traceback" not in out
    merged = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    code, out = run(capsys, *history.record_args())
    assert code == 1, out
    assert f"created   promotion/CR-2026-0005 on {merged.sha[:12]}: approved" in out
    code, out = run(capsys, *history.record_args())
    assert (code, out) == (0, "nothing to record: every merge on main is recorded\n")


def test_the_change_requests_of_one_merge_share_one_comparison_with_its_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], git_processes: list[tuple[str, ...]]
) -> None:
    """Four change requests merged together: the approved head's tree and its differences
    from the merge are asked of git once, and every record states them."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    [merge] = history.merges
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    asked = [args[0] for args in git_processes]
    assert asked.count("diff") == 1
    assert [args for args in git_processes if args[-1:] == (f"{merge.head}^{{tree}}",)] == [
        ("rev-parse", "--verify", "--quiet", f"{merge.head}^{{tree}}")
    ]
    head_tree = history.git("rev-parse", f"{merge.head}^{{tree}}")
    for change_id in ("CR-2026-0001", "CR-2026-0002", "CR-2026-0003", "CR-2026-0004"):
        predicate = statement(history, change_id)["predicate"]
        assert predicate["pull_request"]["head_tree"] == head_tree
        assert predicate["decision"]["approved"] is True


@pytest.mark.parametrize("files", [1, 4])
def test_a_governance_merge_s_changed_files_are_read_in_one_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], git_processes: list[tuple[str, ...]],
    files: int,
) -> None:
    """The governance record states the digest of every file its merge changed: however many,
    they are read with one git process."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    assert run(capsys, *history.record_args())[0] == 0
    changed = {f"scripts/governed-{n}.sh": f"echo {n}\n" for n in range(files)}
    merge = history.governance("Governance: scripts", changed)
    git_processes.clear()
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    # the tags with the files each commit is judged by; the changed files
    assert [args[0] for args in git_processes].count("cat-file") == 2
    record_id = governance_id(merge.sha)
    digests = {item["path"]: item["sha256"]
               for item in statement(history, record_id)["predicate"]["changed"]}
    assert digests == {path: hashlib.sha256(text.encode()).hexdigest()
                       for path, text in changed.items()}


@pytest.mark.parametrize(
    ("kind", "stated"),
    [("symlink", "the link's text"), ("submodule", None), ("missing-submodule", None)],
)
def test_a_governance_merge_s_links_and_submodules_are_stated_as_git_holds_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, stated: str | None
) -> None:
    """In the one batch of changed files, a symbolic link is the blob git stores (the path it
    points to, never the file there) and a submodule has no blob (the batch answers a commit,
    or missing): no digest, as when each was read on its own; the record is valid and the
    commit deployable."""
    history = GovernedHistory.create(tmp_path, adopt=True)
    assert run(capsys, *history.record_args())[0] == 0
    path = "scripts/added"
    if kind == "symlink":
        (history.root / "scripts").mkdir(exist_ok=True)
        (history.root / path).symlink_to("../.promotion/policy.yaml")
    else:
        (history.root / path).mkdir(parents=True)
        commit = history.git("rev-parse", "HEAD") if kind == "submodule" else "1" * 40
        history.git("update-index", "--add", "--cacheinfo", f"160000,{commit},{path}")
    merge = history.governance("Governance: a script", {"scripts/note.sh": "echo note\n"})
    code, out = run(capsys, *history.record_args())
    assert code == 0, out
    digests = {item["path"]: item["sha256"]
               for item in statement(history, governance_id(merge.sha))["predicate"]["changed"]}
    expected = hashlib.sha256(b"../.promotion/policy.yaml").hexdigest() if stated else None
    assert digests == {path: expected,
                       "scripts/note.sh": hashlib.sha256(b"echo note\n").hexdigest()}
    assert run(capsys, "audit", "--repo", str(history.root))[0] == 0
    assert run(capsys, "verify", "--repo", str(history.root), "--commit", "HEAD")[0] == 0
