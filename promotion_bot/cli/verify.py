"""`promotion-bot verify --commit SHA`: the deployment gate. Fail closed.

Exit 0 only when every file under the policy's governed change-type paths at SHA is covered by
a valid record: the newest valid, approved record on SHA's first-parent history that lists the
file has the same sha256 as the file's bytes at SHA. Any error exits non-zero.
"""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.adapters import git
from promotion_bot.adapters.ledger import read_blobs
from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.core.audit import change_type_paths, coverage, judge_all
from promotion_bot.core.digests import sha256_bytes
from promotion_bot.core.errors import ConfigError, ExitCode, RejectedError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.globs import match_any
from promotion_bot.flows.ledger_view import Ledger, load_ledger


@click.command()
@repo_option()
@click.option("--commit", "commit", required=True, help="The commit to deploy (a SHA or ref).")
@click.option(
    "--main",
    "main_ref",
    default=None,
    help="The trusted branch (default: origin/main, else main). COMMIT must be on its "
    "first-parent history; the trusted keys and what is governed come from its tip.",
)
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Trusted public keys supplied out of band (in addition to the policy's).",
)
@format_option()
def verify(
    repo: Path | None,
    commit: str,
    main_ref: str | None,
    trusted_keys: Path | None,
    output_format: str,
) -> int:
    """Deployment gate: is every governed artifact at COMMIT covered by a valid record?

    \b
    Exit codes: 0 every governed file is covered; 1 a file is not covered (no record, its
    bytes differ from the record, or its record is a policy violation), or COMMIT is not on
    --main; 2 the repository, policy or keys cannot be read.
    """
    root = governed_root(repo)
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
    patterns = [*_governed(main_ledger, main_sha), *_governed(ledger, sha)]
    prefix = ledger.repo.prefix
    files = {
        path.removeprefix(prefix): entry
        for path, entry in git.tree_files(root, sha, ["."] if prefix else []).items()
        if path.startswith(prefix) and match_any(patterns, path.removeprefix(prefix))
    }
    contents = read_blobs(ledger.repo, [entry.blob for entry in files.values()])
    digests: dict[str, str | None] = {
        path: sha256_bytes(contents[entry.blob]) if entry.blob in contents else None
        for path, entry in files.items()
    }
    judged = judge_all(ledger.tags, main_ledger.trusted, ledger.history)
    uncovered = coverage(digests, judged, ledger.history)
    if output_format == "json":
        echo_json(
            {
                "commit": sha,
                "ok": not uncovered,
                "governed_files": len(digests),
                "uncovered": [{"path": u.path, "reason": u.reason} for u in uncovered],
            }
        )
    else:
        for item in uncovered:
            click.echo(f"NOT COVERED {item.path}: {item.reason}")
        if uncovered:
            click.echo(
                f"refused: {len(uncovered)} of {len(digests)} governed file(s) at {sha[:12]} "
                "are not covered by a valid promotion record"
            )
        else:
            click.echo(
                f"ok: all {len(digests)} governed file(s) at {sha[:12]} are covered by valid "
                "promotion records"
            )
    return int(ExitCode.REJECTED if uncovered else ExitCode.OK)


def _default_main(root: Path) -> str:
    for candidate in ("origin/main", "main"):
        if git.run_git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}",
                       ok_codes=(0, 1)).returncode == 0:
            return candidate
    raise ConfigError("no origin/main or main here: pass --main BRANCH, the branch production "
                      "deploys from")


def _governed(ledger: Ledger, commit: str) -> list[str]:
    """The governed change-type paths of the policy at `commit` (main's tip, and the commit
    itself: their union can only make verify stricter)."""
    raw = ledger.tree.content(ledger.tree.blob_id(commit, POLICY_PATH) or "")
    if raw is None:
        raise ConfigError(f"no {POLICY_PATH} at {commit[:12]}: nothing says what is governed")
    loaded = load_policy(raw, POLICY_PATH)
    if loaded.value is None:
        raise ConfigError(f"the policy at {commit[:12]} cannot be read", loaded.problems)
    return list(change_type_paths(loaded.value))
