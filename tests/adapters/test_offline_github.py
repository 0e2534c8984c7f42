"""The demo's stand-in for GitHub: the snapshots it writes are valid pull request snapshots
with GitHub's facts (files, commits and their accounts, reviews on the head they saw, the merge),
taken from a real clone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.adapters.offline_github import OfflineGitHub
from promotion_bot.adapters.sandbox import Person, git
from promotion_bot.core.formats.schemas import validate_data

ERIN = Person("erin", "Erin Engineer", "erin@example.org")
PAT = Person("pat", "Pat Reviewer", "pat@example.org")
ADAM = Person("adam", "Adam Administrator", "adam@example.org")
OUTSIDER = Person("ext", "Someone Else", "someone@elsewhere.example")
TEAMS = {"example-org/admins": ["adam", "pat"]}


def clock() -> dt.datetime:
    return dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "--bare", "origin.git", person=ERIN)
    git(tmp_path, "clone", "-q", "origin.git", "work", person=ERIN)
    work = tmp_path / "work"
    (work / "kept.txt").write_text("kept\n")
    (work / "old.txt").write_text("old\n")
    git(work, "add", "-A", person=ERIN)
    git(work, "commit", "-q", "-m", "base", person=ERIN)
    git(work, "push", "-q", "origin", "main", person=ERIN)
    git(work, "switch", "-q", "-c", "feature", person=ERIN)
    (work / "new.txt").write_text("new\n")
    git(work, "mv", "old.txt", "renamed.txt", person=ERIN)
    git(work, "add", "-A", person=ERIN)
    git(work, "commit", "-q", "-m", "feature", person=ERIN)
    git(work, "push", "-q", "origin", "feature", person=ERIN)
    return work


def snapshot(github: OfflineGitHub, number: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(github.snapshot_path(number).read_text())
    assert validate_data("pr-snapshot", data, "snapshot") == []
    return data


def test_an_open_pull_request_has_githubs_files_commits_and_reviews(clone: Path) -> None:
    github = OfflineGitHub(clone, clone.parent / "github", "example-org/repo", TEAMS,
                           [ERIN, PAT, ADAM], clock)
    number = github.open_pull("feature", "A feature", ERIN)
    github.review(number, PAT)
    data = snapshot(github, number)
    pull = data["pull_request"]
    head = git(clone, "rev-parse", "feature", person=ERIN)
    assert (pull["number"], pull["state"], pull["user"]["login"]) == (1, "open", "erin")
    assert pull["head"] == {"ref": "feature", "sha": head}
    assert pull["base"]["sha"] == git(clone, "rev-parse", "origin/main", person=ERIN)
    assert sorted((f["filename"], f["status"]) for f in data["files"]) == [
        ("new.txt", "added"), ("renamed.txt", "renamed")]
    assert [(c["sha"], c["author"]["login"]) for c in data["commits"]] == [(head, "erin")]
    assert [(r["user"]["login"], r["commit_id"], r["submitted_at"]) for r in data["reviews"]] == [
        ("pat", head, "2026-05-01T12:00:00Z")]
    assert data["teams"]["example-org/admins"]["members"][0]["login"] == "adam"


def test_a_review_stays_on_the_head_it_saw_and_unknown_emails_link_no_account(
    clone: Path,
) -> None:
    github = OfflineGitHub(clone, clone.parent / "github", "example-org/repo", TEAMS,
                           [ERIN, PAT, ADAM], clock)
    number = github.open_pull("feature", "A feature", ERIN)
    first = git(clone, "rev-parse", "feature", person=ERIN)
    github.review(number, PAT)
    git(clone, "commit", "-q", "--allow-empty", "-m", "more", person=OUTSIDER)
    github.review(number, ADAM)
    data = snapshot(github, number)
    assert [r["commit_id"] == first for r in data["reviews"]] == [True, False]
    assert data["commits"][-1]["author"] is None
    assert data["commits"][-1]["commit"]["author"]["email"] == OUTSIDER.email


def test_a_merge_is_a_merge_commit_on_origin_and_the_snapshot_says_so(clone: Path) -> None:
    github = OfflineGitHub(clone, clone.parent / "github", "example-org/repo", TEAMS,
                           [ERIN, PAT, ADAM], clock)
    number = github.open_pull("feature", "A feature", ERIN)
    base = git(clone, "rev-parse", "origin/main", person=ERIN)
    head = git(clone, "rev-parse", "feature", person=ERIN)
    merge = github.merge(number, ADAM)
    assert git(clone, "rev-parse", "origin/main", person=ERIN) == merge
    assert git(clone, "rev-parse", f"{merge}^1", f"{merge}^2", person=ERIN).split() == [base, head]
    pull = snapshot(github, number)["pull_request"]
    assert (pull["state"], pull["merged"], pull["merge_commit_sha"]) == ("closed", True, merge)
    assert pull["merged_by"]["login"] == "adam"
    assert pull["base"]["sha"] == base  # the base the pull request was merged into
