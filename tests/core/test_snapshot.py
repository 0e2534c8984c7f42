"""PR snapshots: GitHub's own shapes are accepted; anything doubtful is refused with a location."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from promotion_bot.adapters.files import load_snapshot
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.schemas import load_schema
from promotion_bot.core.snapshot import (
    GitIdentity,
    PullCommit,
    User,
    parse_snapshot,
    snapshot_to_json,
)
from tests.openapi_shapes import load_spec

SNAPSHOTS = Path(__file__).resolve().parents[2] / "examples" / "governed-repo" / "snapshots"
HEAD = "1" * 40
BASE = "2" * 40


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "snapshot_version": 1,
        "pull_request": {
            "number": 7,
            "user": {"login": "erin", "type": "User"},
            "head": {"ref": "feature", "sha": HEAD},
            "base": {"ref": "main", "sha": BASE},
        },
        "files": [{"filename": "a.txt", "status": "modified"}],
        "reviews": [
            {
                "id": 1,
                "user": {"login": "rita", "type": "User"},
                "state": "APPROVED",
                "commit_id": HEAD,
                "submitted_at": "2026-03-02T11:00:00Z",
            }
        ],
        "teams": {"example-org/reviewers": {"members": [{"login": "rita"}]}},
    }
    data.update(changes)
    return data


def refused(data: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_snapshot(data, "pr.json")
    return "\n".join(problem.render() for problem in raised.value.problems) or raised.value.message


def test_the_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(load_schema("pr-snapshot"))


def test_github_rest_examples_make_a_valid_snapshot() -> None:
    """Objects exactly as GitHub's OpenAPI description shows them (all their fields)."""
    examples = load_spec()["components"]["examples"]
    pull = examples["pull-request"]["value"]
    data = {
        "snapshot_version": 1,
        "pull_request": pull,
        "files": examples["diff-entry-items"]["value"],
        "reviews": examples["pull-request-review-items"]["value"],
        "teams": {"octo-org/justice-league": {"members": examples["team-member-items"]["value"]}},
    }
    snapshot = parse_snapshot(data, "github.json")
    assert snapshot.head_sha == pull["head"]["sha"]
    assert snapshot.author.login == pull["user"]["login"]
    assert [r.state for r in snapshot.reviews] == ["APPROVED"]
    assert snapshot.team("Octo-Org/Justice-League") is not None


def test_round_trip_through_json() -> None:
    snapshot = parse_snapshot(minimal(captured_at="2026-03-02T12:00:00Z"), "pr.json")
    again = parse_snapshot(json.loads(json.dumps(snapshot_to_json(snapshot))), "pr.json")
    assert again == snapshot


def commit_item(sha: str = HEAD, login: str | None = "erin",
                committer: str | None = "web-flow") -> dict[str, Any]:
    return {
        "sha": sha,
        "author": {"login": login, "id": 5, "type": "User"} if login else None,
        "committer": {"login": committer, "id": 19864447, "type": "User"} if committer else {},
        "commit": {
            "author": {"name": "Erin", "email": "erin@example.org"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
            "message": "Rules\n\nCo-authored-by: Rita <rita@example.org>",
        },
    }


def test_github_commit_list_items_are_accepted_with_all_their_fields() -> None:
    examples = load_spec()["components"]["examples"]
    items = examples["commit-items"]["value"]
    data = minimal(commits=items)
    data["pull_request"]["commits"] = len(items)
    snapshot = parse_snapshot(data, "github.json")
    assert snapshot.commit_count == len(items)
    assert snapshot.commits is not None and len(snapshot.commits) == len(items)
    first = snapshot.commits[0]
    assert first.sha == items[0]["sha"]
    assert first.author is not None and first.author.login == items[0]["author"]["login"]
    assert first.author_git == GitIdentity(items[0]["commit"]["author"]["name"],
                                           items[0]["commit"]["author"]["email"])


def test_commits_round_trip_and_an_unlinked_account_is_none() -> None:
    data = minimal(commits=[commit_item("3" * 40, login=None, committer=None), commit_item()])
    data["pull_request"]["commits"] = 2
    snapshot = parse_snapshot(data, "pr.json")
    assert snapshot.commits == (
        PullCommit("3" * 40, None, None, GitIdentity("Erin", "erin@example.org"),
                   GitIdentity("GitHub", "noreply@github.com"),
                   "Rules\n\nCo-authored-by: Rita <rita@example.org>"),
        PullCommit(HEAD, User("erin", 5), User("web-flow", 19864447),
                   GitIdentity("Erin", "erin@example.org"),
                   GitIdentity("GitHub", "noreply@github.com"),
                   "Rules\n\nCo-authored-by: Rita <rita@example.org>"),
    )
    written = snapshot_to_json(snapshot)
    assert written["pull_request"]["commits"] == 2
    assert written["commits"][0]["author"] is None
    assert parse_snapshot(json.loads(json.dumps(written)), "pr.json") == snapshot


def test_old_snapshots_without_commits_stay_valid() -> None:
    snapshot = parse_snapshot(minimal(), "pr.json")
    assert (snapshot.commits, snapshot.commit_count) == (None, None)
    assert "commits" not in snapshot_to_json(snapshot)
    data = minimal()
    data["pull_request"]["commits"] = 3  # valid to read; the evaluation says it is incomplete
    assert parse_snapshot(data, "pr.json").commit_count == 3


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda item: item.pop("sha"), "commits[0]: missing required key 'sha'"),
        (lambda item: item.update(sha="abc1234"), "commits[0].sha"),
        (lambda item: item.pop("committer"), "commits[0]: missing required key 'committer'"),
        (lambda item: item["commit"].pop("message"), "commits[0].commit"),
        (lambda item: item.update(author={"login": "not a login"}), "commits[0].author"),
    ],
    ids=["no-sha", "short-sha", "no-committer", "no-message", "bad-login"],
)
def test_malformed_commits_are_refused(change: Any, where: str) -> None:
    item = commit_item()
    change(item)
    assert where in refused(minimal(commits=[item]))


@pytest.mark.parametrize("name", ["approved", "pending", "blocked"])
def test_the_example_snapshots_load(name: str) -> None:
    snapshot = load_snapshot(SNAPSHOTS / f"{name}.json")
    assert snapshot.number == 42
    assert len(snapshot.head_sha) == 40


def test_unknown_review_state_fails_closed() -> None:
    data = minimal()
    data["reviews"][0]["state"] = "SUPERAPPROVED"
    message = refused(data)
    assert "reviews[0].state" in message
    assert "'SUPERAPPROVED' is not one of: APPROVED, CHANGES_REQUESTED" in message


def test_webhook_lower_case_states_are_refused_with_a_hint() -> None:
    data = minimal()
    data["reviews"][0]["state"] = "approved"
    assert "'approved' is a webhook state; snapshots use REST states (write 'APPROVED')" in refused(data)


def test_missing_head_sha_is_located() -> None:
    data = minimal()
    del data["pull_request"]["head"]["sha"]
    assert "pull_request.head: missing required key 'sha'" in refused(data)


def test_short_sha_is_refused() -> None:
    data = minimal()
    data["reviews"][0]["commit_id"] = "abc1234"
    assert "reviews[0].commit_id" in refused(data)


def test_unknown_top_level_key_is_refused() -> None:
    assert "unknown key 'approvals'" in refused(minimal(approvals=[{"role": "admin"}]))


def test_duplicate_review_ids_are_refused() -> None:
    data = minimal()
    data["reviews"].append(copy.deepcopy(data["reviews"][0]))
    assert "review id 1 appears more than once" in refused(data)


def test_bad_timestamp_is_refused() -> None:
    data = minimal()
    data["reviews"][0]["submitted_at"] = "yesterday"
    assert "reviews[0].submitted_at: 'yesterday' is not a date-time" in refused(data)


def test_null_commit_and_deleted_user_are_accepted_as_github_sends_them() -> None:
    data = minimal()
    data["reviews"][0]["commit_id"] = None
    data["reviews"][0]["user"] = None
    review = parse_snapshot(data, "pr.json").reviews[0]
    assert (review.commit_id, review.user) == (None, None)


def test_invalid_json_is_located(tmp_path: Path) -> None:
    path = tmp_path / "pr.json"
    path.write_text('{\n  "snapshot_version": 1,\n  oops\n}\n')
    with pytest.raises(ConfigError) as raised:
        load_snapshot(path)
    assert raised.value.problems[0].render().startswith(f"{path}:3:3: not valid JSON")


def test_duplicate_json_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pr.json"
    path.write_text('{"snapshot_version": 1, "snapshot_version": 1}')
    with pytest.raises(ConfigError, match="duplicate key 'snapshot_version'"):
        load_snapshot(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="snapshot file not found"):
        load_snapshot(tmp_path / "nope.json")
