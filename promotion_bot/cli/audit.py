"""`promotion-bot audit`: every promotion and rollback on main, verified from git alone.

Reads main's first-parent history (one `git log`), the promotion tags (one `git for-each-ref`
plus one `git cat-file --batch`) and the files it needs (one more `cat-file --batch`), then
judges them with promotion_bot.core.audit. The shared loading is used by `status` and `verify`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import click

from promotion_bot.adapters.ledger import GitRepo, HistoryTree, read_history, read_tags
from promotion_bot.cli.options import governed_root, repo_option
from promotion_bot.core.audit import AuditReport, Reevaluate, audit, filter_report
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.dsse import EnvelopeError, parse_envelope
from promotion_bot.core.errors import ConfigError, ExitCode, PromotionBotError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.git_facts import Change, TagRecord
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.keys import TrustedKey, load_trusted_keys_file, trusted_from_policy
from promotion_bot.core.merge_decision import MergedAsHead, MergeQuestion, decide
from promotion_bot.core.models import Policy
from promotion_bot.core.records import PromotionRecord, RecordedDecision
from promotion_bot.core.snapshot import parse_snapshot
from promotion_bot.render.audit import RENDERERS


@dataclass
class Ledger:
    repo: GitRepo
    ref: str
    history: History
    tags: list[TagRecord]
    tree: HistoryTree
    trusted: list[TrustedKey]


def load_ledger(root: Path, ref: str, trusted_keys: Path | None) -> Ledger:
    repo = GitRepo.at(root)
    history = read_history(repo, ref)
    tags = read_tags(repo)
    tree = HistoryTree(repo, history)
    tree.prepare(_plan(history, tags))
    trusted = trusted_keys_for(tree, history, trusted_keys)
    return Ledger(repo, ref, history, tags, tree, trusted)


def trusted_keys_for(tree: HistoryTree, history: History, extra: Path | None) -> list[TrustedKey]:
    """The keys in the policy at the tip of main, plus --trusted-keys."""
    trusted: list[TrustedKey] = []
    tip = history.tip
    if tip is not None:
        blob = tree.blob_id(tip.sha, POLICY_PATH)
        raw = tree.content(blob) if blob else None
        if raw is not None:
            loaded = load_policy(raw, POLICY_PATH)
            if loaded.value is None:
                raise ConfigError(
                    f"the policy at {tip.sha[:12]} cannot be read, so its trusted keys are "
                    f"unknown; run: promotion-bot validate {POLICY_PATH}",
                    loaded.problems,
                )
            trusted.extend(trusted_from_policy(loaded.value.signing_keys, "policy on main"))
    if extra is not None:
        trusted.extend(load_trusted_keys_file(extra))
    if not trusted:
        raise ConfigError(
            "no trusted keys: the policy on main lists no signing.keys and no --trusted-keys "
            "file was given, so no record can be verified"
        )
    return trusted


def _plan(history: History, tags: list[TagRecord]) -> dict[str, set[str]]:
    """Which files the audit will read, so that one `cat-file --batch` fetches them all."""
    wanted: dict[str, set[str]] = {}
    for commit in history.commits:
        wanted[commit.sha] = {POLICY_PATH, *CODEOWNERS_LOCATIONS, *commit.added("change-requests")}
    for tag in tags:
        peeked = _peek(tag)
        if peeked is None:
            continue
        merge_commit, paths = peeked
        merged = history.commit(merge_commit)
        if merged is None:
            continue
        changed = {p for c in merged.changes for p in (c.path, c.old_path) if p}
        wanted.setdefault(merged.sha, set()).update(paths | changed)
        if merged.first_parent and merged.first_parent in wanted:
            wanted[merged.first_parent].update(changed | {".promotion/roster.yaml"})
    return wanted


def _peek(tag: TagRecord) -> tuple[str, set[str]] | None:
    """The merge commit and the files a record names, read without judging it (planning
    only: judge_tag parses and verifies it properly)."""
    try:
        data = json.loads(parse_envelope(tag.message.strip()).payload)
        predicate = data["predicate"]
        paths = {str(item["name"]) for item in data["subject"]}
        paths.add(str(predicate["change_request"]["path"]))
        return str(predicate["merge"]["commit"]), paths
    except (EnvelopeError, ValueError, KeyError, TypeError):
        return None


def reevaluator(tree: HistoryTree) -> Reevaluate:
    """Re-run the decision at merge from a record's embedded snapshot and evidence, with the
    policy, CODEOWNERS and roster of the merge's first parent."""

    def run(
        record: PromotionRecord, commit: HistoryCommit, policy: Policy | None
    ) -> RecordedDecision:
        snapshot = None
        if record.snapshot is not None:
            try:
                snapshot = parse_snapshot(dict(record.snapshot), f"{record.change_id} snapshot")
            except PromotionBotError as error:
                return RecordedDecision(
                    False, (), (), (f"the embedded snapshot cannot be read: {error.message}",), ""
                )
        base = commit.first_parent or ""
        question = MergeQuestion(
            base=base,
            merge=commit.sha,
            snapshot=snapshot,
            evidence=record.evidence,
            change_requests=(record.change_request,),
            policy=policy,
            tree_differences=(),  # compared by the recorder; its violations are in the record
        )
        changes = [Change(c.status, c.path, c.old_path) for c in commit.changes]
        head = snapshot.head_sha if snapshot else commit.sha
        return decide(question, MergedAsHead(tree, head, commit.sha, changes))

    return run


def run_audit(ledger: Ledger, *, reevaluate: bool = True) -> AuditReport:
    return audit(
        ledger.ref,
        ledger.history,
        ledger.tags,
        ledger.trusted,
        ledger.tree,
        reevaluator(ledger.tree) if reevaluate else None,
    )


def parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since {value!r}: not a date; write 2026-03-01 or 2026-03-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@click.command("audit")
@repo_option()
@click.option("--ref", default="HEAD", show_default=True, help="Main: the history to audit.")
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys (YAML `keys:` list), supplied out of band.",
)
@click.option("--since", default=None, help="Only merges from this date on (2026-03-01).")
@click.option("--target", default=None, help="Only this target (e.g. routing-rules).")
@click.option("--change-id", default=None, help="Only this change request.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="text",
    show_default=True,
    help="text (terminal table), markdown, json, csv (one row per promotion) or html "
    "(a self-contained report).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this file instead of standard output.",
)
def audit_command(
    repo: Path | None,
    ref: str,
    trusted_keys: Path | None,
    since: str | None,
    target: str | None,
    change_id: str | None,
    output_format: str,
    output: Path | None,
) -> int:
    """Verify every promotion and rollback on main from git alone.

    \b
    Walks main's first-parent history and the promotion/<change_id> tags: every merge that
    adds a change request must have exactly one valid record (signed by a key the policy on
    main trusts, valid at the merge time), the recorded hashes must match the tree, the
    approvals re-evaluated from the embedded snapshot with the policy at the base must
    satisfy the policy, the chain of records per target must hold, and rollbacks must name
    an earlier promotion. Finding codes: docs/records.md.

    Exit codes: 0 no findings, 1 findings, 2 usage or configuration error.
    """
    root = governed_root(repo)
    ledger = load_ledger(root, ref, trusted_keys)
    report = filter_report(run_audit(ledger), parse_since(since), target, change_id)
    text = RENDERERS[output_format](report)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        click.echo(
            f"wrote {output} ({len(report.entries)} promotions, {len(report.findings)} findings)"
        )
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return int(ExitCode.REJECTED if report.findings else ExitCode.OK)
