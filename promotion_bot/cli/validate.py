"""`promotion-bot validate`: change requests and the policy, checked as the gate will."""

from __future__ import annotations

from pathlib import Path

import click

from promotion_bot.adapters.working_tree import ValidationReport
from promotion_bot.cli.options import echo_json, format_option, governed_root, repo_option
from promotion_bot.core.errors import ConfigError, ExitCode, Problem
from promotion_bot.flows.validate import validate_paths


@click.command(short_help="Validate change requests and the policy, with file:line errors.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@repo_option()
@format_option()
def validate(paths: tuple[Path, ...], repo: Path | None, output_format: str) -> int:
    """Validate change requests and the policy.

    With no PATHS: the policy (.promotion/policy.yaml) and every change request in the
    repository. PATHS may name change request files, the policy, or folders.

    \b
    Checks: strict YAML (no duplicate keys, aliases, tabs; versions quoted), the schemas in
    schemas/, change_id equal to the file name and unique, artifact paths (relative, inside
    the repository, tracked by git, no symbolic links, no case-only collisions), SHA-256 of
    every artifact against the working tree, artifacts under their change type's governed
    paths, and the policy's cross references (roles, checks, signing keys).

    \b
    Examples:
      promotion-bot validate
      promotion-bot validate change-requests/CR-2026-0005.yaml .promotion/policy.yaml

    \b
    Exit codes: 0 valid, 1 rejected (problems listed as file:line:column), 2 usage or
    configuration error.
    """
    report = validate_paths(governed_root(repo), paths)
    if output_format == "json":
        echo_json(report.as_dict())
    else:
        _render_text(report)
    if report.config_error:
        raise ConfigError(report.config_error)
    return int(ExitCode.REJECTED if report.problems else ExitCode.OK)


def _render_text(report: ValidationReport) -> None:
    for problem in report.problems:
        click.echo(problem.render())
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.problems:
        files = len({problem.file for problem in report.problems})
        click.echo(f"rejected: {_count(report.problems)} in {files} file(s)")
    elif not report.config_error:
        click.echo(f"valid: {report.summary()}")


def _count(problems: list[Problem]) -> str:
    return f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
