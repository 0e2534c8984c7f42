"""`promotion-bot status`: which version of each target main promotes now, and its record."""

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
from promotion_bot.flows.status import promoted_status
from promotion_bot.render.status import render_text


@click.command(
    cls=RenamedOptions,
    renamed={"--ref": "--base"},
    short_help="The version of each target promoted on main, and its record.",
)
@repo_option()
@base_option("HEAD", "Main: the history to read.")
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys (YAML `keys:` list).",
)
@format_option()
def status(repo: Path | None, base: str, trusted_keys: Path | None, output_format: str) -> int:
    """Show the version of each target promoted on main, and what records it.

    \b
    Per target: the version of the last change request merged, its change_id and merge
    commit, and the record's state: recorded (a valid, approved record), violation (recorded
    as merged against the policy), unrecorded (no record yet: run record, or audit), or
    invalid (its tag does not verify). Reads git only.

    \b
    Example:
      promotion-bot status --base origin/main

    \b
    Exit codes: 0 shown, 2 usage or configuration error.
    """
    result = promoted_status(governed_root(repo), base, trusted_keys)
    if output_format == "json":
        echo_json(
            {"ref": base, "head": result.head, "targets": [t.as_data() for t in result.targets]}
        )
    else:
        click.echo(render_text(base, result.targets), nl=False)
    return 0
