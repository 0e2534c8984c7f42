"""collect_inputs against real git: what an approval on an earlier commit may carry over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promotion_bot.adapters.files import sha256_file
from promotion_bot.cli.main import main
from tests.conftest import git

RULESET = "configs/routing_tables/routing_rules_v1.1.0.json"
TEAMS = {"example-org/routing-reviewers": ["rita"], "example-org/promotion-admins": ["adam"],
         "example-org/security-officers": ["sam"], "example-org/privacy-officers": ["priya"]}


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def promote(repo: Path, rules: str) -> None:
    (repo / RULESET).write_text(json.dumps({"version": "1.1.0", "rules": rules}) + "\n")
    (repo / "change-requests/CR-2026-0005.yaml").write_text(
        "change_id: CR-2026-0005\nchange_type: ruleset\ntarget: routing-rules\n"
        'title: Routing rules 1.1.0\nproposed_version: "1.1.0"\ncurrent_version: "1.0.0"\n'
        f"artifacts:\n  - path: {RULESET}\n    sha256: {sha256_file(repo / RULESET)}\n"
        "rollback_plan: Revert the pull request; 1.0.0 becomes current again.\n")


def snapshot(base: str, head: str, approved_on: str) -> dict[str, object]:
    def user(login: str) -> dict[str, object]:
        return {"login": login, "type": "User"}
    return {
        "snapshot_version": 1,
        "pull_request": {"number": 9, "user": user("erin"), "head": {"ref": "cr", "sha": head},
                         "base": {"ref": "main", "sha": base}},
        "files": [{"filename": "NOTES.md", "status": "added"},
                  {"filename": RULESET, "status": "added"},
                  {"filename": "change-requests/CR-2026-0005.yaml", "status": "added"}],
        "reviews": [{"id": n, "user": user(login), "state": "APPROVED", "commit_id": approved_on,
                     "submitted_at": "2026-03-02T10:00:00Z"}
                    for n, login in ((1, "rita"), (2, "adam"))],
        "teams": {team: {"members": [user(m) for m in members]} for team, members in TEAMS.items()},
    }


def test_a_force_push_under_an_approval_does_not_carry_it_over(
        example_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = example_repo / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace("allow_approvals_on_earlier_commits: false",
                                                 "allow_approvals_on_earlier_commits: true"))
    base = commit(example_repo, "allow approvals on earlier commits")
    git(example_repo, "checkout", "-q", "-b", "cr")
    promote(example_repo, "bad")
    bad = commit(example_repo, "bad rules")
    promote(example_repo, "good")
    good = commit(example_repo, "good rules")  # reviewed and approved here
    git(example_repo, "reset", "-q", "--hard", bad)  # force-push: the bad commit again...
    (example_repo / "NOTES.md").write_text("harmless\n")
    head = commit(example_repo, "...plus a harmless file")
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(snapshot(base, head, good)))
    code = main(["approvals", "--repo", str(example_repo), "--snapshot", str(path)])
    output = capsys.readouterr().out
    assert code == 1, output  # not approved: the head's ruleset is not what was approved
    assert "PENDING" in output
