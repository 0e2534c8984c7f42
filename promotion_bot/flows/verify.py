"""The deployment gate: is every governed file at a commit covered by a valid record? Fail closed.

Covered means: every governed file (under the change types' paths, or listed by any valid
record) is exactly what the newest valid, approved record on the commit's first-parent history
promoted or removed, and no record the state rests on has an audit finding that makes it vouch
for nothing (the judgement is promotion_bot.core.deploy_gate). Which keys are trusted and what
is governed are trusted through main's history, never taken from the commit alone. For keys a
change type governs inside a file (`change_types.<type>.keys`), the governed keys must hold the
values of the newest record that lists the file (the rest of the file is free).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.adapters.ledger import read_blobs
from promotion_bot.core.audit import Uncovered, audit, judge_all, key_coverage
from promotion_bot.core.deploy_gate import judge_deployment, listed_paths, relied_on
from promotion_bot.core.digests import sha256_bytes
from promotion_bot.core.errors import ConfigError, RejectedError
from promotion_bot.core.formats.documents import POLICY_PATH
from promotion_bot.core.globs import match_any
from promotion_bot.core.governance import AnyRecord
from promotion_bot.core.governed_history import (
    change_type_key_watches,
    change_type_paths,
    governed_through_history,
)
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.models import ConfigKeyWatch, Policy
from promotion_bot.core.records import RecordedDecision
from promotion_bot.flows.ledger_view import (
    Ledger,
    ledger_at,
    load_ledger,
    policy_reader,
    reevaluator,
)


@dataclass(frozen=True)
class VerifyResult:
    commit: str
    governed_files: int
    uncovered: list[Uncovered]

    @property
    def ok(self) -> bool:
        return not self.uncovered


def verify_commit(
    root: Path, commit: str, main_ref: str | None, trusted_keys: Path | None
) -> VerifyResult:
    # git takes a tag named like the commit (origin/main, an abbreviated id) before it
    sha = git.rev_parse(root, git.unambiguous_name(root, commit))
    if main_ref:
        main_ledger = load_ledger(root, main_ref, trusted_keys)
    else:
        main_ref, main_sha = _default_main(root)
        main_ledger = load_ledger(root, main_ref, trusted_keys, commit=main_sha)
    # never trust the commit being deployed for what is governed or which keys sign: a branch
    # could narrow the governed paths or add its own key; main's tip says
    if main_ledger.history.index(sha) is None:
        raise RejectedError(
            f"{commit} ({sha[:12]}) is not on the first-parent history of {main_ref}: "
            "only what was merged to main can be deployed"
        )
    # the commit's own history is the beginning of main's: read once
    ledger = ledger_at(main_ledger, sha, trusted_keys)
    judged = judge_all(ledger.tags, main_ledger.trusted, ledger.history)
    patterns, watches = _governed(main_ledger, sha)
    listed = listed_paths(judged, ledger.history)
    prefix = ledger.repo.prefix
    tree = {
        path.removeprefix(prefix): entry
        for path, entry in git.tree_files(root, sha, ["."] if prefix else []).items()
        if path.startswith(prefix)
    }
    # governed whole: under the governed paths, or listed by a record (unless a change type
    # governs only keys inside it: then its keys are judged below)
    files = {
        path: entry
        for path, entry in tree.items()
        if match_any(patterns, path)
        or (path in listed and not any(match_any(w.files, path) for w in watches))
    }
    key_files = {
        path: tuple(dict.fromkeys(k for w in watches if match_any(w.files, path) for k in w.keys))
        for path in tree
        if path not in files and any(match_any(w.files, path) for w in watches)
    }
    wanted = [entry.blob for path, entry in tree.items() if path in files or path in key_files]
    contents = read_blobs(ledger.repo, wanted)
    digests: dict[str, str | None] = {
        path: sha256_bytes(contents[entry.blob]) if entry.blob in contents else None
        for path, entry in files.items()
    }
    # the audit of the commit's history: the findings that make a record vouch for nothing;
    # decisions are re-run only for the records the state may rest on (verify stays fast)
    relied = relied_on(judged, ledger.history)
    reevaluate = reevaluator(ledger.tree)

    def reevaluate_relied_on(
        record: AnyRecord, commit: HistoryCommit, policy: Policy | None
    ) -> RecordedDecision | None:
        return reevaluate(record, commit, policy) if record.digest in relied else None

    lineage = audit(
        sha, ledger.history, ledger.tags, main_ledger.trusted, ledger.tree, reevaluate_relied_on
    )
    uncovered = judge_deployment(
        digests, judged, ledger.history, lineage.findings, judged_by_keys=key_files
    )
    uncovered += key_coverage(
        {path: contents.get(tree[path].blob) for path in key_files},
        key_files,
        judged,
        ledger.history,
        ledger.tree,
    )
    uncovered.sort(key=lambda item: (item.path, item.reason))
    return VerifyResult(sha, len(digests) + len(key_files), uncovered)


def _default_main(root: Path) -> tuple[str, str]:
    """origin/main, else main, by their full names: a tag called origin/main is not main."""
    found = git.first_ref(root, ("refs/remotes/origin/main", "refs/heads/main"))
    if found is not None:
        return found[0].split("/", 2)[2], found[1]
    raise ConfigError("no origin/main or main here: pass --base BRANCH, the branch production "
                      "deploys from")


def _governed(main: Ledger, sha: str) -> tuple[list[str], list[ConfigKeyWatch]]:
    """The governed change-type patterns for deploying `sha`: those trusted through main's
    history (core/governed_history.py) at `sha` and at main's tip, and the raw patterns of
    both policies; their union can only make verify stricter. Also the keys both policies
    govern inside files (change_types.<type>.keys), trusted through history the same way."""
    policy_at = policy_reader(main.tree)
    patterns: list[str] = []
    watches: list[ConfigKeyWatch] = []
    for commit in (main.history.tip.sha if main.history.tip else sha, sha):
        policy = policy_at(commit)
        if policy is None:
            raise ConfigError(
                f"no readable {POLICY_PATH} at {commit[:12]}: nothing says what is governed; "
                f"run: promotion-bot validate {POLICY_PATH}"
            )
        patterns.extend(change_type_paths(policy))
        watches.extend(change_type_key_watches(policy))
    approved = {
        item.record.merge_commit
        for item in judge_all(main.tags, main.trusted, main.history)
        if item.valid and item.record is not None and not item.record.is_violation
    }
    position = main.history.index(sha)
    governed = governed_through_history(
        main.history, policy_at, approved, items=change_type_paths
    )
    patterns.extend([*governed.at(None), *governed.at(position)])
    governed_keys = governed_through_history(
        main.history, policy_at, approved, items=change_type_key_watches
    )
    watches.extend([*governed_keys.at(None), *governed_keys.at(position)])
    return list(dict.fromkeys(patterns)), watches
