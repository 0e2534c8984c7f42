"""`promotion-bot approvals`: why a pull request is (not yet) approved, offline from a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import click

from promotion_bot.cli.options import (
    base_option,
    emit,
    governed_root,
    output_option,
    repo_option,
)
from promotion_bot.core.approvals import Status
from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.approvals import evaluate_snapshot
from promotion_bot.render.decision import decision_to_json, render

EXIT_CODES = {
    Status.APPROVED: ExitCode.OK,
    Status.PENDING: ExitCode.REJECTED,
    Status.BLOCKED: ExitCode.REJECTED,
    Status.ERROR: ExitCode.USAGE,
}


@click.command("approvals", short_help="Who must still approve a pull request, and why.")
@repo_option()
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pull request snapshot (JSON, schemas/pr-snapshot.schema.json): reviews, "
    "author, head/base SHAs, changed files and owner-team members.",
)
@base_option(
    None,
    "The base commit: policy and CODEOWNERS are read here. Default: the snapshot's base SHA.",
)
@click.option(
    "--head",
    metavar="REV",
    default=None,
    help="The head commit: change requests and configs are read here, and approvals must "
    "name it. Default: the snapshot's head SHA.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for machines, markdown for the PR comment / job summary.",
)
@output_option("Write the decision to this file instead of standard output.")
def approvals(
    repo: Path | None,
    snapshot_path: Path,
    base: str | None,
    head: str | None,
    output_format: str,
    output: Path | None,
) -> int:
    """Evaluate a pull request's approvals: required roles and who fills them.

    \b
    Required roles: each change request's type, every governed path the diff
    touches, and the policy's conditions (e.g. a watched config key changed).
    Policy and CODEOWNERS come from --base, never from the pull request.
    A review counts if it is the reviewer's latest APPROVED on the head commit,
    from a member of the role's owners, not the author, not a bot; one person
    fills one role. CHANGES_REQUESTED from a member of a required role blocks.

    \b
    Example:
      promotion-bot approvals --base main --head HEAD --snapshot pr.json -o decision.md \\
        --format markdown

    \b
    Exit codes: 0 approved, 1 pending or blocked,
                2 error (bad snapshot, policy or CODEOWNERS; the output says where).
    """
    decision = evaluate_snapshot(governed_root(repo), snapshot_path, base, head)
    if output_format == "json":
        text = json.dumps(decision_to_json(decision), indent=2, default=str) + "\n"
    else:
        text = render(decision, output_format)
    emit(text, output)
    if output is not None:
        click.echo(f"wrote {output} ({decision.status.value}: {decision.summary})")
    return int(EXIT_CODES[decision.status])
