"""Governance and baseline records: the same envelope as promotion records (DSSE around an
in-toto Statement v1), two more predicates. Pure.

- governance (schemas/governance-record.schema.json): a merge to main that changes governance
  files without adding a change request. Tag promotion/GOV-<12 hex of the merge>.
- baseline (schemas/baseline-record.schema.json): the merge that adds .promotion/baseline.yaml:
  each target's live version at adoption. Tag promotion/BASELINE-<12 hex>.

`parse_any_statement` reads any of the three kinds; the audit, status, verify and export use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promotion_bot import __version__
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.formats.bounded_json import JsonError, parse_json

# BASELINE_PATH lives beside POLICY_PATH (what `check` reads need not import governance);
# re-exported here for the modules that take it from governance
from promotion_bot.core.formats.documents import BASELINE_PATH as BASELINE_PATH
from promotion_bot.core.formats.documents import POLICY_PATH
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.models import Artifact, Policy, SigningKey
from promotion_bot.core.records import (
    STATEMENT_TYPE,
    EvidenceSummary,
    FileDigest,
    MergeCommitFacts,
    PromotionRecord,
    PullRequestFacts,
    RecordedDecision,
    RecordError,
    decision_from_data,
    evidence_from_data,
    merge_context_data,
    parse_time,
    statement_digest,
    statement_from_data,
)

GOVERNANCE_PREDICATE = "https://promotion-bot.dev/governance-record/v1"
BASELINE_PREDICATE = "https://promotion-bot.dev/baseline-record/v1"
GOVERNANCE_TARGET = "(governance)"


def governance_id(merge_commit: str) -> str:
    return f"GOV-{merge_commit[:12]}"


def baseline_id(merge_commit: str) -> str:
    return f"BASELINE-{merge_commit[:12]}"


def governance_patterns(policy: Policy) -> tuple[str, ...]:
    """What a governance merge touches: the policy's governance paths, the policy file and
    CODEOWNERS wherever GitHub reads it."""
    return tuple(dict.fromkeys((*policy.governance.paths, POLICY_PATH, *CODEOWNERS_LOCATIONS)))


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str
    sha256: str | None
    old_path: str | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "status": self.status, "sha256": self.sha256}
        if self.old_path:
            data["old_path"] = self.old_path
        return data


@dataclass(frozen=True)
class KeyChanges:
    added: tuple[str, ...] = ()
    revoked: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.added or self.revoked or self.removed or self.changed)

    def as_data(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "revoked": list(self.revoked),
            "removed": list(self.removed),
            "changed": list(self.changed),
        }

    def describe(self) -> str:
        parts = [
            f"{what} {', '.join(k[:16] for k in keys)}"
            for what, keys in (
                ("adds", self.added),
                ("revokes", self.revoked),
                ("removes", self.removed),
                ("changes the window of", self.changed),
            )
            if keys
        ]
        return "; ".join(parts) or "no key change"


def key_changes(before: Sequence[SigningKey], after: Sequence[SigningKey]) -> KeyChanges:
    """What moving from `before` to `after` (the policy's signing.keys) does to trust."""
    old = {key.keyid: key for key in before}
    new = {key.keyid: key for key in after}
    added = tuple(k for k in new if k not in old)
    removed = tuple(k for k in old if k not in new)
    revoked = tuple(k for k in new if k in old and new[k].revoked and not old[k].revoked)
    changed = tuple(
        k
        for k in new
        if k in old
        and k not in revoked
        and (
            (new[k].not_before, new[k].not_after, new[k].public_key_pem, new[k].revoked)
            != (old[k].not_before, old[k].not_after, old[k].public_key_pem, old[k].revoked)
        )
    )
    return KeyChanges(added, revoked, removed, changed)


@dataclass(frozen=True)
class BaselineTarget:
    target: str
    change_type: str
    version: str
    artifacts: tuple[Artifact, ...]

    def as_data(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "change_type": self.change_type,
            "version": self.version,
            "artifacts": [{"path": a.path, "sha256": a.sha256} for a in self.artifacts],
        }


@dataclass(frozen=True)
class GovernanceInputs:
    kind: str  # governance | baseline
    pull_request: PullRequestFacts | None
    merge: MergeCommitFacts
    policy: FileDigest
    codeowners: FileDigest | None
    decision: RecordedDecision
    snapshot: Mapping[str, Any] | None
    evidence: EvidenceSummary | None
    changed: tuple[ChangedFile, ...]
    keys: KeyChanges
    targets: tuple[BaselineTarget, ...] = ()
    trust_anchor: tuple[str, ...] = ()


def build_governance_statement(inputs: GovernanceInputs) -> dict[str, Any]:
    baseline = inputs.kind == "baseline"
    record_id = (baseline_id if baseline else governance_id)(inputs.merge.commit)
    predicate: dict[str, Any] = {
        "record_version": 1,
        "kind": inputs.kind,
        "record_id": record_id,
        **merge_context_data(inputs),
        "changed": [item.as_data() for item in inputs.changed],
        "keys": inputs.keys.as_data(),
        "recorder": {"name": "promotion-bot", "version": __version__},
    }
    if baseline:
        predicate["targets"] = [target.as_data() for target in inputs.targets]
        predicate["trust_anchor"] = list(inputs.trust_anchor)
        subject = [
            {"name": a.path, "digest": {"sha256": a.sha256}}
            for target in inputs.targets
            for a in target.artifacts
        ]
    else:
        subject = [
            {"name": item.path, "digest": {"sha256": item.sha256}}
            for item in inputs.changed
            if item.sha256
        ]
    if not subject:  # every change a deletion: the statement is about the commit itself
        subject = [{"name": "merge", "digest": {"gitCommit": inputs.merge.commit}}]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": BASELINE_PREDICATE if baseline else GOVERNANCE_PREDICATE,
        "predicate": predicate,
    }


@dataclass(frozen=True)
class GovernanceRecord:
    """A parsed governance or baseline statement. It answers the questions the audit, status,
    verify and export ask of any record (change_id, merge_commit, is_violation, artifacts)."""

    kind: str  # governance | baseline
    digest: str
    change_id: str  # the record id: GOV-... or BASELINE-...
    merge_commit: str
    merge_tree: str
    merge_parent: str | None
    merged_by: str | None
    merged_at: dt.datetime
    pull_request: PullRequestFacts | None
    decision: RecordedDecision
    evidence: EvidenceSummary | None
    policy_sha256: str | None
    codeowners_sha256: str | None
    snapshot: Mapping[str, Any] | None
    changed: tuple[ChangedFile, ...]
    keys: KeyChanges
    targets: tuple[BaselineTarget, ...] = ()
    trust_anchor: tuple[str, ...] = ()
    predicate: Mapping[str, Any] = field(default_factory=dict, repr=False)

    target: str = GOVERNANCE_TARGET
    rollback_of: None = None

    @property
    def is_violation(self) -> bool:
        return not self.decision.approved

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        """What the record vouches for as deployable: a baseline's artifacts; nothing for a
        governance record (governance files are not artifacts)."""
        return tuple(a for target in self.targets for a in target.artifacts)


AnyRecord = PromotionRecord | GovernanceRecord


def parse_any_statement(payload: bytes) -> AnyRecord:
    """A promotion, governance or baseline record; RecordError names the first problem."""
    try:
        data = parse_json(payload)
    except JsonError as error:
        raise RecordError(f"the statement is not JSON ({error.message})") from None
    kind = data.get("predicateType") if isinstance(data, dict) else None
    if kind not in (GOVERNANCE_PREDICATE, BASELINE_PREDICATE):
        return statement_from_data(payload, data)  # read once, not twice
    if data.get("_type") != STATEMENT_TYPE:
        raise RecordError(f"_type is {data.get('_type')!r}, expected {STATEMENT_TYPE}")
    schema = "baseline-record" if kind == BASELINE_PREDICATE else "governance-record"
    predicate = data.get("predicate")
    problems = validate_data(schema, predicate, "predicate")
    if problems:
        first = problems[0]
        where = f"{first.field}: " if first.field else ""
        raise RecordError(f"the predicate does not match the schema: {where}{first.message}")
    assert isinstance(predicate, dict)
    merge = predicate["merge"]
    expected_id = (baseline_id if kind == BASELINE_PREDICATE else governance_id)(merge["commit"])
    if predicate["record_id"] != expected_id:
        raise RecordError(f"record_id {predicate['record_id']} does not name its merge commit")
    targets = tuple(
        BaselineTarget(
            t["target"],
            t["change_type"],
            t["version"],
            tuple(Artifact(a["path"], a["sha256"]) for a in t["artifacts"]),
        )
        for t in predicate.get("targets", [])
    )
    subject = data.get("subject")
    if kind == BASELINE_PREDICATE:
        listed = sorted(
            (item.get("name"), (item.get("digest") or {}).get("sha256"))
            for item in subject or []
            if isinstance(item, dict)
        )
        expected = sorted((a.path, a.sha256) for t in targets for a in t.artifacts)
        if expected and listed != expected:
            raise RecordError("the subject does not list the baselined artifacts")
    pull = predicate["pull_request"]
    decision = predicate["decision"]
    evidence = predicate["evidence"]
    keys = predicate["keys"]
    return GovernanceRecord(
        kind=predicate["kind"],
        digest=statement_digest(payload),
        change_id=predicate["record_id"],
        merge_commit=merge["commit"],
        merge_tree=merge["tree"],
        merge_parent=merge["parent"],
        merged_by=merge["merged_by"],
        merged_at=parse_time(merge["merged_at"]),
        pull_request=PullRequestFacts(**pull) if pull else None,
        decision=decision_from_data(decision),
        evidence=evidence_from_data(evidence),
        policy_sha256=predicate["policy"]["sha256"],
        codeowners_sha256=(predicate["codeowners"] or {}).get("sha256"),
        snapshot=predicate["snapshot"],
        changed=tuple(
            ChangedFile(c["path"], c["status"], c["sha256"], c.get("old_path"))
            for c in predicate["changed"]
        ),
        keys=KeyChanges(
            tuple(keys["added"]), tuple(keys["revoked"]), tuple(keys["removed"]),
            tuple(keys["changed"]),
        ),
        targets=targets,
        trust_anchor=tuple(predicate.get("trust_anchor", [])),
        predicate=predicate,
    )
