"""`promotion-bot verify --commit SHA`: the deployment gate. Fail closed.

Exit 0 only when every file under the policy's governed change-type paths at SHA is covered by
a valid record (promotion_bot.flows.verify decides). Any error exits non-zero.
"""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import (
    RenamedOptions,
    base_option,
    echo_json,
    format_option,
    governed_root,
    repo_option,
)
from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.verify import verify_commit


@click.command(
    cls=RenamedOptions,
    renamed={"--main": "--base"},
    short_help="Deployment gate: is every governed file at a commit recorded?",
)
@repo_option()
@click.option("--commit", "commit", required=True, help="The commit to deploy (a SHA or ref).")
@base_option(
    None,
    "The trusted branch (default: origin/main, else main). COMMIT must be on its "
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
    base: str | None,
    trusted_keys: Path | None,
    output_format: str,
) -> int:
    """Deployment gate: is every governed artifact at COMMIT covered by a valid record?

    \b
    Example (in the deployment job, before anything is deployed):
      promotion-bot verify --commit "$DEPLOY_SHA" --base origin/main

    \b
    Exit codes: 0 every governed file is covered; 1 a file is not covered (no record, its
    bytes differ from the record, or its record is a policy violation), or COMMIT is not on
    --base; 2 the repository, policy or keys cannot be read.
    """
    result = verify_commit(governed_root(repo), commit, base, trusted_keys)
    sha, uncovered, count = result.commit, result.uncovered, result.governed_files
    if output_format == "json":
        echo_json(
            {
                "commit": sha,
                "ok": not uncovered,
                "governed_files": count,
                "uncovered": [{"path": u.path, "reason": u.reason} for u in uncovered],
            }
        )
    else:
        for item in uncovered:
            click.echo(f"NOT COVERED {item.path}: {item.reason}")
        if uncovered:
            click.echo(
                f"refused: {len(uncovered)} of {count} governed file(s) at {sha[:12]} "
                "are not covered by a valid promotion record"
            )
        else:
            click.echo(
                f"ok: all {count} governed file(s) at {sha[:12]} are covered by valid "
                "promotion records"
            )
    return int(ExitCode.REJECTED if uncovered else ExitCode.OK)
