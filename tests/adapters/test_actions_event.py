"""Events are read from GitHub's published webhook payloads, not from shapes we invented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promotion_bot.adapters.actions_event import parse_event, read_event
from promotion_bot.core.errors import ConfigError
from tests.github_fixtures import webhook_payload


@pytest.mark.parametrize(("event", "name", "number", "head_sha"), [
    ("pull_request", "opened.payload.json", 2, "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
    ("pull_request", "synchronize.payload.json", None, None),
    ("pull_request", "opened.with-organization.payload.json", None, None),
    ("pull_request_review", "submitted.payload.json", 2, "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
    ("pull_request_review", "dismissed.payload.json", None, None),
])
def test_pull_request_events_name_the_pull_request(event: str, name: str, number: int | None,
                                                   head_sha: str | None) -> None:
    payload = webhook_payload(event, name)
    target = parse_event(event, payload)
    assert target.pull_numbers == (payload["pull_request"]["number"],)
    assert target.head_sha == payload["pull_request"]["head"]["sha"]
    assert target.repository == payload["repository"]["full_name"]
    if number is not None:
        assert (target.pull_numbers, target.head_sha) == ((number,), head_sha)


def test_pull_request_target_reads_like_pull_request() -> None:
    payload = webhook_payload("pull_request", "opened.payload.json")
    target = parse_event("pull_request_target", payload)
    assert target.pull_numbers == (2,)
    assert target.base_sha == payload["pull_request"]["base"]["sha"]


def test_workflow_run_lists_same_repository_pull_requests() -> None:
    payload = webhook_payload("workflow_run", "completed.with-pull-requests.payload.json")
    target = parse_event("workflow_run", payload)
    assert target.pull_numbers == (2,)
    assert target.head_sha == payload["workflow_run"]["head_sha"]
    assert not target.needs_pull_lookup


def test_workflow_run_from_a_fork_needs_a_lookup_by_head_sha() -> None:
    payload = webhook_payload("workflow_run", "completed.payload.json")
    assert payload["workflow_run"]["pull_requests"] == []
    target = parse_event("workflow_run", payload)
    assert target.needs_pull_lookup
    assert target.head_sha == payload["workflow_run"]["head_sha"]


@pytest.mark.parametrize("name", ["payload.json", "1.payload.json", "with-new-branch.payload.json"])
def test_push_names_the_commit_range(name: str) -> None:
    payload = webhook_payload("push", name)
    target = parse_event("push", payload)
    assert (target.before, target.after, target.ref) == (payload["before"], payload["after"],
                                                         payload["ref"])
    assert target.pull_numbers == ()


def test_workflow_dispatch_keeps_its_inputs() -> None:
    payload = webhook_payload("workflow_dispatch", "payload.json")
    payload["inputs"] = {"change_id": "CR-2026-0042"}
    target = parse_event("workflow_dispatch", payload)
    assert target.inputs == {"change_id": "CR-2026-0042"}


def test_merge_group_names_the_pull_request_from_the_queue_branch() -> None:
    payload = {"merge_group": {"head_sha": "a" * 40, "base_sha": "b" * 40,
                               "head_ref": "refs/heads/gh-readonly-queue/main/pr-17-" + "c" * 40},
               "repository": {"full_name": "org/repo"}}
    target = parse_event("merge_group", payload)
    assert (target.pull_numbers, target.head_sha, target.base_sha) == ((17,), "a" * 40, "b" * 40)


@pytest.mark.parametrize(("env", "words"), [
    ({}, "outside GitHub Actions pass --pr NUMBER"),
    ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/nonexistent/event.json"},
     "cannot read the event payload"),
    ({"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": "{payload}"}, "event 'issues' is not supported"),
    ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "{garbage}"}, "is not JSON"),
    ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "{no-pr}"},
     "the event payload has no pull_request.number"),
])
def test_bad_or_missing_events_are_configuration_errors(tmp_path: Path, env: dict[str, str],
                                                         words: str) -> None:
    files = {"{payload}": json.dumps({"repository": {"full_name": "o/r"}}),
             "{garbage}": "{not json", "{no-pr}": json.dumps({"repository": {"full_name": "o/r"},
                                                              "pull_request": {}})}
    for key, value in env.items():
        if value in files:
            path = tmp_path / "event.json"
            path.write_text(files[value])
            env[key] = str(path)
    with pytest.raises(ConfigError, match=words):
        read_event(env)
