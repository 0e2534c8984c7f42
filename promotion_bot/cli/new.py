"""`promotion-bot new`: scaffold a change request with the artifact hashes filled in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from promotion_bot.cli.options import governed_root, repo_option
from promotion_bot.core.models import CHANGE_TYPES
from promotion_bot.flows.new import NewRequest, new_change_request


@click.command(short_help="Write a change request for artifacts, hashes filled in.")
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--type",
    "change_type",
    type=click.Choice(CHANGE_TYPES),
    required=True,
    help="What kind of artifact moves.",
)
@click.option("--title", required=True, help="One line for people: what this promotion does.")
@click.option(
    "--proposed",
    "proposed_version",
    required=True,
    help="The version this promotion makes current, e.g. 1.4.2.",
)
@click.option(
    "--current",
    "current_version",
    default=None,
    help="The version promoted now (default: derived from the change requests merged "
    "on HEAD; none for a first promotion).",
)
@click.option(
    "--target",
    default=None,
    help="The governed item whose version moves (default: the change type).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME=IDENTIFIER",
    help="A pinned model (change type model); repeat for several.",
)
@click.option(
    "--rollback-plan",
    default=None,
    help="How to return to the current version (default: revert the PR).",
)
@click.option(
    "--id", "change_id", default=None, help="The change_id (default: the next free CR-<year>-NNNN)."
)
@click.option("--stdout", "to_stdout", is_flag=True, help="Print instead of writing the file.")
@repo_option()
def new(
    artifacts: tuple[Path, ...],
    change_type: str,
    title: str,
    proposed_version: str,
    current_version: str | None,
    target: str | None,
    models: tuple[str, ...],
    rollback_plan: str | None,
    change_id: str | None,
    to_stdout: bool,
    repo: Path | None,
) -> int:
    """Write a new change request for ARTIFACTS, with their SHA-256 computed.

    \b
    Example:
      promotion-bot new --type ruleset --target routing-rules \\
        --title "Route GDPR requests to the privacy queue" --proposed 1.4.2 \\
        configs/routing_tables/routing_rules_v1.4.2.json

    The file is written to change-requests/<change_id>.yaml and validated at once. An
    artifact that is not added to git yet is added. The change_id is the next number after
    the highest on any branch git knows (git fetch first to see your colleagues'). For a
    model change without --model, the pinned identifiers of its configurations are recorded.

    \b
    Exit codes: 0 written (or printed with --stdout), 1 the change request would not be
    valid (each problem names the option or file to fix), 2 usage or configuration error.
    """
    request = NewRequest(
        root=governed_root(repo),
        artifacts=artifacts,
        change_type=change_type,
        title=title,
        proposed_version=proposed_version,
        current_version=current_version,
        target=target,
        models=models,
        rollback_plan=rollback_plan,
        change_id=change_id,
        write=not to_stdout,
        cwd=Path.cwd(),
        today=dt.date.today(),
    )
    result = new_change_request(request)
    if to_stdout:
        click.echo(result.text, nl=False)
        return 0
    cr = result.change_request
    for path in result.staged:
        click.echo(f"staged {path} (it was not added to git yet)")
    if result.models_from:
        pins = ", ".join(f"{m.name}={m.identifier}" for m in cr.models)
        click.echo(f"models from {', '.join(result.models_from)}: {pins}")
    click.echo(
        f"wrote {result.path} ({cr.change_type} {cr.target}: "
        f"{cr.current_version or 'first promotion'} -> {cr.proposed_version})"
    )
    added = " ".join([result.path, *result.artifact_paths])
    click.echo(f"next: git add {added} && promotion-bot check")
    return 0
