"""The ledger of a clone, loaded once: main's first-parent history, the promotion tags, the
files the audit needs and the trusted keys. Shared by the audit, status, verify and rollback
flows.

Reads main's first-parent history (one `git log`), the promotion tags (one `git for-each-ref`
plus one `git cat-file --batch`) and the files it needs (one more `cat-file --batch`); the
judging is promotion_bot.core.audit's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters.key_files import load_trusted_keys_file
from promotion_bot.adapters.ledger import GitRepo, HistoryTree, read_history, read_tags
from promotion_bot.core.audit import AuditReport, Checkpoint, Reevaluate, audit, judge_tag
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.dsse import EnvelopeError, parse_envelope, verify
from promotion_bot.core.errors import ConfigError, PromotionBotError
from promotion_bot.core.formats.bounded_json import parse_json
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.git_facts import Change, TagRecord
from promotion_bot.core.governance import AnyRecord
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.key_trust import KeyTrust, trust_through_history
from promotion_bot.core.keys import TrustedKey
from promotion_bot.core.merge_decision import (
    AdoptedAtBase,
    MergedAsHead,
    MergeQuestion,
    decide,
)
from promotion_bot.core.models import Policy
from promotion_bot.core.records import PromotionRecord, RecordedDecision
from promotion_bot.core.snapshot import parse_snapshot


@dataclass
class Ledger:
    repo: GitRepo
    ref: str
    history: History
    tags: list[TagRecord]
    tree: HistoryTree
    trusted: KeyTrust


def load_ledger(root: Path, ref: str, trusted_keys: Path | None) -> Ledger:
    repo = GitRepo.at(root)
    history = read_history(repo, ref)
    tags = read_tags(repo)
    tree = HistoryTree(repo, history)
    tree.prepare(_plan(history))
    trusted = trusted_keys_for(tree, history, tags, trusted_keys)
    # the records' files only once the keys are known: an unsigned payload is never parsed
    tree.prepare(_plan_records(history, tags, trusted.every_key()))
    return Ledger(repo, ref, history, tags, tree, trusted)


def trusted_keys_for(
    tree: HistoryTree, history: History, tags: list[TagRecord], extra: Path | None
) -> KeyTrust:
    """The keys trusted through main's history (core/key_trust.py), plus --trusted-keys."""
    tip = history.tip
    if tip is not None:
        blob = tree.blob_id(tip.sha, POLICY_PATH)
        raw = tree.content(blob) if blob else None
        loaded = load_policy(raw, POLICY_PATH) if raw is not None else None
        if loaded is not None and loaded.value is None:
            raise ConfigError(
                f"the policy at {tip.sha[:12]} cannot be read, so its trusted keys are "
                f"unknown; run: promotion-bot validate {POLICY_PATH}",
                loaded.problems,
            )
    by_commit: dict[str, list[TagRecord]] = {}
    for tag in tags:
        by_commit.setdefault(tag.target or "", []).append(tag)
    trust = trust_through_history(
        history,
        policy_reader(tree),
        lambda commit: by_commit.get(commit, []),
        lambda tag, keys: judge_tag(tag, keys, history),
        load_trusted_keys_file(extra) if extra is not None else (),
    )
    if not trust.current:
        raise ConfigError(
            "no trusted keys: the policy on main lists no signing.keys and no --trusted-keys "
            "file was given, so no record can be verified"
        )
    return trust


def policy_reader(tree: HistoryTree) -> Callable[[str], Policy | None]:
    """The readable policy at a commit of the history (None: missing or unreadable)."""
    policies: dict[str, Policy | None] = {}

    def policy_at(commit: str) -> Policy | None:
        blob = tree.blob_id(commit, POLICY_PATH)
        if blob is None:
            return None
        if blob not in policies:
            content = tree.content(blob)
            policies[blob] = load_policy(content, POLICY_PATH).value if content else None
        return policies[blob]

    return policy_at


def _plan(history: History) -> dict[str, set[str]]:
    """The files every commit is judged by (policy, CODEOWNERS, the change requests it adds),
    so that one `cat-file --batch` fetches them all."""
    return {
        commit.sha: {POLICY_PATH, *CODEOWNERS_LOCATIONS, *commit.added("change-requests")}
        for commit in history.commits
    }


def _plan_records(
    history: History, tags: list[TagRecord], keys: Sequence[TrustedKey]
) -> dict[str, set[str]]:
    """The files the records name (and their merges changed), in one more batch."""
    wanted: dict[str, set[str]] = {}
    for tag in tags:
        peeked = _peek(tag, keys)
        if peeked is None:
            continue
        merge_commit, paths = peeked
        merged = history.commit(merge_commit)
        if merged is None:
            continue
        changed = {p for c in merged.changes for p in (c.path, c.old_path) if p}
        wanted.setdefault(merged.sha, set()).update(paths | changed)
        if merged.first_parent and history.index(merged.first_parent) is not None:
            wanted.setdefault(merged.first_parent, set()).update(
                changed | {".promotion/roster.yaml"}
            )
    return wanted


def _peek(tag: TagRecord, keys: Sequence[TrustedKey]) -> tuple[str, set[str]] | None:
    """The merge commit and the files a record names, read without judging it (planning
    only: judge_tag judges it properly). Only a payload that a key trusted somewhere on the
    history signed is parsed: anyone can push a tag of 16 MB of JSON."""
    try:
        envelope = parse_envelope(tag.message.strip())
        if not verify(envelope, [(key, key.public_key) for key in keys]):
            return None
        data = parse_json(envelope.payload)
        predicate = data["predicate"]
        paths = {str(item["name"]) for item in data["subject"]}
        if isinstance(predicate.get("change_request"), dict):
            paths.add(str(predicate["change_request"]["path"]))
        for changed in predicate.get("changed", []):
            paths.add(str(changed["path"]))
        return str(predicate["merge"]["commit"]), paths
    except (EnvelopeError, ValueError, KeyError, TypeError):
        return None


def reevaluator(tree: HistoryTree) -> Reevaluate:
    """Re-run the decision at merge from a record's embedded snapshot and evidence, with the
    policy, CODEOWNERS and roster of the merge's first parent."""

    def run(record: AnyRecord, commit: HistoryCommit, policy: Policy | None) -> RecordedDecision:
        snapshot = None
        data = record.snapshot  # parsed here, once: the record keeps it as JSON text
        if data is not None:
            try:
                snapshot = parse_snapshot(dict(data), f"{record.change_id} snapshot")
            except PromotionBotError as error:
                return RecordedDecision(
                    False, (), (), (f"the embedded snapshot cannot be read: {error.message}",), ""
                )
        base = commit.first_parent or commit.sha
        adoption = tree.blob_id(base, POLICY_PATH) is None  # judged by the policy it adds
        question = MergeQuestion(
            base=base,
            merge=commit.sha,
            snapshot=snapshot,
            evidence=record.evidence,
            change_requests=(
                (record.change_request,) if isinstance(record, PromotionRecord) else ()
            ),
            policy=policy,
            tree_differences=(),  # compared by the recorder; its violations are in the record
        )
        changes = [Change(c.status, c.path, c.old_path) for c in commit.changes]
        head = snapshot.head_sha if snapshot else commit.sha
        reader = MergedAsHead(tree, head, commit.sha, changes)
        return decide(question, AdoptedAtBase(reader, base, commit.sha) if adoption else reader)

    return run


def run_audit(
    ledger: Ledger,
    *,
    reevaluate: bool = True,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> AuditReport:
    return audit(
        ledger.ref,
        ledger.history,
        ledger.tags,
        ledger.trusted,
        ledger.tree,
        reevaluator(ledger.tree) if reevaluate else None,
        progress,
        checkpoint,
    )
