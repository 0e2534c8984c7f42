"""`promotion-bot status`: which version of each target main promotes now, and its record."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.flows.status import promoted_status
from promotion_bot.render.status import render_text


@click.command()
@repo_option()
@click.option("--ref", default="HEAD", show_default=True, help="Main: the history to read.")
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys (YAML `keys:` list).",
)
@format_option()
def status(repo: Path | None, ref: str, trusted_keys: Path | None, output_format: str) -> int:
    """Show the version of each target promoted on main, and what records it.

    \b
    Per target: the version of the last change request merged, its change_id and merge
    commit, and the record's state: recorded (a valid, approved record), violation (recorded
    as merged against the policy), unrecorded (no record yet: run record, or audit), or
    invalid (its tag does not verify). Reads git only; exit 0 (2 on configuration errors).
    """
    result = promoted_status(governed_root(repo), ref, trusted_keys)
    if output_format == "json":
        echo_json(
            {"ref": ref, "head": result.head, "targets": [t.as_data() for t in result.targets]}
        )
    else:
        click.echo(render_text(ref, result.targets), nl=False)
    return 0
