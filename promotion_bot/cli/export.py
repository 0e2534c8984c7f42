"""`promotion-bot export`: deliver the records on main to the operational audit system."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from promotion_bot.adapters.event_sinks import RetryPolicy
from promotion_bot.cli.options import (
    RenamedOptions,
    base_option,
    echo_json,
    format_option,
    governed_root,
    repo_option,
)
from promotion_bot.cli.progress import progress_reporter
from promotion_bot.core.errors import ExitCode
from promotion_bot.flows.export import ExportRequest, ExportResult
from promotion_bot.flows.export import export as export_records


@click.command(
    "export",
    cls=RenamedOptions,
    renamed={"--ref": "--base"},
    short_help="Deliver every valid record on main as a CloudEvent.",
)
@repo_option()
@base_option("HEAD", "Main: the history to export.")
@click.option(
    "--to",
    "destination",
    required=True,
    help="Where to deliver: - (standard output, one event a line), a file (JSON Lines, "
    "appended), or an https:// endpoint (one structured-mode POST per event).",
)
@click.option(
    "--cursor",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the id of the last acknowledged event; only later events are "
    "delivered, and it moves after each acknowledgement. Without it, every record is sent.",
)
@click.option(
    "--source",
    default=None,
    help="The CloudEvents source (default: https://github.com/$GITHUB_REPOSITORY, else the "
    "repository the records' pull requests name).",
)
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra trusted public keys (YAML `keys:` list), supplied out of band.",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds before one HTTP request is abandoned (and retried).")
@click.option("--retries", type=click.IntRange(min=0, max=20), default=5, show_default=True,
              help="Retries of one event after a connection error, a timeout, 408, 425, 429 or "
              "5xx, with exponential backoff.")
@click.option("--backoff", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Seconds before the first retry; doubles each time (at most 30 s).")
@click.option("--ca-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CA bundle (PEM) that signs the endpoint's certificate, if not a public CA.")
@format_option()
def export(
    repo: Path | None,
    base: str,
    destination: str,
    cursor: Path | None,
    source: str | None,
    trusted_keys: Path | None,
    timeout: float,
    retries: int,
    backoff: float,
    ca_file: Path | None,
    output_format: str,
) -> int:
    """Deliver every valid record on main as a CloudEvent (JSON, structured mode).

    \b
    Each promotion, rollback, governance change, baseline and violation record becomes one
    event whose id is the record's digest: delivery is idempotent, and a receiver
    de-duplicates on it. Events go oldest first; the cursor advances only past what the sink
    acknowledged. HTTPS endpoints get a bearer token from $PROMOTION_BOT_EXPORT_TOKEN and/or
    an HMAC-SHA256 of the body (header X-Promotion-Bot-Signature: sha256=...) keyed by
    $PROMOTION_BOT_EXPORT_HMAC_KEY. The event format: docs/records.md.

    \b
    Examples:
      promotion-bot export --to events.jsonl --cursor .promotion-export-cursor
      PROMOTION_BOT_EXPORT_TOKEN=... promotion-bot export --to https://audit.example.org/events

    \b
    Exit codes: 0 every event delivered, 1 delivery stopped (the sink refused an event or
    did not answer after the retries; run again: nothing acknowledged is sent twice),
    2 usage or configuration error.
    """
    request = ExportRequest(
        root=governed_root(repo),
        ref=base,
        destination=destination,
        cursor=cursor,
        source=source,
        trusted_keys=trusted_keys,
        environ=dict(os.environ),
        stdout=sys.stdout.buffer,
        retry=RetryPolicy(retries, backoff, 30.0, timeout),
        ca_file=ca_file,
        progress=progress_reporter("export"),
    )
    result = export_records(request)
    _report(result, output_format, to_stdout=destination == "-")
    return int(ExitCode.OK if result.ok else ExitCode.REJECTED)


def _report(result: ExportResult, output_format: str, *, to_stdout: bool) -> None:
    if output_format == "json" and not to_stdout:
        echo_json(
            {
                "sink": result.sink,
                "records": result.total,
                "pending": result.pending,
                "delivered": [event.id for event in result.delivered],
                "last_delivered": result.delivered[-1].subject if result.delivered else None,
                "failure": result.failure,
            }
        )
        return
    lines = [
        f"export: {len(result.delivered)} of {result.pending} pending event(s) delivered to "
        f"{result.sink} ({result.total} record(s) on main)"
    ]
    if result.delivered:
        last = result.delivered[-1]
        lines.append(f"last acknowledged: {last.subject} (id {last.id})")
    if result.failure:
        lines.append(f"stopped: {result.failure}")
        lines.append("run export again: it starts after the last acknowledged event")
    for line in lines:
        click.echo(line, err=to_stdout)


