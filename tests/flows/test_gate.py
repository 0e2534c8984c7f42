"""The gate end to end: real git, the loopback GitHub, the real PyGithub client over HTTP."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from promotion_bot.adapters import github as github_adapter
from promotion_bot.adapters.files import sha256_file
from promotion_bot.cli.main import main
from tests.conftest import EXAMPLE, git
from tests.github_fixtures import webhook_payload
from tests.github_server import FakeGitHub
from tests.gitrepo import built_once

REPO = "example-org/intake"
RULESET = "configs/routing_tables/routing_rules_v1.1.0.json"
TEAMS = {
    "routing-reviewers": {"rita": "active", "sam": "active", "dana": "active"},
    "promotion-admins": {"alice": "active", "dana": "active", "pete": "pending"},
    "security-officers": {"sec": "active"},
    "privacy-officers": {"priv": "active"},
}


# the two GraphQL queries of a gate run, told apart by what they ask (FakeGitHub.inject_graphql)
OPENING = "pullRequest(number: $number)"  # opens a pull request (adapters/github_graphql.py)
CONFIRMING = "pullRequest(number: $number0)"  # confirms the lists (PullReader.verify_pending)


def opened(answer: dict[str, Any]) -> dict[str, Any]:
    """The pull request in an answer to the opening query."""
    pull: dict[str, Any] = answer["data"]["repository"]["pullRequest"]
    return pull


def changed(answer: dict[str, Any], where: Any, **fields: Any) -> dict[str, Any]:
    """`answer` with `fields` set in the object `where(answer)`."""
    where(answer).update(fields)
    return answer


def more_than_a_page_open(answer: dict[str, Any]) -> dict[str, Any]:
    """The opening query's answer as GitHub gives it with 101 open pull requests: one page."""
    answer["data"]["repository"]["pullRequests"] = {"totalCount": 101, "nodes": [
        {"number": 1000 + i, "headRefOid": f"{i:040x}", "baseRefName": "elsewhere"}
        for i in range(100)]}
    return answer


def unproven_policy(answer: dict[str, Any]) -> dict[str, Any]:
    """The opening query's answer with the base's policy as GitHub gives a file larger than
    GraphQL's text (isTruncated): the gate reads it through the contents API."""
    opened(answer)["baseRef"]["target"]["file0"]["object"]["isTruncated"] = True
    return answer


@dataclass
class World:
    fake: FakeGitHub
    origin: Path
    base: str
    head: str

    def gate(self, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        # a generous timeout: a loaded CI machine must not turn a slow loopback answer into a
        # failure (the timeout fault test sets its own)
        code = main(["gate", "--repository", REPO, "--api-url", self.fake.base_url,
                     "--timeout", "10", "--request-pace", "0", *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def review(self, user: str, state: str = "APPROVED", commit: str | None = None) -> None:
        self.fake.add_review(REPO, 1, user=user, state=state, commit_id=commit or self.head)

    def my_statuses(self) -> list[dict[str, object]]:
        return [s for s in self.fake.statuses if s["context"] == "promotion/approvals"]

    def states(self, sha: str | None = None) -> list[object]:
        """The states of promotion/approvals on `sha` (default: the head), oldest first."""
        return [s["state"] for s in self.my_statuses() if s["sha"] == (sha or self.head)]

    def verdict(self, sha: str | None = None) -> dict[str, object]:
        """The status GitHub shows now on `sha` (default: the head): the latest one."""
        return [s for s in self.my_statuses() if s["sha"] == (sha or self.head)][-1]


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def ruleset_branch(repo: Path) -> None:
    source = repo / "configs/routing_tables/routing_rules_v1.0.0.json"
    (repo / RULESET).write_text(source.read_text().replace('"1.0.0"', '"1.1.0"'))
    (repo / "change-requests/CR-2026-0005.yaml").write_text(
        "change_id: CR-2026-0005\nchange_type: ruleset\ntarget: routing-rules\n"
        'title: Tune the fraud keywords\nproposed_version: "1.1.0"\ncurrent_version: "1.0.0"\n'
        f"artifacts:\n  - path: {RULESET}\n    sha256: {sha256_file(repo / RULESET)}\n"
        "rollback_plan: Revert the pull request; 1.0.0 becomes current again.\n")


def make_origin(tmp_path: Path) -> tuple[Path, str, str]:
    """The example on main and a branch cr-5 promoting the ruleset: (origin, base, head)
    (built once per worker, then copied with its .git)."""
    origin = tmp_path / "origin"
    base, head = built_once("test_gate.make_origin", origin, _build_origin)
    return origin, base, head


def _build_origin(origin: Path) -> tuple[str, str]:
    shutil.copytree(EXAMPLE, origin, ignore=shutil.ignore_patterns("snapshots"))
    git(origin, "init", "-q")
    base = commit_all(origin, "main")
    git(origin, "checkout", "-q", "-b", "cr-5")
    ruleset_branch(origin)
    head = commit_all(origin, "CR-2026-0005")
    git(origin, "checkout", "-q", "main")
    return base, head


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    origin, base, head = make_origin(tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    with FakeGitHub() as fake:
        fake.add_repo(REPO, git_dir=origin)
        for slug, members in TEAMS.items():
            fake.add_team("example-org", slug, members)
        fake.add_user("gh-author")
        fake.add_pull(REPO, 1, user="gh-author", base_ref="main", base_sha=base,
                      head_ref="cr-5", head_sha=head, title="CR-2026-0005")
        yield World(fake, origin, base, head)
        assert fake.server_errors == []


def test_approved_sets_success_on_the_head_and_one_sticky_comment(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.states() == ["pending", "success"]  # invalidated first, then judged
    assert world.verdict()["description"] == "#1 into main: All 2 required roles approved"
    [comment] = world.fake.comments
    assert "<!-- promotion-bot:approvals -->" in str(comment["body"])
    assert "CR-2026-0005" in str(comment["body"]) and "1.0.0 → 1.1.0" in str(comment["body"])
    assert world.fake.review_requests == []


def test_an_unwritable_step_summary_is_a_usage_error_after_the_status_is_set(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    world.review("rita")
    world.review("alice")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a folder: not writable as a file
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 2, output
    assert f"cannot write GITHUB_STEP_SUMMARY {tmp_path}" in output
    assert "Traceback" not in output
    assert world.states() == ["pending", "success"]


def test_pending_names_the_missing_role_and_requests_its_team(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.my_statuses()[-1]["state"] == "pending"
    assert "administrator" in str(world.fake.comments[-1]["body"])
    [request] = world.fake.review_requests
    assert request["team_reviewers"] == ["promotion-admins"]


def test_changes_requested_by_a_required_role_blocks(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    world.review("sam", "CHANGES_REQUESTED")
    code, _ = world.gate("--pr", "1", capsys=capsys)
    assert code == 0
    assert world.my_statuses()[-1]["state"] == "failure"


def test_a_push_makes_earlier_approvals_stale(world: World,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    git(world.origin, "checkout", "-q", "cr-5")
    (world.origin / "NOTES.md").write_text("later push\n")
    new_head = commit_all(world.origin, "later push")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=new_head)
    code, _ = world.gate("--pr", "1", capsys=capsys)
    assert code == 0
    assert world.states(new_head) == ["pending", "pending"]
    assert world.verdict(new_head)["description"] == "#1 into main: Waiting for reviewer, administrator"


def test_a_reviewer_who_pushed_a_commit_cannot_approve(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # GitHub links a commit to rita through her e-mail; web-flow merges are not contributions
    world.fake.add_user("rita", email="rita@example.org")
    git(world.origin, "checkout", "-q", "cr-5")
    (world.origin / "NOTES.md").write_text("a fixup from a co-worker\n")
    git(world.origin, "add", "-A")
    git(world.origin, "-c", "user.name=Rita Reviewer", "-c", "user.email=rita@example.org",
        "commit", "-q", "-m", "fixup! CR-2026-0005\n\nCo-authored-by: Sam <sam@example.org>")
    new_head = git(world.origin, "rev-parse", "HEAD")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=new_head)
    world.head = new_head
    world.review("rita")
    world.review("alice")
    saved = tmp_path / "pr.json"
    code, output = world.gate("--pr", "1", "--format", "json", "-o", str(saved),
                              capsys=capsys)
    assert code == 0, output
    assert world.verdict(new_head)["state"] == "pending"
    decision = json.loads(output)["decision"]
    assert decision["summary"] == "waiting for reviewer"
    assert {"login": "rita", "reason": f"contributed commits to this pull request "
            f"({new_head[:7]})"} in [{k: i[k] for k in ("login", "reason")}
                                     for i in decision["ignored_reviews"]]
    reviewer = next(role for role in decision["roles"] if role["role"] == "reviewer")
    assert reviewer["candidates"][0]["logins"] == ["dana", "sam"]  # not rita, not the author
    assert any("Co-authored-by trailers name Sam <sam@example.org>" in note
               for note in decision["notes"])
    assert "contributed commits to this pull request" in str(world.fake.comments[-1]["body"])
    # the snapshot keeps the commits in GitHub's shape, and GitHub's count of them
    snapshot = json.loads(saved.read_text())
    assert snapshot["pull_request"]["commits"] == 2
    assert [c["author"] and c["author"]["login"] for c in snapshot["commits"]] == [None, "rita"]


def test_policy_and_codeowners_edited_in_the_pull_request_are_not_used(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    git(world.origin, "checkout", "-q", "cr-5")
    policy = world.origin / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace(
        "required_roles: [reviewer, administrator]\n    required_checks: [rules",
        "required_roles: [reviewer]\n    required_checks: [rules"))
    (world.origin / "CODEOWNERS").write_text("* @gh-author\n")
    new_head = commit_all(world.origin, "lower the bar")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=new_head)
    world.review("rita", commit=new_head)
    code, _ = world.gate("--pr", "1", "--format", "json", capsys=capsys)
    assert code == 0
    assert world.my_statuses()[-1]["state"] == "pending"  # administrator still required
    body = str(world.fake.comments[-1]["body"])
    assert "administrator" in body and ".promotion/policy.yaml" in body


@pytest.mark.parametrize(("case", "expected_state", "words"), [
    ("pending-member-approves", "pending", ""),
    ("team-missing", "error", "could not list the members of @example-org/promotion-admins"),
    ("team-unreadable", "error", "GitHub App with organisation Members: read"),
])
def test_team_membership_is_read_strictly(world: World, capsys: pytest.CaptureFixture[str],
                                          case: str, expected_state: str, words: str) -> None:
    world.review("rita")
    if case == "pending-member-approves":
        world.review("pete")  # invited to the admins team, not yet a member
    elif case == "team-missing":
        del world.fake.teams[("example-org", "promotion-admins")]
    else:
        world.fake.add_team("example-org", "promotion-admins", TEAMS["promotion-admins"],
                            readable=False)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert world.my_statuses()[-1]["state"] == expected_state
    assert words in output
    assert code == (2 if expected_state == "error" else 0)


@pytest.fixture
def no_retry_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries at once: the pauses before them (0.08 s, then 0.16 s, per write at pace 0) pace
    a real GitHub, and nothing here depends on their length."""
    monkeypatch.setattr(github_adapter, "RETRY_PAUSE_FLOOR", 0.0)


@pytest.mark.parametrize("fault", ["5xx", "timeout", "malformed-json", "truncated-files",
                                   "truncated-commits", "secondary-rate-limit-forever",
                                   "status-write-fails"])
@pytest.mark.usefixtures("no_retry_pauses")
def test_every_fault_ends_in_a_failing_status_and_a_non_zero_exit(
        world: World, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    world.review("rita")
    world.review("alice")
    files = rf"/repos/{REPO}/pulls/1/files"
    if fault == "5xx":
        world.fake.inject("GET", files, status=502, times=20)
    elif fault == "timeout":
        # never answered (a hung answer is dropped when the fake stops)
        world.fake.inject_timeout("GET", rf"/repos/{REPO}/pulls/1/reviews", delay=60, times=20)
    elif fault == "malformed-json":
        world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", body=b"{not json", times=20)
    elif fault == "truncated-files":
        world.fake.update_pull(REPO, 1, changed_files=5)
    elif fault == "truncated-commits":
        world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/commits", body=b"[]", times=20)
    elif fault == "secondary-rate-limit-forever":
        world.fake.inject_secondary_rate_limit("GET", files, retry_after=600, times=20)
    else:
        world.fake.inject("POST", rf"/repos/{REPO}/statuses/{world.head}", status=500, times=20)
    # a timeout is waited out once, for 1 s (PyGithub takes whole seconds): a retry would wait
    # out another second to end the same way
    limits = ["--timeout", "1", "--retries", "0"] if fault == "timeout" else ["--retries", "1"]
    code, output = world.gate("--pr", "1", *limits, capsys=capsys)
    assert code == 2, output
    assert "Traceback" not in output
    assert fault != "timeout" or "Read timed out" in output
    states = [s["state"] for s in world.my_statuses()]
    assert "success" not in states
    if fault != "status-write-fails":
        assert states and states[-1] == "error"


def test_more_commits_than_github_lists_is_an_error(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    world.fake.update_pull(REPO, 1, commits=[*(f"{i:040x}" for i in range(1, 260)), world.head])
    # the fake answers slowly here (260 commits through git): no timeout, no retried page
    code, output = world.gate("--pr", "1", "--timeout", "30", capsys=capsys)
    assert code == 2, output
    assert ("has 260 commit(s) but GitHub listed 250 (GitHub lists at most 250); who contributed "
            "them cannot be checked, so it cannot be evaluated: split it") in output
    assert world.my_statuses()[-1]["state"] == "error"
    pages = [r.query.get("page") for r in world.fake.requests
             if r.path == f"/repos/{REPO}/pulls/1/commits"]
    assert pages == ["1", "2", "3"]


def test_a_transient_5xx_is_retried_and_the_gate_succeeds(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", status=502, times=1)
    code, output = world.gate("--pr", "1", "--format", "json", capsys=capsys)
    assert code == 0, output
    report = json.loads(output)
    assert report["api"]["retries"] == 1
    assert world.my_statuses()[-1]["state"] == "success"


@pytest.mark.parametrize("write", ["status", "comment"])
@pytest.mark.usefixtures("no_retry_pauses")
def test_a_retried_post_writes_once(world: World, capsys: pytest.CaptureFixture[str],
                                    write: str) -> None:
    world.review("rita")
    world.review("alice")
    path = (rf"/repos/{REPO}/statuses/{world.head}" if write == "status"
            else rf"/repos/{REPO}/issues/1/comments")
    world.fake.inject("POST", path, status=500, then_process=True, times=1)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.states() == ["pending", "success"]  # each written once
    assert len(world.fake.comments) == 1


def test_the_comment_is_updated_in_place(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.gate("--pr", "1", capsys=capsys)
    first = world.fake.comments[0]
    world.review("alice")
    code, _ = world.gate("--pr", "1", capsys=capsys)
    assert code == 0
    [comment] = world.fake.comments
    assert comment["id"] == first["id"]
    assert comment["body"] != first["body"]
    assert world.states() == ["pending", "pending", "pending", "success"]


def test_the_event_that_started_the_job_names_the_pull_request(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    world.review("rita")
    world.review("alice")
    payload = webhook_payload("pull_request_review", "submitted.payload.json")
    payload["pull_request"]["number"] = 1
    payload["pull_request"]["head"]["sha"] = world.head
    payload["repository"]["full_name"] = REPO
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request_review")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    code = main(["gate", "--api-url", world.fake.base_url, "--request-pace", "0"])
    assert code == 0, capsys.readouterr()
    assert world.my_statuses()[-1]["state"] == "success"


def test_dry_run_writes_nothing_and_exits_with_the_decision(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    world.review("rita")
    saved = tmp_path / "pr.json"
    code, output = world.gate("--pr", "1", "--dry-run", "-o", str(saved),
                              capsys=capsys)
    assert code == 1
    assert "would set pending" in output
    assert world.fake.statuses == [] and world.fake.comments == []
    # the saved snapshot reproduces the decision offline, from git alone
    code = main(["approvals", "--repo", str(world.origin), "--snapshot", str(saved)])
    assert code == 1
    assert "administrator" in capsys.readouterr().out


# the requests a gate run makes beyond the floor (pages of files, reviews and commits, one list
# per owner team of a required role, the writes), each with what it guards
# (benchmarks/README.md, "gate requests")
BEYOND_THE_FLOOR = [
    # the opening query: the pull request (the head to invalidate, the counts, the author), the
    # open pull requests with the same head, the base commit with its policy and CODEOWNERS, the
    # bot's own sticky comment
    ("POST", "/graphql"),
    # the confirming query: the counts, the head and base re-read, the change request rebuilt
    # from its patch is the file at the head
    ("POST", "/graphql"),
]


def test_request_count_for_300_files_and_40_reviews(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    git(world.origin, "checkout", "-q", "cr-5")
    for index in range(297):
        (world.origin / "docs" / f"note{index:03d}.md").parent.mkdir(exist_ok=True)
        (world.origin / "docs" / f"note{index:03d}.md").write_text(f"{index}\n")
    new_head = commit_all(world.origin, "many files")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=new_head)
    reviewers = ["rita", "sam", "dana", "alice", "sec", "priv"]
    for index in range(40):
        world.review(reviewers[index % len(reviewers)], "COMMENTED", commit=new_head)
    code, output = world.gate("--pr", "1", "--format", "json", capsys=capsys)
    report = json.loads(output)
    assert code == 0
    assert report["decision"]["governed_files"] == [RULESET]
    made = [(r.method, r.path.replace(REPO, "{repo}")) for r in world.fake.requests]
    floor = [m for m in made if m[1] in ("/repos/{repo}/pulls/1/files",
                                         "/repos/{repo}/pulls/1/reviews",
                                         "/repos/{repo}/pulls/1/commits")
             or m[1].startswith("/orgs/") or (m[0] == "POST" and m[1] != "/graphql")]
    # 3 pages of files, 1 of reviews, 1 of commits; the two teams of the required roles
    # (reviewer, administrator), not the four the policy names; pending, verdict, comment,
    # review request
    assert len(floor) == 11, floor
    assert sorted(m for m in made if m not in floor) == sorted(BEYOND_THE_FLOOR)
    assert report["api"]["requests"] == 13 == len(made), made
    print(f"\nAPI requests for 300 files and 40 reviews: {report['api']['requests']} "
          f"(floor {len(floor)})")
    for method, path in made:
        print(f"  {method} {path}")


def test_a_failed_review_request_does_not_change_the_decision(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.fake.inject("POST", rf"/repos/{REPO}/pulls/1/requested_reviewers", status=422, times=5)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.states() == ["pending", "pending"]


def test_a_push_during_the_evaluation_is_not_approved_with_older_files(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    git(world.origin, "checkout", "-q", "cr-5")
    (world.origin / "templates/privacy/gdpr_access_response.md").write_text("changed\n")
    pushed = commit_all(world.origin, "a privacy template too")
    git(world.origin, "checkout", "-q", "main")
    # the push lands while the gate lists the files of the head it read
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files",
                      action=lambda: world.fake.update_pull(REPO, 1, head_sha=pushed))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 2, output
    assert "moved during the evaluation" in output
    assert "success" not in world.states() + world.states(pushed)


@pytest.mark.parametrize("tamper", [False, True])
def test_a_merge_group_must_carry_the_approved_governed_files(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, tamper: bool) -> None:
    world.review("rita")
    world.review("alice")
    git(world.origin, "checkout", "-q", "-b", "gh-readonly-queue/main/pr-1-" + world.head)
    git(world.origin, "merge", "-q", "--no-ff", "-m", "Merge group", world.head)
    if tamper:
        ruleset = world.origin / RULESET
        ruleset.write_text(ruleset.read_text().replace('"fraud"', '"fr4ud"'))
    group_head = commit_all(world.origin, "queue") if tamper else git(world.origin, "rev-parse",
                                                                       "HEAD")
    git(world.origin, "checkout", "-q", "main")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"merge_group": {
        "head_sha": group_head, "base_sha": world.base,
        "head_ref": "refs/heads/gh-readonly-queue/main/pr-1-" + world.head},
        "repository": {"full_name": REPO}}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "merge_group")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    code = main(["gate", "--api-url", world.fake.base_url, "--request-pace", "0"])
    output = capsys.readouterr()
    assert {s["sha"] for s in world.my_statuses()} == {group_head}
    status = world.verdict(group_head)
    if tamper:
        assert (code, status["state"]) == (2, "error"), output
        assert RULESET in str(status["description"])
    else:
        assert (code, status["state"]) == (0, "success"), output


# -- attacks on the status (issue 13): a status belongs to a commit, not to a pull request -----

MARKER = "<!-- promotion-bot:approvals -->"


def push_to_cr5(world: World, files: dict[str, str | None], message: str = "more",
                *git_options: str) -> str:
    """A commit on cr-5 (None deletes a file); pull request #1 moves to it."""
    git(world.origin, "checkout", "-q", "cr-5")
    for path, text in files.items():
        target = world.origin / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(world.origin, "add", "-A")
    git(world.origin, *git_options, "commit", "-q", "-m", message)
    head = git(world.origin, "rev-parse", "HEAD")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=head)
    world.head = head
    return head


def event_run(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch, event: str, payload: dict[str, object],
              *args: str) -> tuple[int, str]:
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    code = main(["gate", "--api-url", world.fake.base_url, "--timeout", "2",
                 "--request-pace", "0", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def review_event(world: World, head: str | None = None) -> dict[str, object]:
    """GitHub's pull_request_review payload for pull request #1 at `head` (default: its head)."""
    payload = webhook_payload("pull_request_review", "submitted.payload.json")
    payload["pull_request"]["number"] = 1
    payload["pull_request"]["head"]["sha"] = head or world.head
    payload["repository"]["full_name"] = REPO
    return payload


def workflow_run_event(head: str, numbers: list[int]) -> dict[str, object]:
    payload = webhook_payload("workflow_run", "completed.with-pull-requests.payload.json")
    template = payload["workflow_run"]["pull_requests"][0]
    payload["workflow_run"]["pull_requests"] = [{**template, "number": n} for n in numbers]
    payload["workflow_run"]["head_sha"] = head
    payload["repository"]["full_name"] = REPO
    return payload


@pytest.fixture
def two_pulls(world: World) -> World:
    """Pull request #1: cr-5 into main (the governed ruleset change, then a harmless commit H).
    Pull request #2: the same head H into `landing`, a branch that already holds the governed
    change: its own diff is harmless. Only rita approved #1: the administrator is missing."""
    git(world.origin, "branch", "landing", world.head)
    governed_change = world.head
    push_to_cr5(world, {"NOTES.md": "harmless\n"}, "notes")
    world.fake.add_pull(REPO, 2, user="gh-author", base_ref="landing", base_sha=governed_change,
                        head_ref="cr-5", head_sha=world.head, title="harmless")
    world.review("rita")
    return world


@pytest.mark.parametrize("via", ["pr-2-by-hand", "workflow-run-naming-both"])
def test_a_pull_request_into_an_ungoverned_branch_never_turns_the_shared_head_green(
        two_pulls: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    world = two_pulls
    if via == "pr-2-by-hand":
        code, output = world.gate("--pr", "2", capsys=capsys)
    else:
        code, output = event_run(world, capsys, tmp_path, monkeypatch, "workflow_run",
                                 workflow_run_event(world.head, [1, 2]))
    assert code == 0, output
    assert "success" not in world.states()
    assert world.verdict()["state"] == "pending"
    assert world.verdict()["description"] == "#1 into main: Waiting for administrator"
    assert "#2 into landing: its base landing is not a governed branch (main): not judged" \
        in output
    # #2 is never judged: no comment there; #1's comment names the base it judged
    assert [c["issue_number"] for c in world.fake.comments] == [1]
    assert "into `main`" in str(world.fake.comments[0]["body"])


def test_a_head_is_green_only_when_every_governed_pull_request_with_it_is_approved(
        two_pulls: World, capsys: pytest.CaptureFixture[str]) -> None:
    world = two_pulls
    both = ("--governed-branch", "main", "--governed-branch", "landing")
    code, output = world.gate("--pr", "2", *both, capsys=capsys)
    assert code == 0, output
    assert world.verdict()["description"] == (
        "#1 into main: Waiting for administrator; "
        "#2 into landing: No governed change: no role has to approve")
    assert world.verdict()["state"] == "pending"
    world.review("alice")
    code, output = world.gate("--pr", "2", *both, capsys=capsys)
    assert code == 0, output
    assert world.verdict()["state"] == "success"


@pytest.mark.parametrize("fault", ["pull-502", "verdict-write-500", "rate-limit-wait",
                                   "pushed-since-the-event", "fork-review-lookup-502"])
@pytest.mark.usefixtures("no_retry_pauses")
def test_a_stale_success_is_withdrawn_when_the_rerun_fails(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    world.review("rita")
    world.review("alice")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    assert world.verdict()["state"] == "success"
    approved = world.head
    world.review("sam", "CHANGES_REQUESTED")  # the objection the failing re-run must not hide
    if fault == "pull-502":  # the query that opens the pull request
        world.fake.inject_graphql(OPENING, status=502, times=50)
    elif fault == "verdict-write-500":  # the pending goes through, the verdict does not
        world.fake.inject("POST", rf"/repos/{REPO}/statuses/{approved}", status=500, skip=1,
                          times=50)
    elif fault == "rate-limit-wait":
        world.fake.inject_secondary_rate_limit("GET", rf"/repos/{REPO}/pulls/1/reviews",
                                               retry_after=600, times=50)
    elif fault == "pushed-since-the-event":  # the event names the approved head; the pull
        push_to_cr5(world, {"NOTES.md": "pushed after the event\n"})  # request moved on
        world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", status=502, times=50)
    else:  # a review on a fork: the event names only the head, and finding its pull fails
        world.fake.inject("GET", rf"/repos/{REPO}/pulls", status=502, times=50)
    event, payload = "pull_request_review", review_event(world, approved)
    if fault == "fork-review-lookup-502":
        event, payload = "workflow_run", workflow_run_event(approved, [])
    code, output = event_run(world, capsys, tmp_path, monkeypatch, event, payload,
                             "--retries", "1")
    assert code == 2, output
    assert "Traceback" not in output
    assert world.verdict(approved)["state"] != "success"
    expected = {"pull-502": "error", "verdict-write-500": "pending", "rate-limit-wait": "error",
                "pushed-since-the-event": "pending", "fork-review-lookup-502": "error"}[fault]
    assert world.verdict(approved)["state"] == expected
    if fault == "pushed-since-the-event":
        assert world.verdict()["state"] == "error"  # the head it read


@pytest.mark.parametrize(("case", "words"), [
    ("pull-without-head", "pull request #1 is malformed: it does not name the head"),
    ("file-without-filename", "entry 1 has no filename"),
    ("contents-not-json", "could not read .promotion/policy.yaml"),
    ("content-not-base64", "GitHub's content is not base64"),
    ("content-shorter-than-its-size", "GitHub says 999 bytes but sent 3"),
])
def test_malformed_github_data_is_an_error_status_never_a_crash(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, case: str, words: str) -> None:
    world.review("rita")
    world.review("alice")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    assert world.verdict()["state"] == "success"
    policy = rf"/repos/{REPO}/contents/\.promotion/policy\.yaml"
    content = {"type": "file", "encoding": "base64", "name": "policy.yaml",
               "path": ".promotion/policy.yaml", "sha": "a" * 40, "size": 3,
               "content": "***not base64***"}
    if case.startswith("content"):  # a policy GraphQL cannot give byte for byte: the contents API
        world.fake.inject_graphql(OPENING, rewrite=unproven_policy, times=50)
    if case == "pull-without-head":
        world.fake.inject_graphql(OPENING, rewrite=lambda answer: changed(
            answer, opened, headRefOid=None), times=50)
    elif case == "file-without-filename":
        world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files",
                          body=json.dumps([{"status": "modified", "sha": "a" * 40}]).encode(),
                          times=50)
    elif case == "contents-not-json":
        world.fake.inject("GET", policy, body=b"{not json", times=50)
    elif case == "content-not-base64":
        world.fake.inject("GET", policy, body=json.dumps(content).encode(), times=50)
    else:
        content.update(content="YWJj", size=999)
        world.fake.inject("GET", policy, body=json.dumps(content).encode(), times=50)
    code, output = event_run(world, capsys, tmp_path, monkeypatch, "pull_request_review",
                             review_event(world), "--retries", "0")
    assert code == 2, output
    assert "Traceback" not in output
    assert world.verdict()["state"] == "error"
    assert words in str(world.verdict()["description"]) + output


@pytest.fixture
def many_reviews(world: World) -> World:
    """102 reviews: two approvals, 99 comments, and sam's request for changes on page 2."""
    world.review("rita")
    world.review("alice")
    for _ in range(99):
        world.review("dana", "COMMENTED")
    world.review("sam", "CHANGES_REQUESTED")
    return world


@pytest.mark.parametrize("fault", ["none", "page-1-without-next-link", "page-2-empty",
                                   "list-shifted-between-pages"])
def test_an_incomplete_review_list_is_noticed(
        many_reviews: World, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    world = many_reviews
    reviews = rf"/repos/{REPO}/pulls/1/reviews"
    if fault == "page-1-without-next-link":
        first_only = f'<{world.fake.base_url}{reviews}?page=1>; rel="first"'
        world.fake.inject("GET", reviews, headers={"Link": first_only}, times=50)
    elif fault == "page-2-empty":
        world.fake.inject("GET", reviews, query={"page": "2"}, body=b"[]", times=50)
    elif fault == "list-shifted-between-pages":
        first_two = requests.get(f"{world.fake.base_url}{reviews}?per_page=2", timeout=5).content
        world.fake.inject("GET", reviews, query={"page": "2"}, body=first_two, times=50)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states()
    if fault == "none":
        assert (code, world.verdict()["state"]) == (0, "failure"), output
    else:
        assert (code, world.verdict()["state"]) == (2, "error"), output
        assert ("the review list is incomplete" in output
                or "listed a review of #1 twice" in output)


def test_a_newer_evaluation_keeps_an_older_run_from_writing_success(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")

    def another_run_starts() -> None:  # while this run lists the files
        world.fake.add_status(REPO, world.head, state="pending", context="promotion/approvals",
                              description="promotion-bot is evaluating this commit")

    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", action=another_run_starts)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.states() == ["pending", "pending"]  # ours, then the other run's: no success
    assert "a newer evaluation of this commit started meanwhile" in output
    assert world.fake.comments == []  # the newer run writes the comment from newer facts


def test_the_gate_edits_only_its_own_comment(world: World,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    forged = f"{MARKER}\n## Promotion approvals: ✅ approved\n"
    world.fake.add_comment(REPO, 1, user="gh-author", body=forged)
    world.review("rita")
    for _ in range(2):
        code, output = world.gate("--pr", "1", capsys=capsys)
        assert code == 0, output
    mine, theirs = ([c for c in world.fake.comments if c["user"] == user]
                    for user in ("github-actions[bot]", "gh-author"))
    assert [c["body"] for c in theirs] == [forged]  # untouched
    assert len(mine) == 1 and "Waiting for administrator" in str(mine[0]["body"])


def test_author_text_in_the_comment_pings_and_links_nothing(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    request = world.origin / "change-requests/CR-2026-0005.yaml"
    git(world.origin, "checkout", "-q", "cr-5")
    hostile = ("@example-org/promotion-admins <img src=x onerror=alert(1)> "
               "[docs](https://evil.example) | #1 www.evil.example `x`")
    text = request.read_text().replace("title: Tune the fraud keywords",
                                       f"title: {json.dumps(hostile)}")
    git(world.origin, "checkout", "-q", "main")
    push_to_cr5(world, {"change-requests/CR-2026-0005.yaml": text}, "a hostile title")
    world.review("rita")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    body = str(world.fake.comments[-1]["body"])
    assert "@\u200bexample-org/promotion-admins" in body  # the title is there, inert
    prose = re.sub(r"(?<!\\)(`+)[^`].*?(?<!\\)\1", "", body)  # code spans ping nothing
    for live in (r"@example-org", r"(?<!\\)<img", r"(?<!\\)\]\(", r"https://evil", r"#1 ",
                 r"www\.evil"):
        assert not re.search(live, prose), live
    [row] = [line for line in body.splitlines() if "CR-2026-0005" in line and "|" in line]
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells: no cell escaped its table


# -- attacks on the approval engine (issue 13), end to end over the loopback GitHub ------------

CLASSIFIER = "configs/models/classifier.yaml"


def model_change_request(origin: Path, artifact: str) -> str:
    return ("change_id: CR-2026-0006\nchange_type: model\ntarget: classifier\n"
            'title: Move the classifier\nproposed_version: "1.1.0"\ncurrent_version: "1.0.0"\n'
            f"artifacts:\n  - path: {artifact}\n    sha256: {sha256_file(origin / artifact)}\n"
            "models:\n  - name: classifier\n    identifier: ollama/qwen2.5:7b-instruct@sha256:"
            f"{'2b' * 32}\nrollback_plan: Revert the pull request.\n")


def test_renaming_a_watched_config_does_not_drop_its_condition(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    # classifier.yaml -> classifier.yml with an external endpoint: the watch is on *.yaml
    git(world.origin, "checkout", "-q", "-b", "cr-6", world.base)
    renamed = "configs/models/classifier.yml"
    text = (world.origin / CLASSIFIER).read_text().replace(
        "endpoint: http://127.0.0.1:11434", "endpoint: https://api.llm.example.com/v1")
    git(world.origin, "mv", CLASSIFIER, renamed)
    (world.origin / renamed).write_text(text)
    (world.origin / "change-requests/CR-2026-0006.yaml").write_text(
        model_change_request(world.origin, renamed))
    head = commit_all(world.origin, "rename and move the endpoint")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=head, head_ref="cr-6")
    world.head = head
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.verdict()["description"] == "#1 into main: Waiting for security_officer"
    assert (f"condition external-llm-egress: {renamed} (renamed from {CLASSIFIER}): endpoint "
            'changed from "http://127.0.0.1:11434" to "https://api.llm.example.com/v1"') in output


def test_a_review_without_a_time_cannot_override_a_later_objection(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.review("rita")
    world.review("alice")
    world.review("sam", "CHANGES_REQUESTED")
    world.review("sam")  # a later approval by the same person, which GitHub gives no time
    world.fake.repos[REPO.lower()].pulls[1].reviews[-1].submitted_at = None
    world.review("sam", "CHANGES_REQUESTED")  # ... and sam objects again
    world.fake.repos[REPO.lower()].pulls[1].reviews[-1].submitted_at = None
    world.fake.repos[REPO.lower()].pulls[1].reviews[-2].submitted_at = "2026-01-01T00:10:00Z"
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states()
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "is CHANGES_REQUESTED but has no submitted_at" in output


def test_a_pending_team_member_is_not_counted_whatever_github_lists(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    # the member list comes back with pete, whose invitation is still pending
    users = [world.fake.add_user(login) | {"state": state}
             for login, state in (("alice", "active"), ("dana", "active"), ("pete", "pending"))]
    world.fake.inject("GET", r"/orgs/example-org/teams/promotion-admins/members",
                      body=json.dumps(users).encode(), times=5)
    world.review("rita")
    world.review("pete")
    code, output = world.gate("--pr", "1", "--format", "json", capsys=capsys)
    assert code == 0, output
    assert world.verdict()["description"] == "#1 into main: Waiting for administrator"
    decision = json.loads(output)["decision"]
    assert {"login": "pete", "reason": "their membership of @example-org/promotion-admins is "
            "pending, not active"} in [{k: i[k] for k in ("login", "reason")}
                                       for i in decision["ignored_reviews"]]


def test_a_co_author_named_by_a_no_reply_address_cannot_approve(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    push_to_cr5(world, {"NOTES.md": "pairing\n"},
                "pairing\n\nCo-authored-by: Alice <4242+alice@users.noreply.github.com>")
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", "--format", "json", capsys=capsys)
    assert code == 0, output
    assert world.verdict()["description"] == "#1 into main: Waiting for administrator"
    decision = json.loads(output)["decision"]
    assert {"login": "alice", "reason": "contributed commits to this pull request (co-author "
            f"of {world.head[:7]})"} in [{k: i[k] for k in ("login", "reason")}
                                         for i in decision["ignored_reviews"]]
    admin = next(role for role in decision["roles"] if role["role"] == "administrator")
    assert admin["candidates"][0]["logins"] == ["dana"]  # not alice, not pete (pending)


@pytest.mark.parametrize("edit", ["deleted", "edited"])
def test_a_merged_change_request_cannot_be_rewritten_through_the_gate(
        world: World, capsys: pytest.CaptureFixture[str], edit: str) -> None:
    merged = "change-requests/CR-2026-0001.yaml"
    policy = (world.origin / ".promotion/policy.yaml").read_text()
    assert "change-requests" not in policy  # the policy leaves the directory ungoverned
    text = None if edit == "deleted" else (world.origin / merged).read_text().replace(
        "title:", "title: Rewritten:")
    push_to_cr5(world, {merged: text}, "rewrite history")
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states()
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert f"this branch {'deletes' if edit == 'deleted' else 'modifies'} a merged change " \
        "request; merged change requests are immutable" in output


# -- the schedule: no green outlives the membership it relied on -------------------------------


@pytest.mark.parametrize("via", ["--all-open", "schedule-event"])
def test_the_schedule_withdraws_a_green_when_an_approver_leaves_the_team(
        two_pulls: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    world = two_pulls
    world.review("alice")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    assert world.verdict()["state"] == "success"
    del world.fake.teams[("example-org", "promotion-admins")].members["alice"]  # alice leaves
    if via == "--all-open":
        code, output = world.gate("--all-open", capsys=capsys)
    else:
        code, output = event_run(world, capsys, tmp_path, monkeypatch, "schedule",
                                 {"schedule": "*/30 * * * *"})
    assert code == 0, output
    assert world.verdict()["description"] == "#1 into main: Waiting for administrator"
    assert world.states()[-2:] == ["pending", "pending"]  # invalidated, then judged
    assert "#2" not in output  # into landing: not governed, not listed


@pytest.mark.parametrize("lost", ["a-team-member", "an-open-pull-request"])
def test_an_incomplete_list_of_members_or_siblings_is_noticed(
        two_pulls: World, capsys: pytest.CaptureFixture[str], lost: str) -> None:
    """sam's objection counts only while GitHub lists sam in the reviewers' team; #1 is judged
    only while GitHub lists it among the open pull requests. A list that loses either would
    turn the shared head green."""
    world = two_pulls
    world.review("alice")
    world.review("sam", "CHANGES_REQUESTED")
    both = ("--governed-branch", "main", "--governed-branch", "landing")
    if lost == "a-team-member":
        without_sam = [world.fake.add_user(login) for login in ("rita", "dana")]
        world.fake.inject("GET", r"/orgs/example-org/teams/routing-reviewers/members",
                          body=json.dumps(without_sam).encode(), times=50)
    else:  # the opening query's open pull requests: #1 is left out, the count stays
        def without_1(answer: dict[str, Any]) -> dict[str, Any]:
            listed = answer["data"]["repository"]["pullRequests"]
            listed["nodes"] = [p for p in listed["nodes"] if p["number"] != 1]
            return answer

        world.fake.inject_graphql(OPENING, rewrite=without_1, times=50)
    code, output = world.gate("--pr", "2", *both, capsys=capsys)
    assert "success" not in world.states()
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "the list is incomplete" in output


# -- the requests cut for issue 18 must not open a hole ------------------------------------------


def test_a_codeowners_graphql_cannot_give_byte_for_byte_is_read_through_the_contents_api(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """GraphQL gives a blob as UTF-8 text: a byte that is not UTF-8 comes back replaced, and
    the file would parse. Its text no longer hashes to the blob's id, so the gate reads the
    file through the contents API and sees what GitHub sees: not UTF-8, not a CODEOWNERS."""
    codeowners = world.origin / "CODEOWNERS"
    codeowners.write_bytes(b"# caf\xe9\n" + codeowners.read_bytes())
    commit_all(world.origin, "a Latin-1 comment in CODEOWNERS")
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states()
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "CODEOWNERS: not UTF-8" in output


def test_only_the_teams_of_required_roles_are_listed_and_each_still_blocks(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """An external endpoint makes security_officer required: its team is listed (and counted)
    with the others the change needs, the privacy officers' team is not, and the security
    officer's request for changes blocks."""
    text = (world.origin / CLASSIFIER).read_text().replace(
        "endpoint: http://127.0.0.1:11434", "endpoint: https://api.llm.example.com/v1")
    push_to_cr5(world, {CLASSIFIER: text}, "an external endpoint")
    world.review("rita")
    world.review("alice")
    world.review("sec", "CHANGES_REQUESTED")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert (code, world.verdict()["state"]) == (0, "failure"), output
    assert world.verdict()["description"] == "#1 into main: Changes requested by sec"
    listed = {r.path.split("/")[4] for r in world.fake.calls("GET", r"/orgs/.*/members")}
    assert listed == {"routing-reviewers", "promotion-admins", "security-officers"}


def test_a_push_after_the_lists_is_noticed_by_the_query_that_confirms_them(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The head is read again in the one query that confirms the lists, after the team lists:
    a push while the gate lists a team pairs the old head with files it no longer has."""
    world.review("rita")
    world.review("alice")
    git(world.origin, "checkout", "-q", "cr-5")
    (world.origin / "NOTES.md").write_text("pushed while the gate lists a team\n")
    pushed = commit_all(world.origin, "a later push")
    git(world.origin, "checkout", "-q", "main")
    world.fake.inject("GET", r"/orgs/example-org/teams/promotion-admins/members",
                      action=lambda: world.fake.update_pull(REPO, 1, head_sha=pushed))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 2, output
    assert "moved during the evaluation" in output
    assert "success" not in world.states() + world.states(pushed)
    assert world.verdict()["state"] == "error"


def test_a_team_list_that_failed_its_count_is_not_trusted_for_the_next_head(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The schedule judges many heads in one run and lists each team once. A list whose count
    did not match fails its own head, and is listed anew for the next: kept, it would hide
    sam's objection on #3 and turn #3's head green."""
    git(world.origin, "checkout", "-q", "-b", "cr-7", world.head)
    (world.origin / "NOTES.md").write_text("the same change, another branch\n")
    other_head = commit_all(world.origin, "another branch")
    git(world.origin, "checkout", "-q", "main")
    world.fake.add_pull(REPO, 3, user="gh-author", base_ref="main", base_sha=world.base,
                        head_ref="cr-7", head_sha=other_head, title="CR-2026-0005 again")
    for user, state in (("rita", "APPROVED"), ("alice", "APPROVED"),
                        ("sam", "CHANGES_REQUESTED")):
        world.fake.add_review(REPO, 3, user=user, state=state, commit_id=other_head)
    without_sam = [world.fake.add_user(login) for login in ("rita", "dana")]
    world.fake.inject("GET", r"/orgs/example-org/teams/routing-reviewers/members",
                      body=json.dumps(without_sam).encode(), times=1)  # #1's listing only
    code, output = world.gate("--all-open", capsys=capsys)
    assert code == 2, output
    assert world.verdict()["state"] == "error"  # #1: the list it got is incomplete
    assert (world.verdict(other_head)["state"],
            world.verdict(other_head)["description"]) == (
        "failure", "#3 into main: Changes requested by sam"), output


def test_an_open_pull_request_list_that_failed_its_count_is_not_trusted_for_the_next_head(
        two_pulls: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An event names an older head of #2, so the run judges two heads and reads the open pull
    requests once. The first listing loses #1 and fails its count on the first head; kept, it
    would leave #1 unjudged on the shared head and #2 alone would turn it green."""
    world = two_pulls
    # more open pull requests than the opening query's one page: they are listed through REST
    world.fake.inject_graphql(OPENING, rewrite=more_than_a_page_open, times=50)
    listed = requests.get(f"{world.fake.base_url}/repos/{REPO}/pulls", timeout=5).json()
    world.fake.inject("GET", rf"/repos/{REPO}/pulls",
                      body=json.dumps([p for p in listed if p["number"] == 2]).encode(), times=1)
    payload = review_event(world, world.base)
    payload["pull_request"]["number"] = 2  # type: ignore[index]
    code, output = event_run(world, capsys, tmp_path, monkeypatch, "pull_request_review",
                             payload, "--governed-branch", "main", "--governed-branch", "landing")
    assert code == 2, output
    assert world.verdict(world.base)["state"] == "error"  # the older head: the list is short
    assert "success" not in world.states()
    assert world.verdict()["description"] == (
        "#1 into main: Waiting for administrator; "
        "#2 into landing: No governed change: no role has to approve")


# -- red team: a pull request retargeted while the gate judges it ---------------------------------


def test_a_pull_request_retargeted_between_the_open_list_and_its_read_is_an_error(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The open list says #1 is into main (governed); the author retargets it to `landing`,
    a branch that already holds the governed change, before the gate reads #1. Judged by
    landing's diff, #1 has no governed change: a green the author turns into main's by
    retargeting back. The base that made #1 governed must be the base it is judged by."""
    git(world.origin, "branch", "landing", world.head)
    governed_change = world.head
    head = push_to_cr5(world, {"NOTES.md": "harmless\n"}, "notes")
    world.review("rita")  # the administrator is missing: #1 into main is not approved
    world.fake.inject_graphql(OPENING, action=lambda: world.fake.update_pull(
        REPO, 1, base_ref="landing", base_sha=governed_change))
    code, output = world.gate("--all-open", capsys=capsys)
    assert "success" not in world.states(head), output
    assert (code, world.verdict(head)["state"]) == (2, "error"), output
    assert "retargeted during the evaluation" in output


def test_a_pull_request_retargeted_after_its_lists_is_noticed_by_the_query_that_confirms_them(
        two_pulls: World, capsys: pytest.CaptureFixture[str]) -> None:
    """#2 brings the shared head into `landing`, where it changes nothing governed: approved.
    While the gate lists #2's reviews its author retargets it to main, where the head brings
    the ruleset change nobody approved. The query that confirms the lists reads the base
    again: the head stays without success."""
    world = two_pulls
    world.fake.update_pull(REPO, 1, state="closed")
    world.fake.update_pull(REPO, 2, head_ref="cr-5-again")  # GitHub: one pull per head and base
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/2/reviews", action=lambda: (
        world.fake.update_pull(REPO, 2, base_ref="main", base_sha=world.base)))
    code, output = world.gate("--pr", "2", "--governed-branch", "main",
                              "--governed-branch", "landing", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "#2 was retargeted during the evaluation (landing -> main)" in output


def test_a_sibling_retargeted_into_a_governed_branch_during_the_run_is_noticed(
        two_pulls: World, capsys: pytest.CaptureFixture[str]) -> None:
    """#1 into main is approved; #2 has the same head into `landing`, not governed, so it is
    not judged. While the gate lists #1's reviews, #2 is retargeted to main, where nobody
    approved it: a success on the shared head would make #2 mergeable unjudged."""
    world = two_pulls
    world.review("alice")  # #1 into main: approved
    world.fake.update_pull(REPO, 2, head_ref="cr-5-again")
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", action=lambda: (
        world.fake.update_pull(REPO, 2, base_ref="main", base_sha=world.base)))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "#2 was retargeted during the evaluation (landing -> main)" in output


def test_a_pull_request_seen_moving_is_listed_again_for_the_next_head(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The schedule judges #1's head, then #3's. While the gate lists #1's reviews, #1's
    author pushes #3's approved head to #1. #1's own head fails (it moved), and the run knows
    its list of open pull requests is stale: kept, it would judge #3's head without #1, which
    now has that head and nobody's approval, and turn it green."""
    git(world.origin, "checkout", "-q", "-b", "cr-7", world.head)
    (world.origin / "NOTES.md").write_text("the same change, another branch\n")
    other_head = commit_all(world.origin, "another branch")
    git(world.origin, "checkout", "-q", "main")
    world.fake.add_pull(REPO, 3, user="gh-author", base_ref="main", base_sha=world.base,
                        head_ref="cr-7", head_sha=other_head, title="CR-2026-0005 again")
    for user in ("rita", "alice"):
        world.fake.add_review(REPO, 3, user=user, state="APPROVED", commit_id=other_head)
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", action=lambda: (
        world.fake.update_pull(REPO, 1, head_sha=other_head)))
    code, output = world.gate("--all-open", capsys=capsys)
    assert code == 2, output
    assert world.verdict()["state"] == "error"  # #1's old head: it moved
    assert "success" not in world.states(other_head), output
    assert world.verdict(other_head)["description"] == (
        "#1 into main: Waiting for reviewer, administrator; "
        "#3 into main: All 2 required roles approved"), output


def test_a_pull_request_opened_with_the_head_while_another_closes_is_noticed(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """#1 into main is approved. While the gate lists #1's reviews, its author opens #5 with
    the same head into main (from another branch name) and closes #4, an older pull request
    of theirs: the count of open pull requests is unchanged, but #5, approved by nobody, would
    be mergeable on the head's success. The query that confirms the lists reads the open pull
    requests' heads and bases, so the head's siblings are the ones judged."""
    world.fake.add_pull(REPO, 4, user="gh-author", base_ref="main", base_sha=world.base,
                        head_ref="docs", head_sha=world.base, title="an old draft")
    world.review("rita")
    world.review("alice")

    def swap() -> None:
        world.fake.add_pull(REPO, 5, user="gh-author", base_ref="main", base_sha=world.base,
                            head_ref="cr-5-again", head_sha=world.head, title="the same head")
        world.fake.update_pull(REPO, 4, state="closed")

    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", action=swap)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "the open pull requests with head" in output


def test_a_codeowners_graphql_proves_does_not_outrank_one_it_cannot_in_a_location_first(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """GitHub reads the first CODEOWNERS of .github/, the root and docs/. The root's (the
    example's, covering every governed path) hashes to its blob and is taken from GraphQL;
    .github/CODEOWNERS, first in GitHub's order, has a Latin-1 byte, so GraphQL cannot give
    it byte for byte. It still wins: read through the contents API, not UTF-8, an error."""
    (world.origin / ".github").mkdir(exist_ok=True)
    (world.origin / ".github" / "CODEOWNERS").write_bytes(
        b"# caf\xe9\n" + (world.origin / "CODEOWNERS").read_bytes())
    commit_all(world.origin, "a CODEOWNERS in .github/ too")
    world.fake.update_pull(REPO, 1, base_sha=git(world.origin, "rev-parse", "HEAD"))
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert ".github/CODEOWNERS: not UTF-8" in output


# -- issue 18: two GraphQL queries instead of seven requests must not open a hole --------------


def with_errors(answer: dict[str, Any]) -> dict[str, Any]:
    """GraphQL's partial answer: data beside errors (a field GitHub could not resolve)."""
    answer["errors"] = [{"type": "SERVICE_UNAVAILABLE", "path": ["repository"],
                         "message": "Something went wrong while executing your query."}]
    return answer


def in_open_list(answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = answer["data"]["repository"]["pullRequests"]
    return found


def confirmed(name: str) -> Any:
    """An object of the confirming query's answer, by its alias."""
    return lambda answer: answer["data"][name]


@pytest.mark.parametrize(("query", "fault", "words"), [
    (OPENING, {"status": 502}, "GitHub answered 502"),
    (OPENING, {"body": b"{not json"}, "could not read pull request #1"),
    (OPENING, {"body": b'{"data": null}'}, "GitHub's GraphQL answer has no data"),
    (OPENING, {"body": b'{"errors": [{"message": "Timeout on validation of query"}]}'},
     "Timeout on validation of query"),
    (OPENING, {"rewrite": with_errors}, "Something went wrong while executing your query"),
    (OPENING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["repository"],
                                            pullRequest=None)},
     "does not give pull request #1"),
    (OPENING, {"rewrite": lambda a: changed(a, opened, author=None)}, "it has no author"),
    (OPENING, {"rewrite": lambda a: changed(a, opened, baseRef=None)},
     "its base branch main does not exist"),
    (OPENING, {"rewrite": lambda a: changed(a, opened, changedFiles="300")},
     "the count of changed files"),
    (OPENING, {"rewrite": lambda a: changed(a, in_open_list, totalCount=5)},
     "counts 5 of the open pull requests but lists 1: the list is incomplete"),
    (OPENING, {"rewrite": lambda a: changed(a, lambda a: opened(a)["comments"], totalCount=3)},
     "counts 3 of the comments but lists 1"),
    (OPENING, {"rewrite": lambda a: changed(a, lambda a: opened(a)["baseRef"]["target"],
                                            oid=None)},
     "the commit of main"),
    (CONFIRMING, {"status": 502}, "GitHub answered 502"),
    (CONFIRMING, {"body": b'{"data": null}'}, "GitHub's GraphQL answer has no data"),
    (CONFIRMING, {"rewrite": with_errors}, "Something went wrong while executing your query"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, confirmed("pull0"), pullRequest=None)},
     "could not read pull request #1 again"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["pull0"]["pullRequest"],
                                               reviews={"totalCount": "2"})},
     "could not count the reviews of #1"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, confirmed("team0"), team=None)},
     "GitHub counts None member(s)"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["open"]["pullRequests"],
                                               nodes=None)},
     "its GraphQL answer lists none"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, confirmed("file0"), object=None)},
     "change-requests/CR-2026-0005.yaml at"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["file0"]["object"]["file"],
                                               mode=0o120000)},
     "mode 0o120000"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"], pull0=["not", "an",
                                                                               "object"])},
     "could not read pull request #1 again"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["pull0"]["pullRequest"],
                                               timelineItems=None)},
     "its force-pushes and retargets"),
    (CONFIRMING, {"rewrite": lambda a: changed(a, lambda a: a["data"]["pull0"]["pullRequest"],
                                               timelineItems={"nodes": [{"id": "forged"}]})},
     "#1 was force-pushed or retargeted during the evaluation"),
])
def test_every_wrong_graphql_answer_ends_in_an_error_status_never_a_crash(
        world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, query: str, fault: dict[str, Any],
        words: str) -> None:
    """Each answer of the two queries, wrong in one way: null where GitHub gives an object,
    another type, errors beside data, a count that disagrees with its list, no JSON at all.
    The earlier success on the head is taken back and the error names what was wrong."""
    world.review("rita")
    world.review("alice")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    assert world.verdict()["state"] == "success"
    world.fake.inject_graphql(query, times=50, **fault)
    code, output = event_run(world, capsys, tmp_path, monkeypatch, "pull_request_review",
                             review_event(world), "--retries", "0")
    assert code == 2, output
    assert "Traceback" not in output
    assert world.states()[-2:] == ["pending", "error"], output
    assert words in output


@pytest.mark.parametrize("fault", ["errors-with-data", "malformed-open-list"])
def test_a_head_named_by_a_wrong_opening_answer_is_taken_back_by_hand_too(
        world: World, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    """`gate --pr N` knows the head only from the opening query: an answer wrong elsewhere but
    naming the head still takes back the success written there before."""
    world.review("rita")
    world.review("alice")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    rewrite = with_errors if fault == "errors-with-data" else (
        lambda a: changed(a, in_open_list, nodes=[]))
    world.fake.inject_graphql(OPENING, rewrite=rewrite, times=50)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 2, output
    assert world.states() == ["pending", "success", "pending", "error"], output


def test_the_change_request_is_rebuilt_from_its_patch_and_confirmed_at_the_head(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The pull request adds its change request: its text comes from the file list's patch
    (it hashes to the listed blob) and the query that confirms the lists reads that blob's id
    at the head; the contents API is not asked."""
    world.review("rita")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert (code, world.verdict()["description"]) == (
        0, "#1 into main: Waiting for administrator"), output
    assert world.fake.calls("GET", r".*/contents/.*") == []
    [confirming] = [r for r in world.fake.calls("POST", "/graphql")
                    if CONFIRMING in r.body["query"]]
    variables = confirming.body["variables"]
    assert (variables["rev0"], variables["path0"]) == (
        world.head, "change-requests/CR-2026-0005.yaml")


def lower_the_bar_in_the_patch(body: Any) -> Any:
    """The file list with the change request's patch saying `docs` where the file says
    `ruleset` (what a list that is not the head's file would say)."""
    for item in body:
        if item["filename"] == "change-requests/CR-2026-0005.yaml":
            item["patch"] = item["patch"].replace("change_type: ruleset", "change_type: docs")
    return body


@pytest.mark.parametrize("lie", ["patch-only", "patch-and-blob-id"])
def test_a_file_list_whose_patch_is_not_the_head_s_file_cannot_lower_the_bar(
        world: World, capsys: pytest.CaptureFixture[str], lie: str) -> None:
    """A patch that does not hash to its listed blob is not used: the change request is read
    through the contents API at the head. A patch with a blob id to match (a list of another
    commit) is used for naming the roles, but the query that confirms the lists finds another
    blob at the head: an error, never a green judged by the other file."""
    world.review("rita")
    world.review("alice")
    world.review("dana", "COMMENTED")

    def rewrite(body: Any) -> Any:
        body = lower_the_bar_in_the_patch(body)
        for item in body:
            if lie == "patch-and-blob-id" and item["filename"].startswith("change-requests/"):
                text = "".join(line[1:] + "\n" for line in item["patch"].split("\n")[1:])
                item["sha"] = hashlib.sha1(b"blob %d\0" % len(text.encode()) + text.encode(),
                                           usedforsecurity=False).hexdigest()
        return body

    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", rewrite=rewrite, times=50)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states() or lie == "patch-only", output
    if lie == "patch-only":  # read at the head instead: the ruleset needs both roles, given
        assert (code, world.verdict()["state"]) == (0, "success"), output
        assert [r.path for r in world.fake.calls("GET", r".*/contents/.*")] == [
            f"/repos/{REPO}/contents/change-requests/CR-2026-0005.yaml"]
    else:
        assert (code, world.verdict()["state"]) == (2, "error"), output
        assert "change-requests/CR-2026-0005.yaml at" in output
        assert "is not the file GitHub listed in the pull request" in output


@pytest.mark.parametrize("kind", ["symlink", "submodule", "binary", "not-utf8"])
def test_a_base_policy_graphql_cannot_prove_is_read_through_the_contents_api(
        world: World, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    """The base's policy as a symlink (GraphQL's blob is the path it points to), a submodule,
    a binary file or text that is not UTF-8: none is taken from GraphQL; the contents API
    reads it as GitHub has it, and the gate refuses it with an error, never a success."""
    policy = world.origin / ".promotion/policy.yaml"
    text = policy.read_bytes()
    if kind == "symlink":
        (world.origin / ".promotion/real-policy.yaml").write_bytes(text)
        policy.unlink()
        policy.symlink_to("real-policy.yaml")
        commit_all(world.origin, "the policy, through a symlink")
    elif kind == "submodule":
        git(world.origin, "rm", "-q", "--cached", ".promotion/policy.yaml")
        git(world.origin, "update-index", "--add", "--cacheinfo",
            f"160000,{world.base},.promotion/policy.yaml")
        git(world.origin, "commit", "-q", "-m", "the policy, as a submodule")
        git(world.origin, "checkout", "-q", "--", ".")
    else:
        policy.write_bytes(text + (b"\0" if kind == "binary" else b"# caf\xe9\n"))
        commit_all(world.origin, f"a {kind} policy")
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert f"/repos/{REPO}/contents/.promotion/policy.yaml" in [
        r.path for r in world.fake.calls("GET", r".*/contents/.*")]


def test_a_large_base_policy_is_read_through_the_contents_api_and_judged(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A policy larger than GraphQL's text (isTruncated): the contents API reads it whole."""
    policy = world.origin / ".promotion/policy.yaml"
    policy.write_text(policy.read_text() + "".join(f"# {i:07d} {'x' * 60}\n"
                                                   for i in range(9000)))
    commit_all(world.origin, "a long comment in the policy")
    world.review("rita")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert (code, world.verdict()["description"]) == (
        0, "#1 into main: Waiting for administrator"), output
    assert f"/repos/{REPO}/contents/.promotion/policy.yaml" in [
        r.path for r in world.fake.calls("GET", r".*/contents/.*")]


@pytest.mark.parametrize("move", ["closed", "reopened"])
def test_a_pull_request_closed_or_reopened_during_the_run_is_noticed(
        two_pulls: World, capsys: pytest.CaptureFixture[str], move: str) -> None:
    """#1 into main is approved; #2 has the same head into landing (governed too). While the
    gate lists #1's reviews, #2 is closed (the head was judged with it), or #3, closed with
    the same head into main and approved by nobody, is reopened: the open pull requests with
    the head are no longer the ones judged, and the head gets no success."""
    world = two_pulls
    world.review("alice")
    world.fake.update_pull(REPO, 2, head_ref="cr-5-again")
    world.fake.add_pull(REPO, 3, user="gh-author", base_ref="main", base_sha=world.base,
                        head_ref="cr-5-third", head_sha=world.head, title="closed")
    world.fake.update_pull(REPO, 3, state="closed")
    number = 2 if move == "closed" else 3
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", action=lambda: (
        world.fake.update_pull(REPO, number, state="open" if move == "reopened" else "closed")))
    code, output = world.gate("--pr", "1", "--governed-branch", "main",
                              "--governed-branch", "landing", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "the open pull requests with head" in output


def test_a_comment_by_an_account_named_like_the_bot_is_never_edited(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """GraphQL spells the bot's login without "[bot]": `github-actions`, a login a person can
    hold. Their comment with the marker is not the bot's (GitHub's viewerDidAuthor says so):
    it stays untouched, and the bot writes and then edits its own."""
    forged = f"{MARKER}\n## Promotion approvals: ✅ approved\n"
    world.fake.add_user("github-actions")
    world.fake.add_comment(REPO, 1, user="github-actions", body=forged)
    world.review("rita")
    for _ in range(2):
        code, output = world.gate("--pr", "1", capsys=capsys)
        assert code == 0, output
    theirs = [c for c in world.fake.comments if c["user"] == "github-actions"]
    mine = [c for c in world.fake.comments if c["user"] == "github-actions[bot]"]
    assert [c["body"] for c in theirs] == [forged]
    assert len(mine) == 1 and "Waiting for administrator" in str(mine[0]["body"])


def test_the_sticky_comment_deleted_during_the_run_is_written_anew(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The opening query found the bot's comment; someone deletes it before the gate edits
    it: the edit finds nothing (404), the gate writes a new comment, the status stands."""
    world.review("rita")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    world.review("alice")
    [old] = world.fake.comments
    world.fake.inject("POST", rf"/repos/{REPO}/statuses/{world.head}", skip=1, action=lambda: (
        world.fake._comment_log.clear()))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.verdict()["state"] == "success"
    [new] = world.fake.comments
    assert new["id"] != old["id"] and "approved" in str(new["body"])


def test_more_comments_than_one_page_are_listed_to_find_the_bot_s(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Past the opening query's 100 comments the bot's may be anywhere: the gate lists them
    (REST) and edits its own in place, whoever else carries the marker."""
    world.review("rita")
    assert world.gate("--pr", "1", capsys=capsys)[0] == 0
    [mine] = world.fake.comments
    for index in range(100):
        world.fake.add_comment(REPO, 1, user="gh-author",
                               body=f"{MARKER}\nforged {index}" if index % 2 else "a remark")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert code == 0, output
    assert world.fake.calls("GET", rf"/repos/{REPO}/issues/1/comments")
    edited = [c for c in world.fake.comments if c["id"] == mine["id"]]
    assert "approved" in str(edited[0]["body"])
    assert len([c for c in world.fake.comments if c["user"] == "github-actions[bot]"]) == 1


def test_a_change_request_added_as_a_symlink_is_not_read_as_its_target_s_name(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A symlink's blob is the path it points to, and a path can be any text: here a whole
    change request. GitHub's patch of the new symlink is that text, and it hashes to the
    listed blob, but it is not the file a checkout (or the contents API) reads there, which
    follows the link. The query that confirms the lists reads the entry's mode at the head:
    a symlink is refused, as `check` refuses a symlinked artifact."""
    git(world.origin, "checkout", "-q", "cr-5")
    request = world.origin / "change-requests/CR-2026-0005.yaml"
    text = request.read_text()
    request.unlink()
    request.symlink_to(text)
    head = commit_all(world.origin, "the change request as a symlink")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=head)
    world.head = head
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "change-requests/CR-2026-0005.yaml at" in output and "mode 0o120000" in output


def test_an_opening_answer_whose_open_list_disagrees_with_its_pull_request_is_no_success(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """One answer, two heads for #1: the pull request says the approved head, the list of open
    pull requests another. The head is then one no open pull request is listed with: it stays
    pending, never green on half an answer."""
    world.review("rita")
    world.review("alice")

    def elsewhere(answer: dict[str, Any]) -> dict[str, Any]:
        for node in in_open_list(answer)["nodes"]:
            node["headRefOid"] = world.base
        return answer

    world.fake.inject_graphql(OPENING, rewrite=elsewhere, times=50)
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (0, "pending"), output
    assert "no open pull request into a governed branch (main) has this head" in output



def test_a_pull_request_opened_with_the_head_past_one_page_of_open_pull_requests_is_noticed(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """100 open pull requests: the opening query lists them all, so the siblings of the head
    are compared one by one after the lists. While the gate lists #1's reviews, #200 opens
    with the same head into release (governed, approved by nobody): 101 open pull requests,
    one more than a page, so they can no longer be compared one by one; the count of the
    list judged (100) is no longer GitHub's count. The head gets no success."""
    world.review("rita")
    world.review("alice")
    for number in range(2, 101):
        world.fake.add_pull(REPO, number, user="gh-author", base_ref="elsewhere",
                            base_sha=world.base, head_ref=f"other-{number}", head_sha=world.base)
    git(world.origin, "branch", "release", world.base)
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/reviews", action=lambda: (
        world.fake.add_pull(REPO, 200, user="gh-author", base_ref="release",
                            base_sha=world.base, head_ref="cr-5-release", head_sha=world.head)))
    code, output = world.gate("--pr", "1", "--governed-branch", "main",
                              "--governed-branch", "release", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output


# -- red team 2: what the lists are read at must be what the status is written for ---------------


def decoy_branch(world: World, name: str, start: str, files: dict[str, str]) -> str:
    """A commit on a new branch `name` from `start` that writes `files` (another head the
    author can point a pull request at for a moment)."""
    git(world.origin, "checkout", "-q", "-b", name, start)
    for path, text in files.items():
        (world.origin / path).parent.mkdir(parents=True, exist_ok=True)
        (world.origin / path).write_text(text)
    sha = commit_all(world.origin, f"decoy {name}")
    git(world.origin, "checkout", "-q", "main")
    return sha


def without_contents_urls(body: Any) -> Any:
    """The file list without the commit each entry names (`contents_url`)."""
    for item in body:
        del item["contents_url"]
    return body


@pytest.mark.parametrize(("listed", "words"), [
    ("files", "GitHub listed the files of pull request #1 at "),
    ("files-naming-no-commit", "#1 was force-pushed or retargeted during the evaluation"),
    ("commits", "GitHub listed the commits of pull request #1 without its head"),
])
def test_a_head_pushed_away_and_back_while_its_lists_are_read_is_not_approved(
        world: World, capsys: pytest.CaptureFixture[str], listed: str, words: str) -> None:
    """The author force-pushes a harmless head with as many files and commits while the gate
    lists the files (or the commits), and the ruleset head nobody approved back before the
    next list: the head read by the query that confirms the lists is the one read at the
    start, but a list judged is the harmless head's. The entries of the file list name the
    commit they were made at; the commit list holds its head; GitHub's timeline has the
    force-push back even where a list names no commit. The head gets no success."""
    harmless = decoy_branch(world, "decoy", world.base, {"NOTES.md": "a\n", "NOTES2.md": "b\n"})
    away, back = (("commits", "reviews") if listed == "commits" else ("files", "commits"))
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/{away}",
                      action=lambda: world.fake.update_pull(REPO, 1, head_sha=harmless),
                      rewrite=without_contents_urls if listed == "files-naming-no-commit"
                      else None)
    # back before the next request: the next list, or the pull request read again
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1(/{back})?",
                      action=lambda: world.fake.update_pull(REPO, 1, head_sha=world.head))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert words in output


def test_a_pull_request_retargeted_away_and_back_while_its_files_are_listed_is_not_approved(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The author adds two files after the ruleset change, branches `landing` there, and
    removes them again: into main the head changes the ruleset (2 files); into landing, only
    the two files it removes. While the gate lists the files the author retargets #1 to
    landing, and back to main before the commits are listed: the base read again is main, as
    at the start, and the count of files matches, but the files judged are landing's diff.
    The head gets no success."""
    landing = push_to_cr5(world, {"NOTES.md": "a\n", "NOTES2.md": "b\n"}, "two notes")
    git(world.origin, "branch", "landing", landing)
    head = push_to_cr5(world, {"NOTES.md": None, "NOTES2.md": None}, "the notes go again")
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", action=lambda: (
        world.fake.update_pull(REPO, 1, base_ref="landing", base_sha=landing)))
    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/commits", action=lambda: (
        world.fake.update_pull(REPO, 1, base_ref="main", base_sha=world.base)))
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(head), output
    assert (code, world.verdict(head)["state"]) == (2, "error"), output
    assert "#1 was force-pushed or retargeted during the evaluation" in output


def test_a_governed_file_github_lists_as_unchanged_is_judged_as_changed(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A pull request that only changes a governed script's mode (executable or not): no line
    changes, and GitHub may list such a file as `unchanged`. It is still in the pull request's
    diff (git sees a modification; `check` judges one): the administrators' role is required,
    never dropped with the file."""
    script = "scripts/verify_pack.sh"
    git(world.origin, "checkout", "-q", "-b", "cr-8", world.base)
    executable = git(world.origin, "ls-files", "-s", script).startswith("100755")
    git(world.origin, "update-index", f"--chmod={'-' if executable else '+'}x", script)
    git(world.origin, "commit", "-q", "-m", "the pack check's mode")
    head = git(world.origin, "rev-parse", "HEAD")
    git(world.origin, "checkout", "-q", "-f", "main")
    world.fake.update_pull(REPO, 1, head_sha=head, head_ref="cr-8")
    world.head = head

    def unchanged(body: Any) -> Any:
        for item in body:
            item["status"] = "unchanged"
        return body

    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", rewrite=unchanged, times=50)
    world.review("rita")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["description"]) == (
        0, "#1 into main: Waiting for administrator"), output


def test_a_change_request_added_as_a_symlink_to_a_file_is_not_read_as_that_file(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """The change request is added as a symlink to a file elsewhere (an ungoverned path its
    author can rewrite after the merge), in a pull request whose diff is too large for GitHub
    to give its patch. The contents API follows a symlink to a file in the repository and
    answers with that file, under its own path: not the change request that merges (a
    symlink, which `check` and `record` refuse). The head gets no success."""
    git(world.origin, "checkout", "-q", "cr-5")
    request = world.origin / "change-requests/CR-2026-0005.yaml"
    (world.origin / "docs").mkdir(exist_ok=True)
    (world.origin / "docs/cr-5.yaml").write_text(request.read_text())
    request.unlink()
    request.symlink_to("../docs/cr-5.yaml")
    head = commit_all(world.origin, "the change request through a symlink")
    git(world.origin, "checkout", "-q", "main")
    world.fake.update_pull(REPO, 1, head_sha=head)
    world.head = head

    def without_patches(body: Any) -> Any:  # a diff too large: GitHub leaves patches out
        for item in body:
            item.pop("patch", None)
        return body

    world.fake.inject("GET", rf"/repos/{REPO}/pulls/1/files", rewrite=without_patches,
                      times=50)
    world.review("rita")
    world.review("alice")
    code, output = world.gate("--pr", "1", capsys=capsys)
    assert "success" not in world.states(), output
    assert (code, world.verdict()["state"]) == (2, "error"), output
    assert "change-requests/CR-2026-0005.yaml" in output and "symlink" in output
