"""`promotion-bot rollback CHANGE_ID`: a gated revert pull request restoring the last version
(promotion_bot.flows.rollback does the work)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from promotion_bot.cli.options import (
    base_option,
    echo_json,
    format_option,
    github_options,
    github_settings,
    governed_root,
    repo_option,
)
from promotion_bot.core.errors import ExitCode
from promotion_bot.core.rollback_plan import Refusal
from promotion_bot.flows.rollback import RollbackRequest, rollback
from promotion_bot.render.rollback import refusal_data, render_text


@click.command("rollback", short_help="Open a gated revert pull request for a promotion.")
@click.argument("change_id")
@click.option(
    "--to",
    "to",
    default=None,
    metavar="CHANGE_ID",
    help="Return to the version this earlier promotion of the same target made current, "
    "reverting every later promotion of the target (needed when later promotions built on "
    "CHANGE_ID).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Prepare the branch locally and print what would happen; no push, no GitHub.",
)
@click.option(
    "--no-push",
    is_flag=True,
    help="Create the branch locally only; push it and open the pull request yourself.",
)
@click.option("--remote", default="origin", show_default=True, help="Where the branch is pushed.")
@base_option(
    None,
    "Main: the branch the rollback merges into (default: origin/main if it exists, else main).",
)
@repo_option()
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys for reading the records (YAML `keys:` list).",
)
@github_options("The GitHub repository (default: GITHUB_REPOSITORY).")
@format_option()
def rollback_command(
    change_id: str,
    to: str | None,
    dry_run: bool,
    no_push: bool,
    remote: str,
    base: str | None,
    repo: Path | None,
    trusted_keys: Path | None,
    repository: str | None,
    api_url: str | None,
    timeout: int,
    retries: int,
    request_pace: float,
    output_format: str,
) -> int:
    """Open a gated revert pull request that restores the version promoted before CHANGE_ID.

    \b
    From this clone's ledger (main's history and the promotion records; nothing is fetched):
      1. find the merge that promoted CHANGE_ID and the version promoted before it
         (refused: unknown, never promoted, already rolled back, or later promotions of
         the same target would be undone silently: name them with --to)
      2. in a temporary work tree on the tip of --base: revert the merge, keep the merged
         change requests, add a rollback change request (rollback_of, the versions
         swapped, the sha256 of the restored files); a conflicting revert is refused with
         the conflicting files, and nothing is pushed
      3. branch rollback/CHANGE_ID; push it to --remote; open the pull request (an open
         one for the same rollback is found and reported, never duplicated)
    The pull request then goes through the same checks and gate as any promotion.

    \b
    Credentials (for the pull request) come from the environment, as for `gate`:
      GITHUB_TOKEN or PROMOTION_BOT_TOKEN, or PROMOTION_BOT_APP_ID + PROMOTION_BOT_APP_PRIVATE_KEY

    \b
    Examples:
      promotion-bot rollback CR-2026-0006 --dry-run
      promotion-bot rollback CR-2026-0006 --to CR-2026-0004

    \b
    Exit codes: 0 prepared (and opened, or found open); 1 refused; 2 usage or configuration
    error.
    """
    request = RollbackRequest(
        root=governed_root(repo),
        change_id=change_id,
        to=to,
        dry_run=dry_run,
        no_push=no_push,
        remote=remote,
        base=base,
        trusted_keys=trusted_keys,
        github=github_settings(repository, api_url, timeout, retries, request_pace),
        environ=dict(os.environ),
        today=dt.date.today(),
    )
    result = rollback(request)
    if isinstance(result, Refusal):
        if output_format == "json":
            echo_json(refusal_data(result))
        else:
            click.echo(result.render(), err=True)
        return int(ExitCode.REJECTED)
    if output_format == "json":
        echo_json(result.as_data())
    else:
        click.echo(render_text(result), nl=False)
    return int(ExitCode.OK)
