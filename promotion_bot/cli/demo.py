"""`promotion-bot demo [DIR] [--keep]`: the whole promotion lifecycle, offline, on the example."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.demo import STEPS, run_demo

WIDTH = 100


class _Printer:
    """The demo's lines on the terminal, as they happen."""

    def heading(self, text: str) -> None:
        click.echo(f"\n== {text}")

    def note(self, text: str) -> None:
        click.echo(textwrap.fill(text, WIDTH, initial_indent="# ", subsequent_indent="# "))

    def command(self, text: str) -> None:
        click.echo(f"$ {text}")

    def output(self, text: str) -> None:
        click.echo(text)


@click.command("demo", short_help="Watch the whole promotion lifecycle on the bundled example.")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the repositories afterwards, to explore them (default: only the audit report "
    "stays).",
)
def demo(folder: Path | None, keep: bool) -> int:
    """Watch the whole promotion lifecycle on the bundled example, offline, in seconds.

    \b
    In FOLDER (default: a new temporary folder; else it must be new or empty): a bare git
    origin and clones, the example's history, then seven steps, each with the command a
    person runs and who runs it:
      1. engineer: new, validate, check        5. a second promotion; on-call: rollback
      2. approvers and the gate: approvals     6. auditor: audit, and the HTML report
      3. GitHub merges; CI: record             7. a rewritten record: audit and verify refuse
      4. deploy job: status, verify
    Every command is the real one; the pull request snapshots stand in for GitHub.

    \b
    Examples:
      promotion-bot demo
      promotion-bot demo /tmp/promotion-demo --keep

    Exit codes: 0 every step gave the expected answer; 1 a step did not (the demo stops
    there, says why and keeps FOLDER); 2 FOLDER is not new or empty.
    """
    result = run_demo(folder, _Printer(), keep=keep)
    if result.failure is not None:
        click.echo(f"\ndemo: {result.failure}", err=True)
        click.echo(f"demo: everything is kept in {result.folder} (work is the clone the "
                   "commands ran in)", err=True)
        return int(ExitCode.REJECTED)
    click.echo(f"\ndemo: all {STEPS} steps gave the expected answers ({result.seconds:.1f} s)")
    if result.kept:
        click.echo(f"the repositories are in {result.folder}: origin.git, work (the clone of "
                   "erin, GitHub, CI and oscar), auditor, mallory")
    else:
        click.echo("the repositories are removed (--keep keeps them)")
    assert result.report is not None
    click.echo(f"open the audit report in a browser: {result.report.as_uri()}")
    return int(ExitCode.OK)
