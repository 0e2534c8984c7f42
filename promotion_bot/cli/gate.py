"""`promotion-bot gate` and `promotion-bot snapshot`: the PR gate against live GitHub."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from promotion_bot.adapters.actions_event import EventTarget, read_event
from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.github import GitHubClient, PullReader, PullWriter, client_for
from promotion_bot.cli.options import (
    RenamedOptions,
    echo_json,
    emit,
    github_options,
    github_settings,
    output_option,
)
from promotion_bot.core.approvals import Status
from promotion_bot.core.errors import ConfigError, ExitCode
from promotion_bot.flows.gate import Gate, GateRun, pull_numbers
from promotion_bot.render.decision import decision_to_json, render

F = TypeVar("F", bound=Callable[..., Any])


def pull_option(function: F) -> F:
    return click.option(
        "--pr", "pull_number", type=click.IntRange(min=1), default=None,
        help="The pull request (default: the one of the event that started the GitHub Actions "
             "job).")(function)


def _target(pull_number: int | None, repository: str | None,
            all_open: bool = False) -> EventTarget:
    if all_open and pull_number is not None:
        raise ConfigError("--all-open judges every open pull request; leave out --pr")
    if all_open and not os.environ.get("GITHUB_EVENT_NAME"):
        name = repository or os.environ.get("GITHUB_REPOSITORY")
        if not name:
            raise ConfigError("--all-open needs --repository OWNER/NAME (or GITHUB_REPOSITORY)")
        return EventTarget("manual", name)
    if pull_number is not None:
        name = repository or os.environ.get("GITHUB_REPOSITORY")
        if not name:
            raise ConfigError("--pr needs --repository OWNER/NAME (or GITHUB_REPOSITORY)")
        return EventTarget("manual", name, (pull_number,))
    target = read_event(os.environ)
    if repository and repository.lower() != target.repository.lower():
        raise ConfigError(f"--repository {repository} differs from the event's "
                          f"{target.repository}")
    return target


def _run_url() -> str | None:
    server, repo, run = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                                                     "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


@click.command(
    "gate",
    cls=RenamedOptions,
    renamed={"--save-snapshot": "--output"},
    short_help="Evaluate a pull request on GitHub and set promotion/approvals.",
)
@pull_option
@github_options("Default: GITHUB_REPOSITORY, or the event's repository.")
@click.option("--all-open", is_flag=True,
              help="Judge every open pull request into a governed branch (what the scheduled "
                   "run does; the `schedule` event implies it).")
@click.option("--governed-branch", "governed_branches", multiple=True, metavar="PATTERN",
              envvar="PROMOTION_BOT_GOVERNED_BRANCHES", show_envvar=True,
              help="A branch whose ruleset requires the status: its pull requests are judged "
                   "(fnmatch pattern; repeatable; the variable takes them space-separated). "
                   "Default: the repository's default branch.")
@click.option("--dry-run", is_flag=True,
              help="Evaluate and print; write nothing to GitHub (exit code = the decision).")
@output_option("Also write the PR snapshot used, for `promotion-bot approvals --snapshot`.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="text for people, json for machines, markdown as the sticky comment.")
def gate(pull_number: int | None, repository: str | None, api_url: str | None, timeout: int,
         retries: int, request_pace: float, all_open: bool, governed_branches: tuple[str, ...],
         dry_run: bool, output: Path | None, output_format: str) -> int:
    """Evaluate a pull request's approvals on GitHub and set the `promotion/approvals` status.

    Builds the PR snapshot from the API (the pull request, all its files and reviews, the
    members of the owner teams), reads the policy and CODEOWNERS at the base branch's current
    commit (never from the pull request), evaluates, and then, on the evaluated head commit:
    sets the commit status `promotion/approvals`, writes or updates one sticky comment, and
    (policy switch) requests reviews from the owners of missing roles.

    A status belongs to a commit: a head is green only if every open pull request with that
    head into a governed branch is approved (docs/status-model.md).

    \b
    Credentials come from the environment, never from the command line:
      GITHUB_TOKEN or PROMOTION_BOT_TOKEN            a token
      PROMOTION_BOT_APP_ID + PROMOTION_BOT_APP_PRIVATE_KEY   a GitHub App
    GITHUB_TOKEN cannot read organisation teams: see docs/github.md.

    \b
    Example (in a GitHub Actions job; locally add --pr N --repository OWNER/NAME):
      promotion-bot gate --dry-run -o pr.json

    \b
    Exit codes: 0 evaluated and published (approved, pending or blocked: the status says
    which); 1 with --dry-run when pending or blocked; 2 error (the status says why, if it
    could be written).
    """
    target = _target(pull_number, repository, all_open)
    settings = github_settings(repository, api_url, timeout, retries, request_pace)
    client = client_for(target.repository, settings, os.environ)
    reader = PullReader(client)
    writer = None if dry_run else PullWriter(client)
    runner = Gate(reader, writer, target.repository, utc_now, _run_url(), governed_branches)
    run = runner.run_target(target, all_open=all_open)
    judged = [o for o in run.pulls if o.snapshot is not None]
    if output is not None and judged:
        emit(json.dumps(judged[0].snapshot, indent=2) + "\n", output)
    _report(run, client, output_format, dry_run)
    return _exit_code(run, dry_run)


def _append_summary(summary_file: str, comment: str) -> None:
    try:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(comment + "\n")
    except OSError as error:
        raise ConfigError(
            f"cannot write GITHUB_STEP_SUMMARY {summary_file}: {error.strerror or error} (the "
            "statuses are set; fix the job's summary file or unset the variable)"
        ) from None


def _report(run: GateRun, client: GitHubClient, output_format: str, dry_run: bool) -> None:
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    verb = "would set" if dry_run else "set"
    heads = {head.sha: head for head in run.heads}
    for outcome in run.pulls:
        head = heads.get(outcome.status_sha)
        if outcome.decision is None:
            if output_format == "json":
                echo_json({"pull_request": outcome.pull_number, "head_sha": outcome.head_sha,
                           "base_ref": outcome.base_ref, "skipped": outcome.skipped})
            elif output_format == "text":
                click.echo(f"#{outcome.pull_number} into {outcome.base_ref}: {outcome.skipped}")
            continue
        if summary_file:
            _append_summary(summary_file, outcome.comment)
        if output_format == "json":
            echo_json({
                "pull_request": outcome.pull_number,
                "head_sha": outcome.head_sha,
                "base_ref": outcome.base_ref,
                "status": {"sha": outcome.status_sha,
                           "state": head.state if head else outcome.state,
                           "description": head.description if head else outcome.description,
                           "written": bool(head and head.written)},
                "review_requests": outcome.review_requests,
                "api": {"requests": client.requests_made, "retries": client.retries_made},
                "decision": decision_to_json(outcome.decision),
            })
        elif output_format == "markdown":
            click.echo(outcome.comment, nl=False)
        else:
            click.echo(render(outcome.decision, "text"), nl=False)
    if output_format == "text":
        for head in run.heads:
            done = verb if head.written or dry_run else "did not set"
            click.echo(f"{done} {head.state} on {head.sha[:12]}: {head.description}"
                       + (f" ({head.note})" if head.note else ""))
        click.echo(f"GitHub API: {client.requests_made} requests, {client.retries_made} retries")
    for error in run.errors:
        click.echo(f"error: {error}", err=True)


def _exit_code(run: GateRun, dry_run: bool) -> int:
    if run.errors or any(o.state == "error" for o in run.pulls):
        return int(ExitCode.USAGE)
    if dry_run and any(o.decision and o.decision.status != Status.APPROVED for o in run.pulls):
        return int(ExitCode.REJECTED)
    return int(ExitCode.OK)


@click.command("snapshot", short_help="Export a pull request's snapshot, for offline approvals.")
@pull_option
@github_options("Default: GITHUB_REPOSITORY, or the event's repository.")
@output_option("Where to write the snapshot JSON.", required=True)
def snapshot(pull_number: int | None, repository: str | None, api_url: str | None,
             timeout: int, retries: int, request_pace: float, output: Path) -> int:
    """Export a pull request's snapshot from GitHub, for offline debugging of a decision.

    \b
    Example:
      promotion-bot snapshot --pr 42 --repository acme/intake -o pr.json
    Then reproduce the gate's decision without GitHub:
      promotion-bot approvals --snapshot pr.json

    \b
    Credentials come from the environment, as for `gate`.

    \b
    Exit codes: 0 written, 2 GitHub, the event or the output file could not be used.
    """
    target = _target(pull_number, repository)
    settings = github_settings(repository, api_url, timeout, retries, request_pace)
    client = client_for(target.repository, settings, os.environ)
    reader = PullReader(client)
    runner = Gate(reader, None, target.repository, utc_now)
    [number, *_] = pull_numbers(target, reader)
    facts = reader.pull(number)
    data = runner.snapshot(facts, runner.base_policy(facts))
    emit(json.dumps(data, indent=2) + "\n", output)
    click.echo(f"wrote {output} (pull request #{number}, head {facts.head_sha[:12]}, "
               f"{len(data['files'])} files, {len(data['reviews'])} reviews, "
               f"{len(data['teams'])} teams; {client.requests_made} API requests)")
    return 0
