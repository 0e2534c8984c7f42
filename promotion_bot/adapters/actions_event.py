"""Which pull request (or commits) a GitHub Actions run is about, from its event.

GitHub Actions sets GITHUB_EVENT_NAME and GITHUB_EVENT_PATH (the webhook payload as JSON).
`read_event` turns them into an `EventTarget`: the repository, and either the pull requests
to evaluate or the commits to record. Payload strings (titles, branch names) are never
interpreted, only read as data.

For `workflow_run` (the review-triggered pattern: a do-nothing `pull_request_review`
workflow completes, and the trusted gate runs on `workflow_run`) the payload lists the pull
requests only for same-repository branches; for forks the list is empty and the gate looks
the pull request up by the head SHA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.adapters.files import FileReadError, read_regular_file
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.bounded_json import JsonError, parse_json

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "pull_request_review",
                       "pull_request_review_comment")
SUPPORTED_EVENTS = (*PULL_REQUEST_EVENTS, "workflow_run", "merge_group", "push",
                    "workflow_dispatch", "schedule")
MAX_EVENT_BYTES = 25 * 1024 * 1024
_MERGE_GROUP_REF = re.compile(r"/pr-(\d+)-[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class EventTarget:
    """What one Actions run should act on."""

    event_name: str
    repository: str
    pull_numbers: tuple[int, ...] = ()
    head_sha: str | None = None  # the commit the event is about (PR head, merge group head)
    base_sha: str | None = None
    head_ref: str | None = None
    before: str | None = None  # push: the previous tip of the branch
    after: str | None = None  # push: the new tip
    ref: str | None = None
    inputs: Mapping[str, Any] | None = None  # workflow_dispatch

    @property
    def needs_pull_lookup(self) -> bool:
        """A workflow_run for a fork: the pull request must be found by its head SHA."""
        return self.event_name == "workflow_run" and not self.pull_numbers


def read_event(environ: Mapping[str, str]) -> EventTarget:
    """The event of the current Actions run; a clear error outside Actions or for bad input."""
    name = environ.get("GITHUB_EVENT_NAME", "")
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not name or not path:
        raise ConfigError("no GitHub event: GITHUB_EVENT_NAME and GITHUB_EVENT_PATH are not set; "
                          "outside GitHub Actions pass --pr NUMBER (and --repository OWNER/NAME)")
    payload = _read_payload(Path(path))
    return parse_event(name, payload, environ.get("GITHUB_REPOSITORY"))


def _read_payload(path: Path) -> Mapping[str, Any]:
    try:
        raw = read_regular_file(path, max_bytes=MAX_EVENT_BYTES)
    except FileReadError as error:
        raise ConfigError(f"cannot read the event payload {error.message}") from None
    try:
        payload = parse_json(raw, max_bytes=MAX_EVENT_BYTES)
    except JsonError as error:
        problem = error.problem(str(path))
        raise ConfigError(f"the event payload is not JSON: {problem.render()}") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"the event payload {path} is not a JSON object")
    return payload


def parse_event(name: str, payload: Mapping[str, Any],
                fallback_repository: str | None = None) -> EventTarget:
    repository = _text(payload, "repository", "full_name") or fallback_repository
    if not repository:
        raise ConfigError(f"the {name} event names no repository; set GITHUB_REPOSITORY")
    if name in PULL_REQUEST_EVENTS:
        number = _number(payload, "pull_request", "number")
        return EventTarget(name, repository, (number,),
                           head_sha=_text(payload, "pull_request", "head", "sha"),
                           base_sha=_text(payload, "pull_request", "base", "sha"),
                           head_ref=_text(payload, "pull_request", "head", "ref"))
    if name == "workflow_run":
        run = payload.get("workflow_run")
        if not isinstance(run, dict):
            raise ConfigError("the workflow_run event has no workflow_run object")
        pulls = run.get("pull_requests") or []
        numbers = tuple(sorted({p["number"] for p in pulls
                                if isinstance(p, dict) and isinstance(p.get("number"), int)}))
        return EventTarget(name, repository, numbers, head_sha=run.get("head_sha"),
                           head_ref=run.get("head_branch"))
    if name == "merge_group":
        head_ref = _text(payload, "merge_group", "head_ref")
        match = _MERGE_GROUP_REF.search(head_ref or "")
        numbers = (int(match.group(1)),) if match else ()
        return EventTarget(name, repository, numbers,
                           head_sha=_text(payload, "merge_group", "head_sha"),
                           base_sha=_text(payload, "merge_group", "base_sha"), head_ref=head_ref)
    if name == "push":
        return EventTarget(name, repository, before=_text(payload, "before"),
                           after=_text(payload, "after"), ref=_text(payload, "ref"))
    if name == "schedule":  # the gate's re-evaluation of every open pull request
        return EventTarget(name, repository)
    if name == "workflow_dispatch":
        inputs = payload.get("inputs") if isinstance(payload.get("inputs"), dict) else {}
        return EventTarget(name, repository, ref=_text(payload, "ref"), inputs=inputs)
    raise ConfigError(f"event {name!r} is not supported; use one of: "
                      f"{', '.join(SUPPORTED_EVENTS)}")


def _dig(payload: Mapping[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(payload: Mapping[str, Any], *keys: str) -> str | None:
    value = _dig(payload, *keys)
    return value if isinstance(value, str) and value else None


def _number(payload: Mapping[str, Any], *keys: str) -> int:
    value = _dig(payload, *keys)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"the event payload has no {'.'.join(keys)}")
    return value
