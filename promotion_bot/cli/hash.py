"""`promotion-bot hash`: SHA-256 of artifacts, ready to paste into a change request."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import echo_json, format_option
from promotion_bot.flows.hash import hash_paths


@click.command("hash", short_help="Print the SHA-256 of files, for a change request.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option("text", "yaml", "json")
def hash_command(paths: tuple[Path, ...], output_format: str) -> int:
    """Print the SHA-256 of each file (folders: every file below them, sorted).

    \b
    text: like sha256sum ("<digest>  <path>")
    yaml: an `artifacts:` list to paste into a change request
    json: [{"path": ..., "sha256": ...}]

    The digest is streamed, so large files cost constant memory.

    \b
    Example:
      promotion-bot hash --format yaml configs/routing_tables/routing_rules_v1.4.2.json

    \b
    Exit codes: 0 hashed, 2 a path does not exist or cannot be read.
    """
    entries = hash_paths(paths)
    if output_format == "json":
        echo_json([{"path": path, "sha256": digest} for path, digest in entries])
    elif output_format == "yaml":
        click.echo("artifacts:")
        for path, digest in entries:
            click.echo(f"  - path: {path}\n    sha256: {digest}")
    else:
        for path, digest in entries:
            click.echo(f"{digest}  {path}")
    return 0
