"""`promotion-bot status`: which version of each target main promotes now, and its record."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.core.audit import current_status
from promotion_bot.flows.ledger_view import load_ledger, run_audit


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
    root = governed_root(repo)
    report = run_audit(load_ledger(root, ref, trusted_keys), reevaluate=False)
    targets = current_status(report)
    if output_format == "json":
        echo_json({"ref": ref, "head": report.head, "targets": [t.as_data() for t in targets]})
        return 0
    if not targets:
        click.echo(f"nothing promoted on {ref} yet")
        return 0
    rows = [["TARGET", "TYPE", "VERSION", "CHANGE", "COMMIT", "MERGED", "RECORD"]]
    for item in targets:
        record = item.state
        if item.state != "recorded" and item.recorded_version:
            record += f" (last recorded: {item.recorded_version})"
        rows.append(
            [
                item.target,
                item.change_type,
                item.version,
                item.change_id,
                item.commit[:12],
                item.merged_at.strftime("%Y-%m-%d"),
                record,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0
