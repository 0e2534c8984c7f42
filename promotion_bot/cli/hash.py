"""`promotion-bot hash`: SHA-256 of artifacts, ready to paste into a change request."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import echo_json, format_option
from promotion_bot.core.digests import sha256_file
from promotion_bot.core.errors import ConfigError


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option("text", "yaml", "json")
def hash_command(paths: tuple[Path, ...], output_format: str) -> int:
    """Print the SHA-256 of each file (folders: every file below them, sorted).

    \b
    text: like sha256sum ("<digest>  <path>")
    yaml: an `artifacts:` list to paste into a change request
    json: [{"path": ..., "sha256": ...}]

    The digest is streamed, so large files cost constant memory.
    """
    entries = [(path.as_posix(), sha256_file(path)) for path in _files(paths)]
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


def _files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return files
