"""The evidence document `promotion-bot check` writes (schemas/evidence.schema.json). Pure.

It says what was checked (repository, base and head commits, the change requests with their
file digests), what ran (per check: command, exit code, start, duration, output digest and
tail, result) and where it ran (in GitHub Actions: run id, attempt and URL from the standard
environment variables). The promotion record cites it later by its sha256.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promotion_bot import __version__
from promotion_bot.core.check_results import CheckResult, OutputFile
from promotion_bot.core.errors import Problem
from promotion_bot.core.models import ChangeRequest

EVIDENCE_TYPE = "https://promotion-bot.dev/evidence/v1"
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"(?:github\.com[:/])([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Revision:
    ref: str
    sha: str


@dataclass(frozen=True)
class ChangeRequestEvidence:
    change_request: ChangeRequest
    file_sha256: str  # of the change request file itself, at head
    required_checks: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceInput:
    repository: str
    root: str  # the governed root inside the git work tree ('' at the top)
    base: Revision
    head: Revision
    merge_base: str
    policy_path: str
    policy_sha256: str
    change_requests: Sequence[ChangeRequestEvidence]
    problems: Sequence[Problem]
    checks: Sequence[CheckResult]
    runner: Mapping[str, Any]
    started_at: dt.datetime
    finished_at: dt.datetime
    governance_changes: Sequence[str] = ()
    notes: Sequence[str] = field(default_factory=tuple)
    pull_request: Mapping[str, Any] | None = None  # {number, head_sha} when run for a PR


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds: 2026-05-01T12:00:00.123Z."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def github_run(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The GitHub Actions run from its standard variables, or None outside Actions."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return None
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository = environ.get("GITHUB_REPOSITORY", "")
    run_id = environ.get("GITHUB_RUN_ID", "")
    attempt = environ.get("GITHUB_RUN_ATTEMPT", "")
    url = f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else None
    if url and attempt:
        url += f"/attempts/{attempt}"
    return {
        "run_id": run_id or None,
        "run_attempt": int(attempt) if attempt.isdigit() else None,
        "run_url": url,
        "workflow": environ.get("GITHUB_WORKFLOW") or None,
        "job": environ.get("GITHUB_JOB") or None,
        "event_name": environ.get("GITHUB_EVENT_NAME") or None,
        "ref": environ.get("GITHUB_REF") or None,
        "sha": environ.get("GITHUB_SHA") or None,
        "repository": repository or None,
    }


def runner_info(environ: Mapping[str, str]) -> dict[str, Any]:
    run = github_run(environ)
    if run is None:
        return {"kind": "local", "github": None}
    return {"kind": "github-actions", "github": run}


def repository_name(environ: Mapping[str, str], remote_url: str | None, folder: str) -> str:
    """owner/name in GitHub Actions or from a GitHub remote; else the folder name."""
    from_env = environ.get("GITHUB_REPOSITORY", "")
    if _GITHUB_REPOSITORY.match(from_env):
        return from_env
    match = _REMOTE.search(remote_url or "")
    return match.group(1) if match else folder


def overall_result(problems: Sequence[Problem], checks: Sequence[CheckResult]) -> str:
    return "passed" if not problems and all(check.passed for check in checks) else "failed"


def build_evidence(given: EvidenceInput) -> dict[str, Any]:
    evidence = _document(given)
    if given.pull_request is not None:
        evidence["pull_request"] = dict(given.pull_request)
    return evidence


def _document(given: EvidenceInput) -> dict[str, Any]:
    return {
        "_type": EVIDENCE_TYPE,
        "tool": {"name": "promotion-bot", "version": __version__},
        "result": overall_result(given.problems, given.checks),
        "repository": {"name": given.repository, "root": given.root},
        "base": {"ref": given.base.ref, "sha": given.base.sha},
        "head": {"ref": given.head.ref, "sha": given.head.sha},
        "merge_base": given.merge_base,
        "policy": {"path": given.policy_path, "sha256": given.policy_sha256, "from": "base"},
        "change_requests": [_change_request(item) for item in given.change_requests],
        "declarations": {
            "result": "passed" if not given.problems else "failed",
            "problems": [problem.as_dict() for problem in given.problems],
            "governance_changes": list(given.governance_changes),
        },
        "checks": [_check(check) for check in given.checks],
        "runner": dict(given.runner),
        "started_at": timestamp(given.started_at),
        "finished_at": timestamp(given.finished_at),
        "notes": list(given.notes),
    }


def _change_request(item: ChangeRequestEvidence) -> dict[str, Any]:
    cr = item.change_request
    return {
        "change_id": cr.change_id,
        "path": cr.source_path,
        "sha256": item.file_sha256,
        "change_type": cr.change_type,
        "target": cr.target,
        "title": cr.title,
        "current_version": cr.current_version,
        "proposed_version": cr.proposed_version,
        "rollback_of": cr.rollback_of,
        "artifacts": [{"path": a.path, "sha256": a.sha256} for a in cr.artifacts],
        "required_checks": list(item.required_checks),
    }


def _check(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "description": check.description,
        "kind": check.kind,
        "builtin": check.builtin,
        "command": list(check.command) if check.command is not None else None,
        "required_by": list(check.required_by),
        "result": check.result,
        "reason": check.reason,
        "exit_code": check.exit_code,
        "started_at": timestamp(check.started_at),
        "duration_seconds": round(check.duration, 3),
        "output": output_dict(check.output),
        "findings": [finding.as_dict() for finding in check.findings],
        "details": dict(check.details),
    }


def output_dict(output: OutputFile | None) -> dict[str, Any] | None:
    if output is None:
        return None
    return {
        "file": output.file,
        "sha256": output.sha256,
        "bytes": output.size,
        "tail": output.tail,
    }


__all__ = [
    "EVIDENCE_TYPE",
    "ChangeRequestEvidence",
    "EvidenceInput",
    "Revision",
    "build_evidence",
    "github_run",
    "output_dict",
    "overall_result",
    "repository_name",
    "runner_info",
    "timestamp",
]
