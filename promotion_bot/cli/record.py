"""`promotion-bot record`: sign a promotion record for every unrecorded merge on main
(promotion_bot.flows.record does the work)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promotion_bot.cli.options import (
    RenamedOptions,
    base_option,
    echo_json,
    format_option,
    github_options,
    github_settings,
    governed_root,
    repo_option,
)
from promotion_bot.cli.progress import progress_reporter
from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.record import CHECKS_WORKFLOW, RecordOutcome, RecordRequest, record


@click.command(
    "record",
    cls=RenamedOptions,
    renamed={"--ref": "--base"},
    short_help="Sign a promotion record for every unrecorded merge on main.",
)
@repo_option()
@base_option("HEAD", "Main: the branch whose merges are recorded.")
@click.option(
    "--snapshot",
    "snapshots",
    multiple=True,
    type=click.Path(path_type=Path),
    help="PR snapshot file or folder of them (offline source); repeatable.",
)
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Evidence file from `promotion-bot check`, or a folder of them; repeatable.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Private key PEM (default: $PROMOTION_BOT_SIGNING_KEY).",
)
@click.option("--push", "remote", default=None, help="Push the new tags to this remote.")
@click.option("--checks-workflow", default=CHECKS_WORKFLOW, show_default=True, metavar="PATH",
              help="The workflow file whose pull_request runs upload the evidence; an artifact "
                   "from any other workflow is not evidence.")
@github_options("The GitHub repository (default: GITHUB_REPOSITORY).")
@click.option("--dry-run", is_flag=True, help="Decide and sign, but write no tag.")
@format_option()
def record_command(
    repo: Path | None,
    base: str,
    snapshots: tuple[Path, ...],
    evidence: tuple[Path, ...],
    key_file: Path | None,
    remote: str | None,
    checks_workflow: str,
    repository: str | None,
    api_url: str | None,
    timeout: int,
    retries: int,
    request_pace: float,
    dry_run: bool,
    output_format: str,
) -> int:
    """Record every merge on main since the last recorded one (signed tags).

    \b
    For each change request a merge adds: re-evaluate the approvals with the policy and
    CODEOWNERS of the merge's first parent and the PR snapshot, check that the merged tree
    equals the approved head on governed paths and that the evidence of the required checks
    passed on that head, then sign (DSSE, Ed25519) and tag promotion/<change_id>.

    \b
    The pull request facts come from GitHub (the pull request merged as each commit, and the
    promotion-evidence artifact of its checks run), or from --snapshot/--evidence files.
    With neither, record refuses: a merge without facts would be signed as a violation.

    \b
    Examples:
      promotion-bot record --push origin        (in CI, on push to main)
      promotion-bot record --snapshot snapshots/ --evidence evidence/ --key-file key.pem

    \b
    Exit codes: 0 recorded (or nothing to record), 1 a merge violated the policy (it is
    recorded as a violation), 2 usage or configuration error (nothing half-written: an
    existing different tag is never replaced).
    """
    github = github_settings(repository, api_url, timeout, retries, request_pace)
    request = RecordRequest(governed_root(repo), base, snapshots, evidence, key_file, remote,
                            github, dry_run, dict(os.environ), progress_reporter("record"),
                            checks_workflow)
    outcomes = record(request)
    if output_format == "json":
        echo_json({"records": [o.as_data() for o in outcomes]})
    else:
        _render(outcomes)
    return int(ExitCode.REJECTED if any(not o.approved for o in outcomes) else ExitCode.OK)


def _render(outcomes: list[RecordOutcome]) -> None:
    if not outcomes:
        click.echo("nothing to record: every merge on main is recorded")
        return
    for outcome in outcomes:
        click.echo(f"{outcome.written:9} {outcome.tag} on {outcome.commit[:12]}: {outcome.summary}")
        for line in outcome.violations:
            click.echo(f"          - {line}")
