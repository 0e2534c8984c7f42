"""The deployment gate: is every governed file at a commit covered by a valid record? Fail closed.

Covered means: the newest valid, approved record on the commit's first-parent history that lists
the file has the same sha256 as the file's bytes at the commit; no file a record promoted was
deleted without an approved record; and no record the state rests on is a stale promotion
(the judgement is promotion_bot.core.deploy_gate). For keys a change type governs inside a
file (`change_types.<type>.keys`), the governed keys must hold the values of the newest record
that lists the file (the rest of the file is free). What is governed and which keys are
trusted come from main's tip (and what is governed also from the commit: their union can only
make verify stricter), never from the commit alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.adapters.ledger import read_blobs
from promotion_bot.core.audit import (
    Uncovered,
    audit,
    change_type_paths,
    judge_all,
    key_coverage,
)
from promotion_bot.core.deploy_gate import judge_deployment
from promotion_bot.core.digests import sha256_bytes
from promotion_bot.core.errors import ConfigError, RejectedError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import Policy
from promotion_bot.flows.ledger_view import Ledger, load_ledger


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
    sha = git.rev_parse(root, commit)
    main_ref = main_ref or _default_main(root)
    main_sha = git.rev_parse(root, main_ref)
    # never trust the commit being deployed for what is governed or which keys sign: a branch
    # could narrow the governed paths or add its own key; main's tip says
    main_ledger = load_ledger(root, main_sha, trusted_keys)
    if main_ledger.history.index(sha) is None:
        raise RejectedError(
            f"{commit} ({sha[:12]}) is not on the first-parent history of {main_ref}: "
            "only what was merged to main can be deployed"
        )
    ledger = load_ledger(root, sha, trusted_keys)
    policies = [_policy(main_ledger, main_sha), _policy(ledger, sha)]
    patterns = [p for policy in policies for p in change_type_paths(policy)]
    watches = [w for policy in policies for rule in policy.change_types.values() for w in rule.keys]
    prefix = ledger.repo.prefix
    tree = {
        path.removeprefix(prefix): entry
        for path, entry in git.tree_files(root, sha, ["."] if prefix else []).items()
        if path.startswith(prefix)
    }
    files = {path: entry for path, entry in tree.items() if match_any(patterns, path)}
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
    judged = judge_all(ledger.tags, main_ledger.trusted, ledger.history)
    lineage = audit(sha, ledger.history, ledger.tags, main_ledger.trusted, ledger.tree, None)
    uncovered = judge_deployment(
        digests, judged, ledger.history, lambda path: match_any(patterns, path), lineage.findings
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


def _default_main(root: Path) -> str:
    for candidate in ("origin/main", "main"):
        if git.run_git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}",
                       ok_codes=(0, 1)).returncode == 0:
            return candidate
    raise ConfigError("no origin/main or main here: pass --base BRANCH, the branch production "
                      "deploys from")


def _policy(ledger: Ledger, commit: str) -> Policy:
    """The policy at `commit` (main's tip, and the commit itself: the union of what they govern
    can only make verify stricter)."""
    raw = ledger.tree.content(ledger.tree.blob_id(commit, POLICY_PATH) or "")
    if raw is None:
        raise ConfigError(f"no {POLICY_PATH} at {commit[:12]}: nothing says what is governed")
    loaded = load_policy(raw, POLICY_PATH)
    if loaded.value is None:
        raise ConfigError(f"the policy at {commit[:12]} cannot be read", loaded.problems)
    return loaded.value
