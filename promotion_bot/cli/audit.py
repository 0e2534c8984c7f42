"""`promotion-bot audit`: every promotion and rollback on main, verified from git alone."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.adapters.clock import utc_now
from promotion_bot.cli.options import (
    RenamedOptions,
    base_option,
    emit,
    governed_root,
    output_option,
    repo_option,
)
from promotion_bot.cli.progress import progress_reporter
from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.audit import AuditRequest, audit_ledger
from promotion_bot.render.audit import RENDERERS, render_html


@click.command(
    "audit",
    cls=RenamedOptions,
    renamed={"--ref": "--base"},
    short_help="Verify every promotion and rollback on main, from git alone.",
)
@repo_option()
@base_option("HEAD", "Main: the history to audit.")
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys (YAML `keys:` list), supplied out of band.",
)
@click.option(
    "--checkpoint",
    default=None,
    metavar="RECORD_ID@SHA256",
    help="The last record the operational audit system holds (its event subject and id): a "
    "finding when main's history no longer reaches it.",
)
@click.option("--since", default=None, help="Only merges from this date on (2026-03-01).")
@click.option("--target", default=None, help="Only this target (e.g. routing-rules).")
@click.option("--change-id", default=None, help="Only this change request.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="text",
    show_default=True,
    help="text (terminal table), markdown, json, csv (one row per promotion) or html "
    "(a self-contained report).",
)
@output_option("Write the report to this file instead of standard output.")
def audit_command(
    repo: Path | None,
    base: str,
    trusted_keys: Path | None,
    checkpoint: str | None,
    since: str | None,
    target: str | None,
    change_id: str | None,
    output_format: str,
    output: Path | None,
) -> int:
    """Verify every promotion and rollback on main from git alone.

    \b
    Walks main's first-parent history and the promotion/<change_id> tags: every merge that
    adds a change request must have exactly one valid record (signed by a key the policy on
    main trusts, valid at the merge time), the recorded hashes must match the tree, the
    approvals re-evaluated from the embedded snapshot with the policy at the base must
    satisfy the policy, the chain of records per target must hold, and rollbacks must name
    an earlier promotion. Finding codes: docs/records.md.

    \b
    Examples:
      promotion-bot audit
      promotion-bot audit --base origin/main --format html -o audit.html

    \b
    Exit codes: 0 no findings, 1 findings, 2 usage or configuration error.
    """
    request = AuditRequest(governed_root(repo), base, trusted_keys, since, target, change_id,
                           checkpoint, progress_reporter("audit"))
    report = audit_ledger(request)
    text = (
        render_html(report, generated_at=utc_now())
        if output_format == "html"
        else RENDERERS[output_format](report)
    )
    if output is not None:
        emit(text, output)
        click.echo(
            f"wrote {output} ({len(report.entries)} promotions, {len(report.findings)} findings)"
        )
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return int(ExitCode.REJECTED if report.findings else ExitCode.OK)
