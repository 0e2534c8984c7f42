"""`promotion-bot init` adopts an existing repository: the files it writes validate as they
stand, every placeholder it cannot fill is a named question, and it never overwrites."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot.adapters.files import load_yaml_file
from promotion_bot.cli.main import main
from promotion_bot.core.keys import generate_key
from tests.conftest import EXAMPLE, git
from tests.gitrepo import built_once
from tests.test_workflows import ROLES, audit, load_workflow

BOT = "acme-tools/promotion-bot"
SHA = "0123456789abcdef0123456789abcdef01234567"
PINNED = ["--bot-repository", BOT, "--bot-ref", SHA]
WORKFLOWS = ["promotion-checks.yml", "promotion-gate.yml", "promotion-record.yml",
             "promotion-review-trigger.yml", "promotion-rollback.yml"]


@pytest.fixture
def unadopted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example's artifacts and scripts as a repository that never had promotion-bot: no
    policy, no CODEOWNERS, no workflows, no change requests; origin on GitHub (acme). (Built
    once per worker, then copied with its .git.)"""
    root = tmp_path / "intake-routing"
    built_once("test_init.unadopted", root, _unadopted_example)
    monkeypatch.chdir(root)
    yield root


def _unadopted_example(root: Path) -> None:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(
        "snapshots", ".promotion", ".github", "change-requests", "CODEOWNERS"))
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "git@github.com:acme/intake-routing.git")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "intake routing as it runs today")


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


def test_init_writes_a_policy_codeowners_and_workflows_that_validate_as_they_stand(
        unadopted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["init", "--yes", *PINNED])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "valid: the policy" in output and "promotion-bot doctor" in output
    assert "promotion-bot baseline --propose > .promotion/baseline.yaml" in output
    assert main(["validate"]) == 0

    policy = load_yaml_file(unadopted / ".promotion/policy.yaml").data
    assert set(policy["roles"]) == {"reviewer", "administrator", "security_officer",
                                    "privacy_officer"}
    assert policy["roles"]["administrator"]["owners"] == ["@acme/promotion-admins"]  # origin
    assert {name: rule["paths"] for name, rule in policy["change_types"].items()} == {
        "ruleset": ["configs/routing_tables/**"], "model": ["configs/models/**"],
        "prompt": ["prompts/**"], "template": ["templates/**"]}
    assert policy["checks"]["verify-pack"] == {"run": "bash scripts/verify_pack.sh"}
    assert "verify-pack" in policy["change_types"]["ruleset"]["required_checks"]
    assert [c["name"] for c in policy["conditions"]] == ["external-llm-egress",
                                                        "privacy-templates"]
    assert "scripts/**" in policy["governance"]["paths"]  # a branch may not edit its own check
    assert "@acme/security-officers" in (unadopted / "CODEOWNERS").read_text()

    for name in WORKFLOWS:
        text = (unadopted / ".github/workflows" / name).read_text()
        assert "OWNER" not in text and "0" * 40 not in text
        workflow = load_workflow(text)
        assert not audit(workflow, ROLES[name.removesuffix(".yml")], reusable=False)
        for job in workflow["jobs"].values():
            if "uses" in job:
                assert job["uses"].endswith(f"@{SHA}") and job["uses"].startswith(BOT)
                assert job["with"]["bot-ref"] == SHA and job["with"]["bot-repository"] == BOT


def test_init_with_yes_names_each_question_it_cannot_answer_and_writes_nothing(
        unadopted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(unadopted, "remote", "remove", "origin")
    assert main(["init", "--yes"]) == 2
    errors = capsys.readouterr().err
    for option in ("--org:", "--bot-repository:", "--bot-ref:"):
        assert option in errors
    assert status(unadopted) == ""


def test_init_asks_the_open_questions_then_writes_when_confirmed(
        unadopted: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    git(unadopted, "remote", "remove", "origin")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"example-org\n{BOT}\n{SHA}\ny\n"))
    assert main(["init"]) == 0
    output = capsys.readouterr().out
    assert "Write these 7 files?" in output
    assert "@example-org/promotion-reviewers" in (unadopted / "CODEOWNERS").read_text()
    gate = (unadopted / ".github/workflows/promotion-gate.yml").read_text()
    assert f"{BOT}/.github/workflows/promotion-gate.yml@{SHA}" in gate


def test_init_declined_or_dry_run_writes_nothing(
        unadopted: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", "--dry-run", *PINNED]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert main(["init", *PINNED]) == 1
    assert "nothing written" in capsys.readouterr().out
    assert status(unadopted) == ""


def test_init_appends_to_an_existing_codeowners_and_keeps_every_line(
        unadopted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = "# owners before promotion-bot\n*   @acme/platform\n/docs/ @acme/writers"
    (unadopted / ".github").mkdir()
    (unadopted / ".github/CODEOWNERS").write_text(existing)  # no newline at the end
    git(unadopted, "add", "-A")
    git(unadopted, "commit", "-q", "-m", "owners")
    assert main(["init", "--yes", *PINNED]) == 0, capsys.readouterr()
    text = (unadopted / ".github/CODEOWNERS").read_text()
    assert text.startswith(existing + "\n\n# promotion-bot:")
    assert not (unadopted / "CODEOWNERS").exists()
    policy = load_yaml_file(unadopted / ".promotion/policy.yaml").data
    assert ".github/CODEOWNERS" in policy["governance"]["paths"]
    assert main(["validate"]) == 0


def test_init_refuses_a_repository_that_already_has_a_policy(
        example_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (example_repo / "CODEOWNERS").read_text()
    assert main(["init", "--yes", "--repo", str(example_repo), "--org", "acme", *PINNED]) == 2
    assert "already has a policy" in capsys.readouterr().err
    assert (example_repo / "CODEOWNERS").read_text() == before


def test_init_never_overwrites_an_untracked_file(
        unadopted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (unadopted / "CODEOWNERS").write_text("* @someone\n")  # not committed: init cannot see it
    assert main(["init", "--yes", *PINNED]) == 2
    assert "CODEOWNERS exists but git does not track it" in capsys.readouterr().err
    assert (unadopted / "CODEOWNERS").read_text() == "* @someone\n"
    assert not (unadopted / ".promotion").exists()


def test_init_never_overwrites_a_workflow_that_differs(
        unadopted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (unadopted / ".github/workflows").mkdir(parents=True)
    (unadopted / ".github/workflows/promotion-gate.yml").write_text("name: ours\n")
    git(unadopted, "add", "-A")
    git(unadopted, "commit", "-q", "-m", "our gate")
    assert main(["init", "--yes", *PINNED]) == 2
    assert ".github/workflows/promotion-gate.yml: exists with other content" in \
        capsys.readouterr().err
    assert status(unadopted) == ""
    assert (unadopted / ".github/workflows/promotion-gate.yml").read_text() == "name: ours\n"


@pytest.mark.parametrize("options, named", [
    (["--bot-ref", "main"], "--bot-ref"),  # a branch moves under the workflows
    (["--bot-ref", SHA[:12]], "--bot-ref"),
    (["--bot-ref", "0" * 40], "--bot-ref"),  # the template's placeholder
    (["--bot-repository", "OWNER/promotion-bot"], "--bot-repository"),
    (["--reviewers", "acme/reviewers"], "--reviewers"),
    (["--check", "Lint=make lint"], "--check"),
    (["--check", "lint"], "--check"),
    (["--check", "on=make on"], "--check"),  # YAML 1.1 would read the name as true
    (["--change-type", "workflow=flows/**"], "--change-type"),
    (["--change-type", "ruleset=/abs/**"], "--change-type"),
])
def test_init_refuses_answers_it_cannot_use(
        unadopted: Path, capsys: pytest.CaptureFixture[str], options: list[str],
        named: str) -> None:
    given = [*PINNED, *options]
    assert main(["init", "--yes", *given]) == 2
    assert named in capsys.readouterr().err
    assert status(unadopted) == ""


def test_init_asks_for_paths_and_checks_when_the_repository_has_none(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "service"
    (repo / "src").mkdir(parents=True)
    (repo / "src/app.py").write_text("print('hi')\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "app")
    monkeypatch.chdir(repo)
    assert main(["init", "--yes", "--org", "acme", *PINNED]) == 2
    errors = capsys.readouterr().err
    assert "--change-type:" in errors
    (repo / "rules").mkdir()
    (repo / "rules/routing.json").write_text("{}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "rules")
    assert main(["init", "--yes", "--org", "acme", *PINNED, "--change-type",
                 "ruleset=rules/**", "--check", "rules-lint=python3 -m json.tool "
                 "rules/routing.json"]) == 0, capsys.readouterr()
    policy = load_yaml_file(repo / ".promotion/policy.yaml").data
    assert policy["checks"] == {"rules-lint": {"run": "python3 -m json.tool rules/routing.json"}}
    assert main(["validate"]) == 0


def test_init_trusts_the_public_half_of_the_signing_key_it_is_given(
        unadopted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = generate_key()
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(key.private_pem)
    assert main(["init", "--yes", *PINNED, "--signing-key", str(key_file)]) == 0
    capsys.readouterr()
    text = (unadopted / ".promotion/policy.yaml").read_text()
    assert "PRIVATE" not in text
    (entry,) = load_yaml_file(unadopted / ".promotion/policy.yaml").data["signing"]["keys"]
    assert entry["keyid"] == key.keyid
    assert entry["public_key"].strip() == key.public_pem.strip()
    assert main(["validate"]) == 0
