"""`promotion-bot baseline`: the versions live at adoption, proposed and checked."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.core.errors import ExitCode
from promotion_bot.core.governance import BASELINE_PATH
from promotion_bot.flows.baseline import check_baseline, propose_baseline


@click.command(short_help="Check the adoption baseline (.promotion/baseline.yaml).")
@repo_option()
@click.option("--propose", is_flag=True,
              help=f"Print a skeleton {BASELINE_PATH}: one target per change type with the "
              "tracked files under its paths; you set each version.")
@format_option()
def baseline(repo: Path | None, propose: bool, output_format: str) -> int:
    """Check the adoption baseline (.promotion/baseline.yaml) before its pull request.

    \b
    The baseline states the version of each target that is live when the repository adopts
    promotion-bot, and the files that make it up. Merged to main (approved by the roles of
    the policy's governance section), `record` signs it as the baseline record, which
    verify, status, audit, check and new take as the starting point: the first change
    request of a target declares the baselined version as its current_version.

    \b
    Examples:
      promotion-bot baseline --propose > .promotion/baseline.yaml
      promotion-bot baseline

    \b
    Exit codes: 0 the baseline is valid and lists every governed file, 1 it does not
    (each problem is listed with what to do), 2 usage or configuration error.
    """
    root = governed_root(repo)
    if propose:
        click.echo(propose_baseline(root), nl=False)
        return 0
    result = check_baseline(root)
    if output_format == "json":
        echo_json(
            {
                "ok": result.ok,
                "targets": [t.as_data() for t in result.targets],
                "problems": [p.render() for p in result.problems],
                "missing": result.missing,
                "uncovered": result.uncovered,
            }
        )
        return int(ExitCode.OK if result.ok else ExitCode.REJECTED)
    for problem in result.problems:
        click.echo(problem.render())
    for target in result.targets:
        click.echo(f"{target.target:20} {target.change_type:10} {target.version}")
        for artifact in target.artifacts:
            click.echo(f"    {artifact.sha256[:12]}  {artifact.path}")
    for path in result.missing:
        click.echo(f"{BASELINE_PATH}: {path} is not in the working tree (remove it or add it)")
    for path in result.uncovered:
        click.echo(
            f"{BASELINE_PATH}: {path} is governed but in no target: add it to the target it "
            "belongs to, or verify will refuse it until a promotion covers it"
        )
    if result.ok:
        click.echo(f"ok: {len(result.targets)} target(s); merge it with the adoption, and "
                   "record signs the baseline")
        return int(ExitCode.OK)
    click.echo("rejected: the baseline is not complete")
    return int(ExitCode.REJECTED)
