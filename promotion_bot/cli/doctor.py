"""`promotion-bot doctor`: check the repository's GitHub configuration against the guide."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promotion_bot.adapters import git
from promotion_bot.adapters.distribution import github_repository
from promotion_bot.adapters.github import DEFAULT_API_URL, Connection, GitHubClient
from promotion_bot.cli.options import echo_json, format_option, repo_option
from promotion_bot.core.doctor import Expectations
from promotion_bot.core.errors import ConfigError, ExitCode, PromotionBotError
from promotion_bot.flows.doctor import run_doctor
from promotion_bot.render.doctor import as_data, render_text


@click.command("doctor", short_help="Check the repository's GitHub configuration, item by item.")
@repo_option()
@click.option("--repository", default=None, metavar="OWNER/NAME",
              help="The GitHub repository (default: GITHUB_REPOSITORY, else the origin remote).")
@click.option("--api-url", default=None, help="GitHub's REST API (default: GITHUB_API_URL).")
@click.option("--app", "app_slug", default=None, metavar="SLUG",
              help="The promotion-bot App (default: the App the ruleset requires "
              "promotion/approvals from).")
@click.option("--timeout", type=click.IntRange(min=1), default=15, show_default=True,
              help="Seconds before one GitHub request is abandoned.")
@click.option("--retries", type=click.IntRange(min=0, max=10), default=3, show_default=True,
              help="Retries of a failed GitHub read.")
@click.option("--request-pace", type=click.FloatRange(min=0), default=0.25, show_default=True,
              envvar="PROMOTION_BOT_REQUEST_PACE", show_envvar=True,
              help="Seconds between GitHub requests; 0 for a local GitHub.")
@format_option()
def doctor(repo: Path | None, repository: str | None, api_url: str | None,
           app_slug: str | None, timeout: int, retries: int, request_pace: float,
           output_format: str) -> int:
    """Check the repository's GitHub configuration, item by item, with the fix for each.

    \b
    Reads through the API: the branch ruleset on the default branch (pull requests,
    code-owner review, promotion/approvals required from the App, promotion / checks, no
    bypass but the documented break-glass), the tag rulesets on promotion/*, the
    environments promotion-bot and promotion-record (main only, their secrets), no
    repository or organisation secret named PROMOTION_BOT_*, the Actions settings, the App's
    installation and permissions, CODEOWNERS as GitHub reads it, and the workflows' pins.

    \b
    Run it with a token of a repository administrator who is an organisation owner:
      GITHUB_TOKEN=$(gh auth token) promotion-bot doctor
    (the App's own token cannot see rulesets' bypass lists or the organisation's Apps).

    \b
    Examples:
      GITHUB_TOKEN=$(gh auth token) promotion-bot doctor --repository example-org/routing

    Exit codes: 0 everything holds, 1 something does not (each fix is shown), 2 usage or
    configuration error (no token, unknown repository, GitHub unreachable).
    """
    name = repository or os.environ.get("GITHUB_REPOSITORY") or _origin(repo)
    if not name:
        raise ConfigError("which repository? pass --repository OWNER/NAME (or run doctor in a "
                          "clone whose origin is on GitHub)")
    token = os.environ.get("PROMOTION_BOT_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        raise ConfigError("doctor needs a token of a repository administrator in GITHUB_TOKEN "
                          "(or PROMOTION_BOT_TOKEN), e.g. GITHUB_TOKEN=$(gh auth token)")
    connection = Connection(
        api_url=api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL, token=token,
        timeout=timeout, retries=retries, pace=request_pace)
    diagnosis = run_doctor(GitHubClient(connection, name), name, Expectations(app_slug))
    if output_format == "json":
        echo_json(as_data(diagnosis))
    else:
        click.echo(render_text(diagnosis, connection.api_url))
    return int(ExitCode.OK if diagnosis.healthy else ExitCode.REJECTED)


def _origin(repo: Path | None) -> str | None:
    try:
        root = git.toplevel(repo or Path.cwd())
    except PromotionBotError:  # not a git repository: no origin to read
        return None
    url = git.remote_url(root)
    return github_repository(url) if url else None
