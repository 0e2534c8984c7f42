"""record's GitHub source of merge facts, against the loopback GitHub and real git history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from tests.github_server import FakeGitHub
from tests.ledger_repo import GovernedHistory
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
           capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["record", "--repo", str(history.root), "--key-file", str(history.key_file),
                 "--api-url", fake.base_url, "--request-pace", "0"])
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
