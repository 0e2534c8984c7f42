"""record's GitHub source of merge facts, against the loopback GitHub and real git history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from tests.github_server import FakeGitHub
from tests.ledger_repo import RULESET_CHECKS, GovernedHistory
from tests.test_workflow_steps import serve_history

REPO = "example-org/intake-routing"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[GovernedHistory, FakeGitHub]]:
    history = GovernedHistory.create(tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    with FakeGitHub() as fake:
        yield history, fake
        assert fake.server_errors == []


def record(history: GovernedHistory, fake: FakeGitHub,
           capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["record", "--repo", str(history.root), "--key-file", str(history.key_file),
                 "--api-url", fake.base_url, "--request-pace", "0", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def tags(history: GovernedHistory) -> list[str]:
    return history.git("tag", "--list", "promotion/*").split()


def test_an_approved_merge_is_recorded_from_github_facts(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str]) -> None:
    history, fake = served
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    code, output = record(history, fake, capsys)
    assert code == 0, output
    assert "promotion/CR-2026-0005" in tags(history)
    assert "violation" not in output


def test_a_direct_push_is_recorded_as_a_violation(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str]) -> None:
    history, fake = served
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    history.direct_push("9.9.9")
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    code, output = record(history, fake, capsys)
    assert code == 1
    assert "no pull request" in output
    assert len([t for t in tags(history) if t.startswith("promotion/CR-2026-9")]) == 1


def test_a_merge_without_evidence_of_its_checks_is_a_violation(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str]) -> None:
    history, fake = served
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", with_evidence=False)
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    code, output = record(history, fake, capsys)
    assert code == 1
    assert "no evidence of the required checks" in output


def test_a_bad_app_key_is_a_configuration_error_before_anything_is_written(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    history, fake = served
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    monkeypatch.setenv("PROMOTION_BOT_APP_ID", "4242")
    monkeypatch.setenv("PROMOTION_BOT_APP_PRIVATE_KEY", "not a key")
    code, output = record(history, fake, capsys)
    assert code == 2
    assert "PROMOTION_BOT_APP_PRIVATE_KEY is not a readable private key" in output
    assert "Traceback" not in output
    assert "promotion/CR-2026-0005" not in tags(history)


# -- evidence provenance (issue 13): only the checks workflow's pull_request runs count --------

UNRELATED = [(".github/workflows/anything.yml", "pull_request"),
             (".github/workflows/promotion-checks.yml", "workflow_dispatch"),
             (".github/workflows/anything.yml", "push")]


@pytest.mark.parametrize(("workflow", "event"), UNRELATED,
                         ids=["another-workflow", "another-event", "both"])
def test_evidence_from_another_workflow_cannot_override_failed_checks(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str],
        workflow: str, event: str) -> None:
    history, fake = served
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", checks_pass=False)
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    forged = history.write_evidence(merge, RULESET_CHECKS, passed=True)  # newer, and green
    fake.add_artifact(REPO, "promotion-evidence", head_sha=merge.head, workflow=workflow,
                      event=event, files={"promotion-evidence.json": forged.read_bytes()})
    code, output = record(history, fake, capsys)
    assert code == 1, output
    assert "the evidence of the checks says failed" in output
    assert "promotion/CR-2026-0005" in tags(history)  # recorded, as the violation it is


def test_evidence_only_from_another_workflow_is_no_evidence_and_says_why(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str]) -> None:
    history, fake = served
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", with_evidence=False)
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    forged = history.write_evidence(merge, RULESET_CHECKS, passed=True)
    artifact = fake.add_artifact(REPO, "promotion-evidence", head_sha=merge.head,
                                 workflow=".github/workflows/anything.yml", event="push",
                                 files={"promotion-evidence.json": forged.read_bytes()})
    code, output = record(history, fake, capsys)
    assert code == 1, output
    run = artifact["workflow_run"]["id"]
    assert (f"no evidence of the required checks ({', '.join(RULESET_CHECKS)}): the "
            f"promotion-evidence artifact of run {run} came from .github/workflows/anything.yml "
            f"on push for {merge.head[:12]}, not from .github/workflows/promotion-checks.yml on "
            "pull_request") in output


def test_a_checks_run_that_uploaded_nothing_is_confirmed_as_no_evidence(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str]) -> None:
    history, fake = served
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0", with_evidence=False)
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    fake.add_workflow_run(REPO, head_sha=merge.head, conclusion="failure")
    code, output = record(history, fake, capsys)
    assert code == 1, output
    assert "no evidence of the required checks" in output


# -- record and GitHub hiccups: "none" must be confirmed before it becomes permanent -----------


@pytest.mark.parametrize("hiccup", ["empty-merged-pull-list", "empty-pull-list-graphql-down",
                                    "empty-artifact-list", "checks-still-running"])
def test_a_github_hiccup_never_becomes_a_permanent_violation(
        served: tuple[GovernedHistory, FakeGitHub], capsys: pytest.CaptureFixture[str],
        hiccup: str) -> None:
    history, fake = served
    merge = history.ruleset("CR-2026-0005", "1.1.0", "1.0.0",
                            with_evidence=hiccup != "checks-still-running")
    serve_history(fake, REPO, history.root, history.snapshots, history.evidence)
    pulls = rf"/repos/{REPO}/commits/{merge.sha}/pulls"
    if hiccup == "empty-merged-pull-list":
        fake.inject("GET", pulls, body=b"[]", times=50)
    elif hiccup == "empty-pull-list-graphql-down":
        fake.inject("GET", pulls, body=b"[]", times=50)
        fake.inject("POST", r"/graphql", status=502, times=50)
    elif hiccup == "empty-artifact-list":
        fake.inject("GET", rf"/repos/{REPO}/actions/artifacts",
                    body=b'{"total_count": 0, "artifacts": []}', times=50)
    else:
        fake.add_workflow_run(REPO, head_sha=merge.head, status="in_progress")
    code, output = record(history, fake, capsys, "--retries", "0")
    assert code == 2, output
    assert "Traceback" not in output
    assert "promotion/CR-2026-0005" not in tags(history)  # nothing written
    # GitHub answers again: the next run catches up, and the merge is what it was
    fake.faults.clear()
    if hiccup == "checks-still-running":
        for run in fake.workflow_runs.values():
            run.status, run.conclusion = "completed", "success"
        fake.add_artifact(REPO, "promotion-evidence", head_sha=merge.head,
                          files={"promotion-evidence.json": history.write_evidence(
                              merge, RULESET_CHECKS, passed=True).read_bytes()})
    code, output = record(history, fake, capsys)
    assert code == 0, output
    assert "promotion/CR-2026-0005" in tags(history)
