"""Promotion records: the in-toto Statement v1 and its predicate, built and parsed. Pure.

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": <artifact path>, "digest": {"sha256": <hex>}}, ...],
     "predicateType": "https://promotion-bot.dev/promotion-record/v1",
     "predicate": <schemas/promotion-record.schema.json>}

The statement is serialised canonically (sorted keys, no spaces, ASCII) so that the same facts
always give the same bytes, the same signature and the same tag: recording is idempotent.
The record's digest (`statement_sha256`) is the SHA-256 of those bytes; the next record of the
same target names it in `previous`, which makes the records of a target a hash chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from promotion_bot import __version__
from promotion_bot.core.dsse import IN_TOTO_PAYLOAD_TYPE, canonical_json
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.git_facts import TAG_PREFIX
from promotion_bot.core.models import Artifact, ChangeRequest

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://promotion-bot.dev/promotion-record/v1"
PAYLOAD_TYPE = IN_TOTO_PAYLOAD_TYPE


class RecordError(ValueError):
    """The payload is not a promotion record this version understands."""


def tag_name(change_id: str) -> str:
    return f"{TAG_PREFIX}{change_id}"


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Approval:
    login: str
    role: str
    review_id: int
    commit_id: str | None
    submitted_at: str | None
    team: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "role": self.role,
            "review_id": self.review_id,
            "commit_id": self.commit_id,
            "submitted_at": self.submitted_at,
            "team": self.team,
        }


@dataclass(frozen=True, slots=True)
class CheckSummary:
    name: str
    result: str
    run_url: str | None = None
    output_sha256: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "result": self.result,
            "run_url": self.run_url,
            "output_sha256": self.output_sha256,
        }


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    sha256: str
    head_sha: str | None
    result: str
    checks: tuple[CheckSummary, ...]

    def as_data(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "head_sha": self.head_sha,
            "result": self.result,
            "checks": [check.as_data() for check in self.checks],
        }


@dataclass(frozen=True, slots=True)
class RecordedDecision:
    approved: bool
    required_roles: tuple[str, ...]
    approvals: tuple[Approval, ...]
    violations: tuple[str, ...]
    summary: str

    def as_data(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "required_roles": list(self.required_roles),
            "approvals": [approval.as_data() for approval in self.approvals],
            "violations": list(self.violations),
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class PullRequestFacts:
    number: int
    url: str | None
    title: str
    author: str
    base_ref: str
    base_sha: str
    head_sha: str
    head_tree: str | None

    def as_data(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "url": self.url,
            "title": self.title,
            "author": self.author,
            "base_ref": self.base_ref,
            "base_sha": self.base_sha,
            "head_sha": self.head_sha,
            "head_tree": self.head_tree,
        }


@dataclass(frozen=True)
class MergeCommitFacts:
    commit: str
    tree: str
    parent: str | None
    merged_by: str | None
    merged_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ChainLink:
    change_id: str
    merge_commit: str
    statement_sha256: str


@dataclass(frozen=True)
class FileDigest:
    path: str
    sha256: str | None


@dataclass(frozen=True)
class RecordInputs:
    """Everything a record states; records.build_statement turns it into the statement."""

    change_request: ChangeRequest
    change_request_path: str
    change_request_sha256: str
    pull_request: PullRequestFacts | None
    merge: MergeCommitFacts
    policy: FileDigest
    codeowners: FileDigest | None
    decision: RecordedDecision
    snapshot: Mapping[str, Any] | None
    evidence: EvidenceSummary | None
    previous: ChainLink | None


class MergeContext(Protocol):
    """The facts of a merge that every kind of record states (RecordInputs, GovernanceInputs)."""

    @property
    def pull_request(self) -> PullRequestFacts | None: ...
    @property
    def merge(self) -> MergeCommitFacts: ...
    @property
    def policy(self) -> FileDigest: ...
    @property
    def codeowners(self) -> FileDigest | None: ...
    @property
    def decision(self) -> RecordedDecision: ...
    @property
    def snapshot(self) -> Mapping[str, Any] | None: ...
    @property
    def evidence(self) -> EvidenceSummary | None: ...


def merge_context_data(inputs: MergeContext) -> dict[str, Any]:
    """What every record states about the merge it covers (promotion, governance and baseline
    records alike): pull request, merge commit, the base's policy and CODEOWNERS, decision,
    snapshot and evidence, in the order the statements have always had them."""
    return {
        "pull_request": inputs.pull_request.as_data() if inputs.pull_request else None,
        "merge": {
            "commit": inputs.merge.commit,
            "tree": inputs.merge.tree,
            "parent": inputs.merge.parent,
            "merged_by": inputs.merge.merged_by,
            "merged_at": format_time(inputs.merge.merged_at),
        },
        "policy": {"path": inputs.policy.path, "sha256": inputs.policy.sha256},
        "codeowners": (
            {"path": inputs.codeowners.path, "sha256": inputs.codeowners.sha256}
            if inputs.codeowners and inputs.codeowners.sha256
            else None
        ),
        "decision": inputs.decision.as_data(),
        "snapshot": dict(inputs.snapshot) if inputs.snapshot is not None else None,
        "evidence": inputs.evidence.as_data() if inputs.evidence else None,
    }


def build_statement(inputs: RecordInputs) -> dict[str, Any]:
    cr = inputs.change_request
    predicate: dict[str, Any] = {
        "record_version": 1,
        "change_request": {
            "path": inputs.change_request_path,
            "sha256": inputs.change_request_sha256,
            "content": cr.as_data(),
        },
        **merge_context_data(inputs),
        "previous": (
            {
                "change_id": inputs.previous.change_id,
                "merge_commit": inputs.previous.merge_commit,
                "statement_sha256": inputs.previous.statement_sha256,
            }
            if inputs.previous
            else None
        ),
        "rollback_of": cr.rollback_of,
        "recorder": {"name": "promotion-bot", "version": __version__},
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": artifact.path, "digest": {"sha256": artifact.sha256}}
            for artifact in cr.artifacts
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def statement_bytes(statement: Mapping[str, Any]) -> bytes:
    return canonical_json(statement).encode("ascii")


def statement_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """A parsed statement (the payload's JSON is not kept: an audit holds thousands)."""

    digest: str
    change_id: str
    change_type: str
    target: str
    title: str
    proposed_version: str
    current_version: str | None
    rollback_of: str | None
    artifacts: tuple[Artifact, ...]
    change_request: ChangeRequest
    change_request_path: str
    change_request_sha256: str
    merge_commit: str
    merge_tree: str
    merge_parent: str | None
    merged_by: str | None
    merged_at: dt.datetime
    pull_request: PullRequestFacts | None
    decision: RecordedDecision
    evidence: EvidenceSummary | None
    previous: ChainLink | None
    policy_sha256: str | None
    codeowners_sha256: str | None
    # the embedded snapshot as compact JSON: an audit keeps thousands of records and reads
    # each snapshot once (a parsed snapshot takes ten times the memory)
    snapshot_json: str | None = field(repr=False)

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The snapshot the decision used (a fresh copy), or None for a direct push."""
        if self.snapshot_json is None:
            return None
        data: dict[str, Any] = json.loads(self.snapshot_json)
        return data

    @property
    def is_violation(self) -> bool:
        return not self.decision.approved


def parse_statement(payload: bytes) -> PromotionRecord:
    """Parse and validate a statement; RecordError names the first problem."""
    try:
        data = parse_json(payload)
    except JsonError as error:
        raise RecordError(f"the statement is not JSON ({error.message})") from None
    return statement_from_data(payload, data)


def statement_from_data(payload: bytes, data: Any) -> PromotionRecord:
    """`parse_statement` for a payload already read with the bounded JSON reader."""
    if not isinstance(data, dict):
        raise RecordError("the statement is not a JSON object")
    if data.get("_type") != STATEMENT_TYPE:
        raise RecordError(f"_type is {data.get('_type')!r}, expected {STATEMENT_TYPE}")
    if data.get("predicateType") != PREDICATE_TYPE:
        raise RecordError(
            f"predicateType is {data.get('predicateType')!r}, expected {PREDICATE_TYPE}"
        )
    subject = data.get("subject")
    if not isinstance(subject, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("digest"), dict)
        and isinstance(item["digest"].get("sha256"), str)
        for item in subject
    ):
        raise RecordError("subject must list {name, digest: {sha256}} entries")
    predicate = data.get("predicate")
    problems = validate_data("promotion-record", predicate, "predicate")
    if problems:
        first = problems[0]
        where = f"{first.field}: " if first.field else ""
        raise RecordError(f"the predicate does not match the schema: {where}{first.message}")
    assert isinstance(predicate, dict)
    try:
        return _record(payload, subject, predicate)
    except (ValueError, KeyError, TypeError) as error:  # e.g. a merged_at the schema let through
        raise RecordError(f"the predicate cannot be read: {error!r}"[:300]) from None


def _record(payload: bytes, subject: list[Any], predicate: dict[str, Any]) -> PromotionRecord:
    content = {key: _shared(value) for key, value in predicate["change_request"]["content"].items()}
    cr = ChangeRequest.from_data(content, predicate["change_request"]["path"])
    subjects = tuple(Artifact(item["name"], item["digest"]["sha256"]) for item in subject)
    if subjects != cr.artifacts:
        raise RecordError("the subject does not list the change request's artifacts")
    merge = predicate["merge"]
    pull = predicate["pull_request"]
    decision = predicate["decision"]
    evidence = predicate["evidence"]
    previous = predicate["previous"]
    return PromotionRecord(
        digest=statement_digest(payload),
        change_id=cr.change_id,
        change_type=cr.change_type,
        target=cr.target,
        title=cr.title,
        proposed_version=cr.proposed_version,
        current_version=cr.current_version,
        rollback_of=cr.rollback_of,
        artifacts=subjects,
        change_request=cr,
        change_request_path=predicate["change_request"]["path"],
        change_request_sha256=predicate["change_request"]["sha256"],
        merge_commit=merge["commit"],
        merge_tree=merge["tree"],
        merge_parent=merge["parent"],
        merged_by=_shared(merge["merged_by"]),
        merged_at=parse_time(merge["merged_at"]),
        pull_request=(
            PullRequestFacts(**{key: _shared(value) for key, value in pull.items()})
            if pull
            else None
        ),
        decision=decision_from_data(decision),
        evidence=evidence_from_data(evidence),
        previous=(
            ChainLink(previous["change_id"], previous["merge_commit"], previous["statement_sha256"])
            if previous
            else None
        ),
        policy_sha256=predicate["policy"]["sha256"],
        codeowners_sha256=(predicate["codeowners"] or {}).get("sha256"),
        snapshot_json=(
            json.dumps(predicate["snapshot"], separators=(",", ":"), ensure_ascii=False)
            if predicate["snapshot"] is not None
            else None
        ),
    )


def _shared(text: Any) -> Any:
    """One copy of a string that many records repeat (a login, a role, a check's name, the
    approved head in each approval): an audit holds ten thousand records at once."""
    return sys.intern(text) if type(text) is str else text


def decision_from_data(decision: Mapping[str, Any]) -> RecordedDecision:
    """The predicate's `decision` (already schema-valid) as a RecordedDecision."""
    return RecordedDecision(
        approved=decision["approved"],
        required_roles=tuple(_shared(role) for role in decision["required_roles"]),
        approvals=tuple(
            Approval(
                _shared(a["login"]), _shared(a["role"]), a["review_id"], _shared(a["commit_id"]),
                _shared(a["submitted_at"]), _shared(a.get("team")),
            )
            for a in decision["approvals"]
        ),
        violations=tuple(decision["violations"]),
        summary=_shared(decision["summary"]),
    )


def evidence_from_data(evidence: Mapping[str, Any] | None) -> EvidenceSummary | None:
    """The predicate's `evidence` (already schema-valid; null: no evidence) as a summary."""
    if not evidence:
        return None
    return EvidenceSummary(
        evidence["sha256"],
        _shared(evidence["head_sha"]),
        _shared(evidence["result"]),
        tuple(
            CheckSummary(
                _shared(c["name"]), _shared(c["result"]), _shared(c.get("run_url")),
                c.get("output_sha256"),
            )
            for c in evidence["checks"]
        ),
    )
