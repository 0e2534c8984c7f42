"""The audit: main's history + the promotion tags + trusted keys -> timeline and findings. Pure.

Everything is read beforehand (adapters/ledger.py, flows/ledger_view.py); this module
only judges. What it checks, in the words of docs/records.md:

- every commit on main's first-parent history that adds a change request has exactly one
  valid record for it, on that commit (UNRECORDED_MERGE, RECORD_MOVED), and no change_id
  reaches main twice (DUPLICATE_CHANGE_ID: the second could never get its own record);
- a commit that changes governed paths without adding a change request (UNDECLARED_CHANGE);
- each record: an annotated tag holding a DSSE envelope (MALFORMED_RECORD), signed by a key
  that is trusted (UNTRUSTED_KEY, BAD_SIGNATURE) and was valid when the merge happened
  (KEY_REVOKED, KEY_EXPIRED), named after its change request (RECORD_NAME_MISMATCH), on
  main (NOT_ON_MAIN);
- what it states is true of the repository: artifact and change request hashes match the
  tree at the merge commit (ARTIFACT_MISMATCH); merge facts match the commit
  (RECORD_INCONSISTENT);
- the merge satisfied the policy: the recorded decision, and the decision re-run from the
  embedded snapshot with the policy at the base (POLICY_VIOLATION);
- lineage: the chain of records per target (CHAIN_BROKEN), current_version equal to what was
  promoted before (STALE_VERSION), rollbacks naming an earlier promotion of the same target
  (ROLLBACK_TARGET_UNKNOWN) and restoring its version (ROLLBACK_VERSION_MISMATCH).

History before the policy existed on main is not governed and is only counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from promotion_bot.core.dsse import Envelope, EnvelopeError, parse_envelope, verify
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.git_facts import TAG_PREFIX, TagRecord
from promotion_bot.core.globs import match_any
from promotion_bot.core.governance import (
    BASELINE_PATH,
    GOVERNANCE_TARGET,
    AnyRecord,
    GovernanceRecord,
    governance_patterns,
    parse_any_statement,
)
from promotion_bot.core.governed_history import change_type_paths as change_type_paths
from promotion_bot.core.governed_history import governed_through_history
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.key_trust import KeyTrust
from promotion_bot.core.keys import TrustedKey
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import config_key_changes
from promotion_bot.core.records import (
    PAYLOAD_TYPE,
    Approval,
    CheckSummary,
    PromotionRecord,
    RecordedDecision,
    RecordError,
)

# code -> what it means (docs/records.md explains each with what to do)
FINDINGS: dict[str, str] = {
    "UNRECORDED_MERGE": "a change request reached main without a valid promotion record",
    "UNDECLARED_CHANGE": "governed files changed on main without a change request",
    "MALFORMED_RECORD": "a promotion tag does not hold a readable record",
    "BAD_SIGNATURE": "a record's signature does not verify (the record was edited)",
    "UNTRUSTED_KEY": "a record is signed by a key that is not trusted",
    "KEY_REVOKED": "a record is signed by a revoked key",
    "KEY_EXPIRED": "a record is signed by a key outside its validity window",
    "RECORD_NAME_MISMATCH": "a tag's name differs from the change_id of its record",
    "RECORD_MOVED": "a record is not on the commit that merged its change request",
    "NOT_ON_MAIN": "a record points at a commit that is not on main's first-parent history",
    "DUPLICATE_CHANGE_ID": "a change_id reached main a second time (it has one record)",
    "ARTIFACT_MISMATCH": "a recorded hash differs from the file at the merge commit",
    "RECORD_INCONSISTENT": "a record's merge facts do not match the commit it is on",
    "POLICY_VIOLATION": "the merge did not satisfy the policy",
    "CHAIN_BROKEN": "a record does not link to the previous record of its target",
    "STALE_VERSION": "current_version is not the version promoted before",
    "ROLLBACK_TARGET_UNKNOWN": "rollback_of names no earlier promotion of the same target",
    "ROLLBACK_VERSION_MISMATCH": "a rollback does not restore the rolled-back version",
    "POLICY_UNREADABLE": "the policy at a merge's base is missing or cannot be read",
    "UNRECORDED_GOVERNANCE": "governance files changed on main without a valid governance record",
    "UNTRUSTED_KEY_CHANGE": "signing keys changed without an approved, trusted record",
    "CHECKPOINT_UNREACHABLE": "main no longer reaches the audit system's last checkpoint",
    "INVALID_CHANGE_REQUEST": "a commit adds a change request that cannot be read",
    "CHANGE_REQUEST_EDITED": "a merged change request was changed or deleted after its merge",
}


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    change_id: str | None = None
    commit: str | None = None
    tag: str | None = None
    target: str | None = None
    at: dt.datetime | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "change_id": self.change_id,
            "commit": self.commit,
            "tag": self.tag,
            "target": self.target,
            "at": _time(self.at),
        }


def _time(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class TreeSource(Protocol):
    """Files of main's commits, already fetched (flows/ledger_view.py prepares them)."""

    def blob_id(self, commit: str, path: str) -> str | None: ...

    def content(self, blob_id: str) -> bytes | None: ...

    def sha256(self, blob_id: str) -> str | None: ...


# the decision re-run from a record's snapshot; None: not re-run (the caller needs only some)
Reevaluate = Callable[[AnyRecord, HistoryCommit, Policy | None], RecordedDecision | None]


# --- judging one tag ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JudgedTag:
    tag: TagRecord  # without its message: the envelope is judged, and not kept
    record: AnyRecord | None  # parsed once the signature verified
    valid: bool  # trusted signature, valid key, readable, named and placed right
    signed_by: TrustedKey | None
    findings: tuple[Finding, ...]


def judge_tag(tag: TagRecord, trusted: Sequence[TrustedKey], history: History) -> JudgedTag:
    def finding(code: str, message: str, record: AnyRecord | None = None) -> Finding:
        return Finding(
            code,
            message,
            change_id=record.change_id if record else tag.change_id,
            commit=record.merge_commit if record else tag.target,
            tag=tag.name,
            target=record.target if record else None,
            at=record.merged_at if record else None,
        )

    kept = replace(tag, message=b"") if tag.message else tag

    def bad(code: str, message: str, record: AnyRecord | None = None) -> JudgedTag:
        return JudgedTag(kept, record, False, None, (finding(code, message, record),))

    envelope: Envelope | None = None
    if not tag.annotated:
        return bad("MALFORMED_RECORD", f"{tag.name} is a lightweight tag, not a signed record")
    if tag.unreadable is not None:
        return bad("MALFORMED_RECORD", f"{tag.name}: {tag.unreadable}")
    if tag.target is None or tag.target_type != "commit":
        return bad("MALFORMED_RECORD", f"{tag.name} does not tag a commit")
    try:
        envelope = parse_envelope(tag.message.strip())
    except EnvelopeError as error:
        return bad("MALFORMED_RECORD", f"{tag.name}: {error}")
    # the signature first: nothing anyone can push without a key is parsed beyond the
    # envelope (its payload could be 100,000 nested arrays)
    verified = verify(envelope, [(key, key.public_key) for key in trusted])
    if not verified:
        known = {key.keyid for key in trusted} | {key.fingerprint for key in trusted}
        claimed = [signature.keyid for signature in envelope.signatures]
        if any(keyid in known for keyid in claimed):
            return bad(
                "BAD_SIGNATURE",
                f"{tag.name}: the signature does not verify under key "
                f"{_short(claimed[0])}: the record was changed after signing",
            )
        return bad(
            "UNTRUSTED_KEY",
            f"{tag.name}: signed by a key that is not trusted "
            f"(keyid {', '.join(_short(k) for k in claimed) or 'none'})",
        )
    if envelope.payload_type != PAYLOAD_TYPE:
        return bad("MALFORMED_RECORD", f"{tag.name}: payloadType {envelope.payload_type!r}")
    try:
        record: AnyRecord = _parse_signed(envelope.payload)
    except RecordError as error:
        return bad("MALFORMED_RECORD", f"{tag.name}: {error}")
    # judged at the later of the record's claim and the merge commit's own time on main: a
    # holder of an expired key cannot backdate a record to before the merge it records
    on_main = history.commit(record.merge_commit)
    times = [t for t in (record.merged_at, on_main.committed_at if on_main else None) if t]
    when = max(times) if times else None
    revoked = {key.fingerprint for key in trusted if key.revoked}  # revocation is per key
    problems = [
        (item.key, "revoked" if item.key.fingerprint in revoked else item.key.problem_at(when))
        for item in verified
    ]
    good = [key for key, problem in problems if problem is None]
    if not good:
        key, problem = problems[0]
        code = "KEY_REVOKED" if problem == "revoked" else "KEY_EXPIRED"
        return bad(
            code,
            f"{tag.name}: signed by key {_short(key.keyid)}, which is {problem} "
            f"(valid {key.window()}; merged at {_time(when)})",
            record,
        )
    findings: list[Finding] = []
    if tag.name != f"{TAG_PREFIX}{record.change_id}":
        findings.append(
            finding(
                "RECORD_NAME_MISMATCH",
                f"{tag.name} holds the record of {record.change_id}",
                record,
            )
        )
    if record.merge_commit != tag.target:
        findings.append(
            finding(
                "RECORD_MOVED",
                f"{tag.name} is on {tag.target[:12]} but records the merge "
                f"{record.merge_commit[:12]}",
                record,
            )
        )
    elif history.index(record.merge_commit) is None:
        findings.append(
            finding(
                "NOT_ON_MAIN",
                f"{tag.name} records {record.merge_commit[:12]}, which is not on main's "
                "first-parent history (was main rewritten?)",
                record,
            )
        )
    return JudgedTag(kept, record, not findings, good[0], tuple(findings))


_SIGNED_CACHE_SIZE = 4096
_signed: dict[bytes, AnyRecord] = {}  # payload's SHA-256 -> record, oldest first


def _parse_signed(payload: bytes) -> AnyRecord:
    """A signed payload parsed once per process: verify judges the same tags against main's
    history and the deployed commit's (records are frozen; callers only read them). Keyed by
    the payload's digest, so that the cache does not hold thousands of payloads."""
    key = hashlib.sha256(payload).digest()
    record = _signed.get(key)
    if record is None:
        record = parse_any_statement(payload)  # a RecordError is not cached: raised again
        if len(_signed) >= _SIGNED_CACHE_SIZE:
            del _signed[next(iter(_signed))]
        _signed[key] = record
    return record


def _short(keyid: str) -> str:
    return keyid[:16] if len(keyid) > 16 else keyid


# --- the audit ------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    change_id: str
    target: str
    change_type: str
    title: str
    from_version: str | None
    to_version: str
    rollback_of: str | None
    commit: str
    merged_at: dt.datetime
    state: str  # recorded | violation | unrecorded | invalid
    merged_by: str | None = None
    pull_number: int | None = None
    pull_url: str | None = None
    approvals: tuple[Approval, ...] = ()
    checks: tuple[CheckSummary, ...] = ()
    evidence_sha256: str | None = None
    artifacts: tuple[tuple[str, str], ...] = ()
    tag: str | None = None
    signed_by: str | None = None
    findings: list[str] = field(default_factory=list)
    required_roles: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    record_kind: str | None = None  # governance | baseline; None for a change request

    @property
    def kind(self) -> str:
        if self.record_kind:
            return self.record_kind
        return "rollback" if self.rollback_of else "promotion"

    @property
    def missing(self) -> list[str]:
        """What a violation lacked, role by role ("administrator: no approval"), then the
        recorded reasons that are not about a role."""
        approved = {approval.role for approval in self.approvals}
        lines = [f"{role}: no approval" for role in self.required_roles if role not in approved]
        lines.extend(v for v in self.violations if not v.startswith(("approvals:", "role ")))
        return lines

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "change_id": self.change_id,
            "target": self.target,
            "change_type": self.change_type,
            "title": self.title,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "rollback_of": self.rollback_of,
            "commit": self.commit,
            "merged_at": _time(self.merged_at),
            "merged_by": self.merged_by,
            "state": self.state,
            "pull_request": (
                {"number": self.pull_number, "url": self.pull_url} if self.pull_number else None
            ),
            "approvals": [a.as_data() for a in self.approvals],
            "checks": [c.as_data() for c in self.checks],
            "evidence_sha256": self.evidence_sha256,
            "artifacts": [{"path": p, "sha256": d} for p, d in self.artifacts],
            "tag": self.tag,
            "signed_by": self.signed_by,
            "findings": list(self.findings),
            "required_roles": list(self.required_roles),
            "violations": list(self.violations),
        }


@dataclass
class AuditReport:
    ref: str
    head: str | None
    entries: list[TimelineEntry]
    findings: list[Finding]
    commits: int
    ungoverned_commits: int
    records: int
    trusted_keys: list[str]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "head": self.head,
            "ok": self.ok,
            "summary": {
                "commits": self.commits,
                "ungoverned_commits": self.ungoverned_commits,
                "records": self.records,
                "promotions": sum(1 for e in self.entries if e.kind == "promotion"),
                "rollbacks": sum(1 for e in self.entries if e.kind == "rollback"),
                "governance": sum(1 for e in self.entries if e.kind == "governance"),
                "baselines": sum(1 for e in self.entries if e.kind == "baseline"),
                "findings": len(self.findings),
            },
            "trusted_keys": self.trusted_keys,
            "entries": [entry.as_data() for entry in self.entries],
            "findings": [finding.as_data() for finding in self.findings],
        }


class _Policies:
    """The policy each merge was judged by. Before the first policy, merges are ungoverned;
    once one existed, a missing or unreadable policy is a finding, never a way out: the merge
    is judged by the last readable policy."""

    def __init__(self, tree: TreeSource) -> None:
        self.tree = tree
        self._cache: dict[str, Policy | None] = {}
        self.last_good: Policy | None = None

    def at(self, commit: str | None) -> tuple[Policy | None, bool]:
        """(the policy to judge by, whether the policy at `commit` was missing or unreadable
        although one existed before)."""
        policy = self.read(commit)
        if policy is not None:
            self.last_good = policy
            return policy, False
        return self.last_good, self.last_good is not None

    def read(self, commit: str | None) -> Policy | None:
        """The readable policy at `commit`, or None."""
        if commit is None:
            return None
        blob = self.tree.blob_id(commit, POLICY_PATH)
        if blob is None:
            return None
        if blob not in self._cache:
            raw = self.tree.content(blob)
            self._cache[blob] = load_policy(raw, POLICY_PATH).value if raw is not None else None
        return self._cache[blob]


def _governed_key_files(
    commit: HistoryCommit, policy: Policy, tree: TreeSource, skip: Sequence[str]
) -> list[str]:
    """The files `commit` changes whose governed keys (change_types.<type>.keys) changed, or
    that cannot be read to tell (an unreadable file is never "no change")."""
    watches = [watch for rule in policy.change_types.values() for watch in rule.keys]
    found = []
    for path in commit.touches(tuple(p for watch in watches for p in watch.files)):
        if path in skip:
            continue
        keys = tuple(k for watch in watches if match_any(watch.files, path) for k in watch.keys)
        sides = []
        for sha in (commit.first_parent, commit.sha):
            blob = tree.blob_id(sha, path) if sha else None
            sides.append(tree.content(blob) if blob else None)
        changed, problems = config_key_changes(path, sides[0], sides[1], keys)
        if changed or problems:
            found.append(path)
    return found


def audit(
    ref: str,
    history: History,
    tags: Sequence[TagRecord],
    trusted: Sequence[TrustedKey] | KeyTrust,
    tree: TreeSource,
    reevaluate: Reevaluate | None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Checkpoint | None = None,
    *,
    judged: Sequence[JudgedTag] | None = None,
) -> AuditReport:
    """`progress(done, total)` is told after each commit of the history (for a terminal).
    `trusted`: the keys trusted through history (key_trust.trust_through_history), or one
    fixed set. `checkpoint`: the last record the operational audit system holds. `judged`:
    `judge_all(tags, trusted, history)` when the caller has it already (each signature is
    then verified once)."""
    trust = trusted if isinstance(trusted, KeyTrust) else KeyTrust.fixed(trusted)
    if judged is None:
        judged = judge_all(tags, trust, history)
    findings: list[Finding] = [f for j in judged for f in j.findings]
    findings.extend(
        Finding(item.code, item.message, commit=item.commit, at=item.at) for item in trust.findings
    )
    governance_records: dict[str, list[JudgedTag]] = {}
    for item in judged:
        if isinstance(item.record, GovernanceRecord):
            governance_records.setdefault(item.tag.target or "", []).append(item)
    by_change: dict[str, list[JudgedTag]] = {}
    for item in judged:
        if item.valid and isinstance(item.record, PromotionRecord):
            by_change.setdefault(item.record.change_id, []).append(item)
    invalid_by_change: dict[str, JudgedTag] = {j.tag.change_id: j for j in judged if not j.valid}
    policies = _Policies(tree)
    approved_merges = {
        j.record.merge_commit for j in judged if j.valid and j.record and not j.record.is_violation
    }
    governed_paths = governed_through_history(
        history, policies.read, approved_merges, items=change_type_paths
    )
    valid_on_commit: dict[str, list[AnyRecord]] = {}
    for item in judged:
        if item.valid and item.record is not None:
            valid_on_commit.setdefault(item.record.merge_commit, []).append(item.record)
    listed: set[str] = set()  # every artifact a valid record listed so far: governed for good
    merged_files: dict[str, tuple[str, str | None]] = {}  # merged CR path -> (change_id, sha256)
    cr_cache: CrCache = {}
    entries: list[TimelineEntry] = []
    last_record: dict[str, PromotionRecord] = {}  # target -> last valid record
    promoted: dict[str, str] = {}  # target -> version promoted (any CR merged on main)
    merged_crs: dict[str, ChangeRequest] = {}  # change_id -> CR merged earlier on main
    ungoverned = 0
    total = len(history.commits)
    for done, commit in enumerate(history.commits, 1):
        if progress is not None:
            progress(done, total)
        findings.extend(_edited_change_requests(commit, merged_files, tree))
        policy, policy_missing = policies.at(commit.first_parent)
        if policy_missing and commit.first_parent is not None:
            findings.append(
                Finding(
                    "POLICY_UNREADABLE",
                    f"the policy at {commit.first_parent[:12]} (the base of {commit.sha[:12]}) is "
                    "missing or cannot be read; the merge is judged by the last readable policy",
                    commit=commit.sha,
                    at=commit.committed_at,
                )
            )
        cr_dir = policy.change_request_dir if policy else "change-requests"
        added = _added_change_requests(commit, cr_dir, tree, cr_cache)
        unreadable = _unreadable_change_requests(commit, cr_dir, tree, cr_cache)
        judging = policy or policies.read(commit.sha)  # at adoption: the policy it adds
        adoption_judged = False
        if not added and judging is not None and _is_governance(commit, policy, judging):
            adoption_judged = policy is None
            outcome = _governance_merge(
                commit, governance_records.get(commit.sha, []), tree, reevaluate, judging
            )
            findings.extend(outcome.findings)
            entries.extend(outcome.entries)
            for target in outcome.baseline.targets if outcome.baseline else ():
                promoted[target.target] = target.version
        listed.update(
            a.path for record in valid_on_commit.get(commit.sha, ()) for a in record.artifacts
        )
        if policy is None:
            ungoverned += 0 if adoption_judged else 1
            for cr in added:
                promoted[cr.target] = cr.proposed_version
                merged_crs[cr.change_id] = cr
            continue
        # what is governed: the paths trusted through history (a bypass push cannot narrow
        # them), the policy at the base, and every file a valid record listed before
        patterns = (*governed_paths.before(done - 1), *change_type_paths(policy))
        governed = commit.touches(patterns) + [
            path
            for change in commit.changes
            for path in (change.old_path, change.path)
            if path and path in listed and not match_any(patterns, path)
        ]
        governed += _governed_key_files(commit, policy, tree, skip=governed)
        findings.extend(
            Finding(
                "INVALID_CHANGE_REQUEST",
                f"{commit.sha[:12]} adds {path}, which is not a valid change request: {problem}; "
                "it is not recorded and promotes nothing",
                commit=commit.sha,
                at=commit.committed_at,
            )
            for path, problem in unreadable
        )
        if governed and not added:
            findings.append(
                Finding(
                    "UNDECLARED_CHANGE",
                    f"{commit.sha[:12]} changes governed files without a change request: "
                    + ", ".join(governed[:5])
                    + (f" and {len(governed) - 5} more" if len(governed) > 5 else ""),
                    commit=commit.sha,
                    at=commit.committed_at,
                )
            )
        for cr in sorted(added, key=lambda c: c.change_id):
            if cr.change_id in merged_crs:
                findings.append(
                    Finding(
                        "DUPLICATE_CHANGE_ID",
                        f"{commit.sha[:12]} adds {cr.change_id} again: it was merged before, and "
                        "its record belongs to that merge",
                        change_id=cr.change_id,
                        commit=commit.sha,
                        target=cr.target,
                        at=commit.committed_at,
                    )
                )
                continue
            candidates = [j for j in by_change.get(cr.change_id, []) if j.record is not None]
            here = [j for j in candidates if j.record and j.record.merge_commit == commit.sha]
            entry_findings: list[Finding] = []
            if not here:
                entry = _unrecorded_entry(cr, commit, promoted.get(cr.target))
                broken = invalid_by_change.get(cr.change_id)
                if broken is not None:
                    entry.state = "invalid"
                    entry.tag = broken.tag.name
                    entry.findings.extend(f.code for f in broken.findings)
                reason = (
                    f"its tag {broken.tag.name} is not a valid record"
                    if broken
                    else f"no tag {TAG_PREFIX}{cr.change_id}"
                )
                elsewhere = [j for j in candidates if j not in here]
                if elsewhere and elsewhere[0].record:
                    reason = f"its record names {elsewhere[0].record.merge_commit[:12]} instead"
                entry_findings.append(
                    Finding(
                        "UNRECORDED_MERGE",
                        f"{cr.change_id} ({cr.target} {cr.proposed_version}) merged in "
                        f"{commit.sha[:12]} without a valid record: {reason}",
                        change_id=cr.change_id,
                        commit=commit.sha,
                        target=cr.target,
                        at=commit.committed_at,
                    )
                )
            else:
                item = here[0]
                record = item.record
                assert isinstance(record, PromotionRecord)
                entry = _recorded_entry(item, record)
                entry_findings.extend(_check_record(record, cr, commit, policy, tree, reevaluate))
                entry_findings.extend(_check_chain(record, last_record.get(record.target)))
                last_record[record.target] = record
            entry_findings.extend(_check_lineage(cr, commit, promoted, merged_crs))
            promoted[cr.target] = cr.proposed_version
            merged_crs[cr.change_id] = cr
            merged_files[cr.source_path] = (
                cr.change_id,
                here[0].record.change_request_sha256
                if here and isinstance(here[0].record, PromotionRecord)
                else _digest_at(tree, commit.sha, cr.source_path),
            )
            entry.findings.extend(f.code for f in entry_findings if f.code not in entry.findings)
            findings.extend(entry_findings)
            entries.append(entry)
    for item in judged:
        record = item.record
        if not item.valid or not isinstance(record, PromotionRecord):
            continue
        on_main = history.commit(record.merge_commit)
        if on_main is None:
            continue
        adds = _added_change_requests(
            on_main, _dir(policies.read(on_main.first_parent) or policies.last_good), tree,
            cr_cache
        )
        if record.change_id not in {cr.change_id for cr in adds}:
            findings.append(
                Finding(
                    "RECORD_MOVED",
                    f"{item.tag.name} is on {on_main.sha[:12]}, which does not add "
                    f"{record.change_request_path}",
                    change_id=record.change_id,
                    commit=on_main.sha,
                    tag=item.tag.name,
                    target=record.target,
                    at=record.merged_at,
                )
            )
    if checkpoint is not None:
        findings.extend(_check_checkpoint(checkpoint, judged, history))
    order = {c.sha: i for i, c in enumerate(history.commits)}
    findings.sort(key=lambda f: (order.get(f.commit or "", len(order)), f.change_id or "", f.code))
    return AuditReport(
        ref=ref,
        head=history.tip.sha if history.tip else None,
        entries=entries,
        findings=findings,
        commits=len(history.commits),
        ungoverned_commits=ungoverned,
        records=len(tags),
        trusted_keys=trust.describe(),
    )


@dataclass(frozen=True)
class Checkpoint:
    """The last record the operational audit system holds: its id and digest (the event's
    subject and id)."""

    record_id: str
    digest: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        record_id, separator, digest = text.partition("@")
        if not separator or not record_id or len(digest) != 64:
            raise ValueError("write RECORD_ID@SHA256, e.g. CR-2026-0007@3f1c…(64 hex)")
        return cls(record_id, digest.lower())


def _check_checkpoint(
    checkpoint: Checkpoint, judged: Sequence[JudgedTag], history: History
) -> list[Finding]:
    """Rewinding main past the newest promotion and deleting its tag is invisible from git
    alone; the audit system's checkpoint is the outside anchor that notices."""
    for item in judged:
        record = item.record
        if (
            item.valid
            and record is not None
            and record.change_id == checkpoint.record_id
            and record.digest == checkpoint.digest
            and history.index(record.merge_commit) is not None
        ):
            return []
    return [
        Finding(
            "CHECKPOINT_UNREACHABLE",
            f"the audit system's checkpoint {checkpoint.record_id} ({checkpoint.digest[:12]}…) is "
            "not a valid record on main's history: main was rewound or the record was deleted "
            "or changed after it was delivered",
            change_id=checkpoint.record_id,
        )
    ]


def _is_governance(commit: HistoryCommit, base: Policy | None, judging: Policy) -> bool:
    """A merge that must carry a governance (or baseline) record: it changes governance files
    (by the policy at its base), or it is the adoption and adds the baseline."""
    if base is None:
        return bool(commit.touches((BASELINE_PATH,)))
    return bool(commit.touches(governance_patterns(base)))


@dataclass
class _GovernanceOutcome:
    findings: list[Finding]
    entries: list[TimelineEntry]
    baseline: GovernanceRecord | None = None


def _governance_merge(
    commit: HistoryCommit,
    candidates: Sequence[JudgedTag],
    tree: TreeSource,
    reevaluate: Reevaluate | None,
    policy: Policy,
) -> _GovernanceOutcome:
    def finding(code: str, message: str, record_id: str) -> Finding:
        return Finding(
            code, message, change_id=record_id, commit=commit.sha, tag=f"{TAG_PREFIX}{record_id}",
            at=commit.committed_at,
        )

    wants_baseline = any(
        change.path == BASELINE_PATH and change.status in ("A", "C", "R")
        for change in commit.changes
    )
    expected_id = f"{'BASELINE' if wants_baseline else 'GOV'}-{commit.sha[:12]}"
    valid = [
        j
        for j in candidates
        if j.valid
        and isinstance(j.record, GovernanceRecord)
        and j.record.merge_commit == commit.sha
    ]
    entry = TimelineEntry(
        change_id=expected_id, target=GOVERNANCE_TARGET, change_type="governance",
        title="governance change", from_version=None, to_version="", rollback_of=None,
        commit=commit.sha, merged_at=commit.committed_at, state="unrecorded",
        record_kind="baseline" if wants_baseline else "governance",
    )
    if not valid:
        touched = commit.touches(governance_patterns(policy)) or [BASELINE_PATH]
        broken = [j for j in candidates if not j.valid]
        if broken:
            entry.state, entry.tag = "invalid", broken[0].tag.name
        reason = (
            f"its tag {broken[0].tag.name} is not a valid record"
            if broken
            else f"no tag {TAG_PREFIX}{expected_id}"
        )
        found = finding(
            "UNRECORDED_GOVERNANCE",
            f"{commit.sha[:12]} changes governance files ("
            + ", ".join(touched[:5])
            + (f" and {len(touched) - 5} more" if len(touched) > 5 else "")
            + f") without a valid governance record: {reason}",
            expected_id,
        )
        entry.findings.append(found.code)
        return _GovernanceOutcome([found], [entry])
    item = valid[0]
    record = item.record
    assert isinstance(record, GovernanceRecord)
    found_here = _check_governance_record(record, commit, tree, reevaluate, policy, finding)
    if wants_baseline != (record.kind == "baseline"):
        found_here.append(
            finding(
                "RECORD_INCONSISTENT",
                f"{record.change_id}: a {record.kind} record on a merge that "
                + ("adds" if wants_baseline else "does not add")
                + f" {BASELINE_PATH}",
                record.change_id,
            )
        )
    pull = record.pull_request
    entry = TimelineEntry(
        change_id=record.change_id, target=GOVERNANCE_TARGET, change_type="governance",
        title=pull.title if pull else "governance change (no pull request)",
        from_version=None, to_version="", rollback_of=None, commit=commit.sha,
        merged_at=record.merged_at, state="violation" if record.is_violation else "recorded",
        merged_by=record.merged_by, pull_number=pull.number if pull else None,
        pull_url=pull.url if pull else None, approvals=record.decision.approvals,
        checks=record.evidence.checks if record.evidence else (),
        evidence_sha256=record.evidence.sha256 if record.evidence else None,
        artifacts=tuple((c.path, c.sha256) for c in record.changed if c.sha256),
        tag=item.tag.name, signed_by=item.signed_by.keyid if item.signed_by else None,
        findings=[f.code for f in found_here], required_roles=record.decision.required_roles,
        violations=record.decision.violations, record_kind=record.kind,
    )
    if record.kind != "baseline":
        return _GovernanceOutcome(found_here, [entry])
    entries = [
        TimelineEntry(
            change_id=record.change_id, target=target.target, change_type=target.change_type,
            title=f"adoption baseline: {target.target} {target.version} is live",
            from_version=None, to_version=target.version, rollback_of=None, commit=commit.sha,
            merged_at=record.merged_at, state=entry.state, merged_by=entry.merged_by,
            pull_number=entry.pull_number, pull_url=entry.pull_url, approvals=entry.approvals,
            artifacts=tuple((a.path, a.sha256) for a in target.artifacts), tag=entry.tag,
            signed_by=entry.signed_by, findings=list(entry.findings),
            required_roles=entry.required_roles, violations=entry.violations,
            record_kind="baseline",
        )
        for target in record.targets
    ]
    usable = not record.is_violation and not found_here
    return _GovernanceOutcome(found_here, entries, record if usable else None)


def _check_governance_record(
    record: GovernanceRecord,
    commit: HistoryCommit,
    tree: TreeSource,
    reevaluate: Reevaluate | None,
    policy: Policy,
    finding: Callable[[str, str, str], Finding],
) -> list[Finding]:
    found: list[Finding] = []
    wrong: list[str] = []
    listed = [(c.path, c.sha256) for c in record.changed if c.sha256]
    listed += [(a.path, a.sha256) for a in record.artifacts]
    for path, digest in listed:
        blob = tree.blob_id(commit.sha, path)
        actual = tree.sha256(blob) if blob else None
        if actual != digest:
            wrong.append(f"{path} is {actual[:12] + '…' if actual else 'missing'}")
    recorded_paths = {c.path for c in record.changed} | {c.old_path for c in record.changed}
    unlisted = [c.path for c in commit.changes if c.path not in recorded_paths]
    if unlisted:
        wrong.append("changed but not listed: " + ", ".join(unlisted[:5]))
    if wrong:
        message = f"{record.change_id}: " + "; ".join(wrong)
        found.append(finding("ARTIFACT_MISMATCH", message, record.change_id))
    inconsistent: list[str] = []
    if record.merge_tree != commit.tree:
        inconsistent.append(f"tree {record.merge_tree[:12]} is not the commit's {commit.tree[:12]}")
    if record.merge_parent != commit.first_parent:
        inconsistent.append("parent is not the commit's first parent")
    base_policy = tree.blob_id(commit.first_parent or "", POLICY_PATH)
    judged_by = base_policy or tree.blob_id(commit.sha, POLICY_PATH)  # adoption: its own
    if record.policy_sha256 != (tree.sha256(judged_by) if judged_by else None):
        inconsistent.append("the policy digest is not the policy the merge was judged by")
    if inconsistent:
        found.append(
            finding(
                "RECORD_INCONSISTENT", f"{record.change_id}: " + "; ".join(inconsistent),
                record.change_id,
            )
        )
    if record.is_violation:
        found.append(
            finding(
                "POLICY_VIOLATION",
                f"{record.change_id} ({record.kind}) was merged in {commit.sha[:12]} without "
                "satisfying the policy (recorded): " + "; ".join(record.decision.violations[:3]),
                record.change_id,
            )
        )
    elif reevaluate is not None:
        again = reevaluate(record, commit, policy)
        if again is not None and not again.approved:
            found.append(
                finding(
                    "POLICY_VIOLATION",
                    f"{record.change_id}: the record says approved, but re-evaluating its "
                    "snapshot with the policy it was judged by says: "
                    + "; ".join(again.violations[:3]),
                    record.change_id,
                )
            )
    return found


def _dir(policy: Policy | None) -> str:
    return policy.change_request_dir if policy else "change-requests"


CrCache = dict[tuple[str, str], ChangeRequest | None]


def _added_change_requests(
    commit: HistoryCommit, directory: str, tree: TreeSource, cache: CrCache
) -> list[ChangeRequest]:
    found: list[ChangeRequest] = []
    for path in commit.added(directory):
        blob = tree.blob_id(commit.sha, path)
        if blob is None:
            continue
        key = (blob, path)  # a blob's meaning depends on its name (change_id = file name)
        if key not in cache:
            raw = tree.content(blob)
            cache[key] = load_change_request(raw, path).value if raw is not None else None
        value = cache[key]
        if value is not None:
            found.append(value)
    return found


def _unreadable_change_requests(
    commit: HistoryCommit, directory: str, tree: TreeSource, cache: CrCache
) -> list[tuple[str, str]]:
    """(path, first problem) of each file the commit adds to the change request folder that
    is not a valid change request (the audit says so; record skips only that merge)."""
    found: list[tuple[str, str]] = []
    for path in commit.added(directory):
        blob = tree.blob_id(commit.sha, path)
        if blob is None or cache.get((blob, path)) is not None:
            continue
        raw = tree.content(blob)
        loaded = load_change_request(raw, path) if raw is not None else None
        problem = loaded.problems[0].render() if loaded and loaded.problems else "unreadable"
        found.append((path, problem))
    return found


def _digest_at(tree: TreeSource, commit: str, path: str) -> str | None:
    blob = tree.blob_id(commit, path)
    return tree.sha256(blob) if blob else None


def _edited_change_requests(
    commit: HistoryCommit, merged: Mapping[str, tuple[str, str | None]], tree: TreeSource
) -> list[Finding]:
    """A merged change request is immutable: its file after the merge must stay the bytes its
    record signed (or, unrecorded, the bytes merged). Edited, replaced, renamed or deleted
    later, it would make `new` and `status` read versions nobody approved."""
    found: list[Finding] = []
    for change in commit.changes:
        sides: list[tuple[str | None, str | None]] = []
        if change.status == "R" and change.old_path:
            sides.append((change.old_path, None))
        sides.append((change.path, change.new_blob if change.status != "D" else None))
        for path, blob in sides:
            if path is None or path not in merged:
                continue
            change_id, expected = merged[path]
            if blob is not None and tree.sha256(blob) == expected:
                continue  # restored to the merged bytes
            what = "deletes" if blob is None else "changes"
            found.append(
                Finding(
                    "CHANGE_REQUEST_EDITED",
                    f"{commit.sha[:12]} {what} {path}, the change request of {change_id} merged "
                    "before: merged change requests are immutable (restore it; a new promotion "
                    "needs a new change request)",
                    change_id=change_id,
                    commit=commit.sha,
                    at=commit.committed_at,
                )
            )
    return found


def _unrecorded_entry(
    cr: ChangeRequest, commit: HistoryCommit, before: str | None
) -> TimelineEntry:
    return TimelineEntry(
        change_id=cr.change_id,
        target=cr.target,
        change_type=cr.change_type,
        title=cr.title,
        from_version=cr.current_version if cr.current_version is not None else before,
        to_version=cr.proposed_version,
        rollback_of=cr.rollback_of,
        commit=commit.sha,
        merged_at=commit.committed_at,
        state="unrecorded",
        artifacts=tuple((a.path, a.sha256) for a in cr.artifacts),
    )


def _recorded_entry(item: JudgedTag, record: PromotionRecord) -> TimelineEntry:
    pull = record.pull_request
    return TimelineEntry(
        change_id=record.change_id,
        target=record.target,
        change_type=record.change_type,
        title=record.title,
        from_version=record.current_version,
        to_version=record.proposed_version,
        rollback_of=record.rollback_of,
        commit=record.merge_commit,
        merged_at=record.merged_at,
        state="violation" if record.is_violation else "recorded",
        merged_by=record.merged_by,
        pull_number=pull.number if pull else None,
        pull_url=pull.url if pull else None,
        approvals=record.decision.approvals,
        checks=record.evidence.checks if record.evidence else (),
        evidence_sha256=record.evidence.sha256 if record.evidence else None,
        artifacts=tuple((a.path, a.sha256) for a in record.artifacts),
        tag=item.tag.name,
        signed_by=item.signed_by.keyid if item.signed_by else None,
        required_roles=record.decision.required_roles,
        violations=record.decision.violations,
    )


def _check_record(
    record: PromotionRecord,
    cr: ChangeRequest,
    commit: HistoryCommit,
    policy: Policy,
    tree: TreeSource,
    reevaluate: Reevaluate | None,
) -> list[Finding]:
    def finding(code: str, message: str) -> Finding:
        return Finding(
            code,
            message,
            change_id=record.change_id,
            commit=commit.sha,
            tag=f"{TAG_PREFIX}{record.change_id}",
            target=record.target,
            at=record.merged_at,
        )

    found: list[Finding] = []
    wrong: list[str] = []
    for artifact in record.artifacts:
        blob = tree.blob_id(commit.sha, artifact.path)
        actual = tree.sha256(blob) if blob else None
        if actual != artifact.sha256:
            wrong.append(
                f"{artifact.path} is {actual[:12] + '…' if actual else 'missing'}, "
                f"recorded {artifact.sha256[:12]}…"
            )
    blob = tree.blob_id(commit.sha, record.change_request_path)
    actual = tree.sha256(blob) if blob else None
    if actual != record.change_request_sha256:
        wrong.append(f"the change request file {record.change_request_path} differs")
    elif cr.as_data() != record.change_request.as_data():
        wrong.append(f"the change request content differs from {record.change_request_path}")
    if wrong:
        found.append(
            finding(
                "ARTIFACT_MISMATCH",
                f"{record.change_id} at {commit.sha[:12]}: " + "; ".join(wrong),
            )
        )
    inconsistent: list[str] = []
    if record.merge_tree != commit.tree:
        inconsistent.append(f"tree {record.merge_tree[:12]} is not the commit's {commit.tree[:12]}")
    if record.merge_parent != commit.first_parent:
        inconsistent.append("parent is not the commit's first parent")
    policy_blob = tree.blob_id(commit.first_parent or "", POLICY_PATH)
    policy_digest = tree.sha256(policy_blob) if policy_blob else None
    if record.policy_sha256 != policy_digest:
        inconsistent.append("the policy digest is not the policy at the base")
    if inconsistent:
        found.append(
            finding("RECORD_INCONSISTENT", f"{record.change_id}: " + "; ".join(inconsistent))
        )
    if record.is_violation:
        found.append(
            finding(
                "POLICY_VIOLATION",
                f"{record.change_id} was merged in {commit.sha[:12]} without satisfying the "
                f"policy (recorded): " + "; ".join(record.decision.violations[:3]),
            )
        )
    elif reevaluate is not None:
        again = reevaluate(record, commit, policy)
        if again is not None and not again.approved:
            found.append(
                finding(
                    "POLICY_VIOLATION",
                    f"{record.change_id}: the record says approved, but re-evaluating its "
                    "snapshot with the policy at the base says: " + "; ".join(again.violations[:3]),
                )
            )
    return found


def _check_chain(record: PromotionRecord, before: PromotionRecord | None) -> list[Finding]:
    link = record.previous
    problem: str | None = None
    if before is None and link is not None:
        problem = (
            f"names {link.change_id} as the previous record of {record.target}, but there is "
            "no valid earlier record of it on main"
        )
    elif before is not None and link is None:
        problem = f"does not link to {before.change_id}, the previous record of {record.target}"
    elif before is not None and link is not None:
        if link.change_id != before.change_id:
            problem = (
                f"links to {link.change_id}, but the previous valid record of {record.target} "
                f"is {before.change_id}"
            )
        elif link.statement_sha256 != before.digest or link.merge_commit != before.merge_commit:
            problem = f"links to {link.change_id} with another digest: that record was changed"
    if problem is None:
        return []
    return [
        Finding(
            "CHAIN_BROKEN",
            f"{record.change_id} {problem}",
            change_id=record.change_id,
            commit=record.merge_commit,
            tag=f"{TAG_PREFIX}{record.change_id}",
            target=record.target,
            at=record.merged_at,
        )
    ]


def _check_lineage(
    cr: ChangeRequest,
    commit: HistoryCommit,
    promoted: Mapping[str, str],
    merged: Mapping[str, ChangeRequest],
) -> list[Finding]:
    def finding(code: str, message: str) -> Finding:
        return Finding(
            code,
            message,
            change_id=cr.change_id,
            commit=commit.sha,
            target=cr.target,
            at=commit.committed_at,
        )

    found: list[Finding] = []
    before = promoted.get(cr.target)
    if cr.current_version != before:
        found.append(
            finding(
                "STALE_VERSION",
                f"{cr.change_id} moves {cr.target} from {cr.current_version or 'nothing'}, but "
                f"{before or 'nothing'} was promoted before",
            )
        )
    if cr.rollback_of:
        undone = merged.get(cr.rollback_of)
        if undone is None or undone.target != cr.target:
            what = (
                "no earlier promotion on main" if undone is None else f"a {undone.target} promotion"
            )
            found.append(
                finding(
                    "ROLLBACK_TARGET_UNKNOWN",
                    f"{cr.change_id} rolls back {cr.rollback_of}: {what}",
                )
            )
        elif undone.current_version is not None and cr.proposed_version != undone.current_version:
            found.append(
                finding(
                    "ROLLBACK_VERSION_MISMATCH",
                    f"{cr.change_id} rolls back {cr.rollback_of} to {cr.proposed_version}, but "
                    f"{cr.rollback_of} moved {cr.target} from {undone.current_version}",
                )
            )
    return found


# --- status and coverage --------------------------------------------------------------------


@dataclass(frozen=True)
class TargetStatus:
    target: str
    change_type: str
    version: str
    change_id: str
    commit: str
    merged_at: dt.datetime
    state: str  # recorded | violation | unrecorded | invalid
    recorded_version: str | None  # the newest version with a valid, approved record

    def as_data(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "change_type": self.change_type,
            "version": self.version,
            "change_id": self.change_id,
            "commit": self.commit,
            "merged_at": _time(self.merged_at),
            "state": self.state,
            "recorded_version": self.recorded_version,
        }


def current_status(report: AuditReport) -> list[TargetStatus]:
    """Per target: the version main promotes now (the last change request merged) and
    whether a valid record covers it."""
    latest: dict[str, TimelineEntry] = {}
    recorded: dict[str, str] = {}
    for entry in report.entries:
        if entry.kind == "governance":
            continue
        latest[entry.target] = entry
        if entry.state == "recorded":
            recorded[entry.target] = entry.to_version
    return [
        TargetStatus(
            target=target,
            change_type=entry.change_type,
            version=entry.to_version,
            change_id=entry.change_id,
            commit=entry.commit,
            merged_at=entry.merged_at,
            state=entry.state,
            recorded_version=recorded.get(target),
        )
        for target, entry in sorted(latest.items())
    ]


def filter_report(
    report: AuditReport,
    since: dt.datetime | None = None,
    target: str | None = None,
    change_id: str | None = None,
) -> AuditReport:
    def keep_entry(entry: TimelineEntry) -> bool:
        return (
            (since is None or entry.merged_at >= since)
            and (target is None or entry.target == target)
            and (change_id is None or entry.change_id == change_id)
        )

    def keep_finding(item: Finding) -> bool:
        if since is not None and item.at is not None and item.at < since:
            return False
        if target is not None and item.target not in (None, target):
            return False
        if target is not None and item.target is None and item.change_id is None:
            return False
        return change_id is None or item.change_id == change_id

    return AuditReport(
        ref=report.ref,
        head=report.head,
        entries=[e for e in report.entries if keep_entry(e)],
        findings=[f for f in report.findings if keep_finding(f)],
        commits=report.commits,
        ungoverned_commits=report.ungoverned_commits,
        records=report.records,
        trusted_keys=report.trusted_keys,
    )


@dataclass(frozen=True)
class Uncovered:
    path: str
    reason: str


def _newest_records(
    judged: Sequence[JudgedTag], history: History
) -> dict[str, tuple[int, AnyRecord]]:
    """path -> the newest valid record on `history` that lists it (and its position)."""
    newest: dict[str, tuple[int, AnyRecord]] = {}
    for item in judged:
        record = item.record
        if not item.valid or record is None:
            continue
        position = history.index(record.merge_commit)
        if position is None:
            continue
        for artifact in record.artifacts:
            current = newest.get(artifact.path)
            if (
                current is None
                or position > current[0]
                or (position == current[0] and record.change_id > current[1].change_id)
            ):
                newest[artifact.path] = (position, record)
    return newest


def _violation(record: AnyRecord) -> str:
    return f"its newest record {record.change_id} is a policy violation: " + (
        record.decision.violations[0] if record.decision.violations else ""
    )


def coverage(
    files: Mapping[str, str | None],
    judged: Sequence[JudgedTag],
    history: History,
) -> list[Uncovered]:
    """Deployment gate: each governed file (path -> its sha256 at the commit) must be
    covered by the newest valid, approved record on `history` that lists it, with the same
    sha256. `history` ends at the commit being deployed."""
    newest = _newest_records(judged, history)
    uncovered: list[Uncovered] = []
    for path, digest in sorted(files.items()):
        found = newest.get(path)
        if found is None:
            uncovered.append(Uncovered(path, "no valid promotion record lists this file"))
            continue
        record = found[1]
        declared = next(a.sha256 for a in record.artifacts if a.path == path)
        if record.is_violation:
            uncovered.append(Uncovered(path, _violation(record)))
        elif digest != declared:
            uncovered.append(
                Uncovered(
                    path,
                    f"its bytes (sha256 {str(digest)[:12]}…) differ from {record.change_id}'s "
                    f"record ({declared[:12]}…)",
                )
            )
    return uncovered


def key_coverage(
    files: Mapping[str, bytes | None],
    governed_keys: Mapping[str, tuple[str, ...]],
    judged: Sequence[JudgedTag],
    history: History,
    tree: TreeSource,
) -> list[Uncovered]:
    """Deployment gate for keys a change type governs inside a file (path -> its bytes at the
    commit; `governed_keys`: path -> key patterns). The governed keys must hold the values of
    the newest valid, approved record on `history` that lists the file (read from its merge
    commit, whose bytes must be the recorded ones); the rest of the file is free. A file with
    none of its governed keys and no record holds nothing governed."""
    newest = _newest_records(judged, history)
    uncovered: list[Uncovered] = []
    for path, content in sorted(files.items()):
        keys = governed_keys[path]
        found = newest.get(path)
        if found is None:
            present, problems = config_key_changes(path, None, content, keys)
            if problems:
                uncovered.append(Uncovered(path, problems[0].render()))
            elif present:
                uncovered.append(
                    Uncovered(
                        path,
                        "no valid promotion record lists this file, but it holds governed keys ("
                        + ", ".join(change.key for change in present)
                        + ")",
                    )
                )
            continue
        record = found[1]
        declared = next(a.sha256 for a in record.artifacts if a.path == path)
        if record.is_violation:
            uncovered.append(Uncovered(path, _violation(record)))
            continue
        blob = tree.blob_id(record.merge_commit, path)
        recorded = tree.content(blob) if blob else None
        if recorded is None or tree.sha256(blob or "") != declared:
            uncovered.append(
                Uncovered(
                    path,
                    f"the bytes {record.change_id} recorded are not at its merge commit "
                    f"{record.merge_commit[:12]}, so its governed keys cannot be compared",
                )
            )
            continue
        changed, problems = config_key_changes(path, recorded, content, keys)
        if problems:
            uncovered.append(Uncovered(path, problems[0].render()))
        elif changed:
            uncovered.append(
                Uncovered(
                    path,
                    f"its governed keys differ from {record.change_id}'s record: "
                    + "; ".join(change.describe().removeprefix(f"{path}: ") for change in changed),
                )
            )
    return uncovered


def judge_all(
    tags: Sequence[TagRecord], trusted: Sequence[TrustedKey] | KeyTrust, history: History
) -> list[JudgedTag]:
    """Each tag judged with the keys trusted at its commit's place on `history` (main's tip
    for a tag whose commit is not on it)."""
    trust = trusted if isinstance(trusted, KeyTrust) else KeyTrust.fixed(trusted)
    return [
        judge_tag(tag, trust.keys_at(history.index(tag.target) if tag.target else None), history)
        for tag in tags
    ]
