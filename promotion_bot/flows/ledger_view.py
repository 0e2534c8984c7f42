"""The ledger of a clone, loaded once: main's first-parent history, the promotion tags, the
files the audit needs and the trusted keys. Shared by the audit, status, verify and rollback
flows.

Reads the branch and the promotion tags' refs (one `git for-each-ref`), main's first-parent
history (one `git log`), the tag objects with the files every commit is judged by (one `git
cat-file --batch`) and the files the valid records name (one more); the judging is
promotion_bot.core.audit's. Each tag is judged once, here, with the keys trusted
through the history: its signature verified and its payload parsed once; the files the valid
records name are then fetched in one batch, and the audit reuses the verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters.key_files import load_trusted_keys_file
from promotion_bot.adapters.ledger import (
    GitRepo,
    HistoryTree,
    history_of,
    promotion_tag_refs,
    read_ledger_refs,
    read_tags_and_files,
)
from promotion_bot.core.audit import (
    AuditReport,
    Checkpoint,
    JudgedTag,
    Reevaluate,
    audit,
    judge_all,
    judge_tag,
)
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.errors import ConfigError, PromotionBotError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.git_facts import Change, TagRecord
from promotion_bot.core.governance import AnyRecord, GovernanceRecord
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.key_trust import KeyTrust, trust_through_history
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
    judged: list[JudgedTag]  # the tags judged with `trusted` (core.audit.judge_all)


def load_ledger(
    root: Path, ref: str, trusted_keys: Path | None, *, keep_envelopes: bool = True,
    commit: str | None = None,
) -> Ledger:
    """`ref` is resolved as a branch (git.resolve_branch), unless the caller resolved it:
    `commit`. `keep_envelopes=False`: the tags keep their names and targets but not their
    messages (the envelopes), for a caller that judges them only with the ledger's own keys
    (the audit: ten thousand envelopes are most of its memory)."""
    repo = GitRepo.at(root)
    if commit is None:
        commit, refs = read_ledger_refs(repo, ref)
    else:
        refs = promotion_tag_refs(repo)
    history = history_of(repo, commit)
    tree = HistoryTree(repo, history)
    tags = read_tags_and_files(repo, refs, tree, _plan(history))
    return _judged_ledger(repo, ref, history, tags, tree, trusted_keys, keep_envelopes)


def ledger_at(ledger: Ledger, commit: str, trusted_keys: Path | None) -> Ledger:
    """The ledger of `commit`, a commit on `ledger`'s first-parent history, from what `ledger`
    read: what `load_ledger(root, commit, ...)` would load, without asking git again (the
    first-parent history of a commit on that history is its beginning; the tags are the
    clone's, and a blob's contents are the same wherever it is read)."""
    position = ledger.history.index(commit)
    if position is None:
        raise ValueError(f"{commit} is not on the history of {ledger.ref}")
    history = History(ledger.history.commits[: position + 1])
    tree = HistoryTree(ledger.repo, history)
    tree.share_contents(ledger.tree)
    tree.prepare(_plan(history))  # read already: nothing to fetch
    return _judged_ledger(ledger.repo, commit, history, list(ledger.tags), tree, trusted_keys,
                          keep_envelopes=True)


def _judged_ledger(repo: GitRepo, ref: str, history: History, tags: list[TagRecord],
                   tree: HistoryTree, trusted_keys: Path | None,
                   keep_envelopes: bool) -> Ledger:
    trusted = trusted_keys_for(tree, history, tags, trusted_keys)
    # the records' files only once the keys are known: an unsigned payload is never parsed
    judged = judge_all(tags, trusted, history)
    tree.prepare(_plan_records(history, judged))
    if not keep_envelopes:
        tags = [item.tag for item in judged]
    return Ledger(repo, ref, history, tags, tree, trusted, judged)


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


def _plan_records(history: History, judged: Sequence[JudgedTag]) -> dict[str, set[str]]:
    """The files the valid records name (and their merges changed), in one more batch. Only a
    record a trusted key signed plans reads (anyone can push a tag naming 16 MB of paths);
    what an invalid record names is never compared with the tree."""
    wanted: dict[str, set[str]] = {}
    for item in judged:
        record = item.record
        if not item.valid or record is None:
            continue
        merged = history.commit(record.merge_commit)
        if merged is None:
            continue
        paths = {artifact.path for artifact in record.artifacts}
        if isinstance(record, GovernanceRecord):
            paths.update(changed.path for changed in record.changed)
        else:
            paths.add(record.change_request_path)
        changed = {p for c in merged.changes for p in (c.path, c.old_path) if p}
        wanted.setdefault(merged.sha, set()).update(paths | changed)
        if merged.first_parent and history.index(merged.first_parent) is not None:
            wanted.setdefault(merged.first_parent, set()).update(
                changed | {".promotion/roster.yaml"}
            )
    return wanted


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
        judged=ledger.judged,
    )
