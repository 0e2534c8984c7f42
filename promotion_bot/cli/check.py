"""`promotion-bot check`: the branch's change requests, declared = changed, required checks,
and one evidence document (promotion_bot.flows.check does the work)."""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import click

from promotion_bot.cli.options import (
    RenamedOptions,
    base_option,
    echo_json,
    format_option,
    governed_root,
    output_option,
    repo_option,
)
from promotion_bot.core.errors import ExitCode

DEFAULT_JOBS = min(4, os.cpu_count() or 1)


@click.command(
    cls=RenamedOptions,
    renamed={"--evidence": "--output"},
    short_help="Run the checks the change requests of this branch require.",
)
@repo_option()
@base_option(
    None,
    "The branch the pull request merges into (default: origin/main if it exists, else "
    "main). Policy and promoted versions are read from it.",
)
@click.option("--head", default="HEAD", show_default=True, help="The commit to check.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=DEFAULT_JOBS,
    show_default=True,
    help="How many checks run at the same time.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where check outputs (one .log per check) go (default: a new temporary folder).",
)
@output_option("Where the evidence JSON goes (default: evidence.json in --output-dir).")
@format_option()
def check(
    repo: Path | None,
    base: str | None,
    head: str,
    jobs: int,
    output_dir: Path | None,
    output: Path | None,
    output_format: str,
) -> int:
    """Check the change requests this branch adds and run the checks they require.

    \b
    1. change requests: the CR files added between the merge base of --base and --head;
       a merged change request is immutable (modifying or deleting one is rejected)
    2. declared = changed: every changed file under a governed path is an artifact of one
       of the change requests, with the sha256 of the head's content
    3. not stale: current_version is the version promoted on --base now
    4. every check the base's policy requires for their change types: commands from the
       repository root of a work tree of the head (clean environment, timeout), and the
       built-ins; --jobs of them at a time
    5. one evidence document (schemas/evidence.schema.json); a Markdown summary is
       appended to $GITHUB_STEP_SUMMARY when it is set

    \b
    Example:
      promotion-bot check --base main -o evidence.json

    \b
    Exit codes: 0 every required check passed, 1 a check or a declaration failed,
    2 usage or configuration error (also: nothing committed yet).
    """
    with _cyclic_collector_paused():
        # imported here: `check --help` (and a usage error) needs none of the flow
        from promotion_bot.adapters.check_runner import Progress
        from promotion_bot.flows.check import CheckRequest, run_check

        request = CheckRequest(
            governed_root(repo), base, head, jobs, output_dir, output, dict(os.environ)
        )
        outcome = run_check(request, Progress(lambda line: click.echo(line, err=True)))
        if output_format == "json":
            echo_json(outcome.evidence)
        else:
            from promotion_bot.render.evidence import render_text  # (the flow's, by now)

            click.echo(render_text(outcome.evidence, str(outcome.evidence_path)), nl=False)
        return int(ExitCode.OK if outcome.passed else ExitCode.REJECTED)


@contextlib.contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """A check makes almost no cyclic garbage, while the modules it imports are some hundred
    thousand objects that live until the process ends: the cyclic collector walked them at
    each of its passes during the run, at its first pass after it (all of them were young),
    and at its last passes when the process exits (about 30 ms of a command that should take
    no longer than its slowest check). It is paused during the command; what the command made
    then joins the oldest generation unwalked, and at exit everything is frozen (left out of
    the last passes). Reference counting frees memory as always."""
    enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    atexit.unregister(gc.freeze)  # registered once, however many commands a process runs
    atexit.register(gc.freeze)
    try:
        yield
    finally:
        if not frozen_before:  # (a caller's own frozen objects stay frozen)
            gc.freeze()
            gc.unfreeze()  # every tracked object, into the oldest generation
        if enabled:
            gc.enable()
