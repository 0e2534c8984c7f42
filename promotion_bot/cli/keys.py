"""`promotion-bot keys`: make and inspect the Ed25519 keys that sign promotion records."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from promotion_bot.cli.options import RenamedOptions, output_option
from promotion_bot.core.keys import SIGNING_KEY_ENV, public_pem
from promotion_bot.flows.keys import configured_signing_key, generate_key_file


@click.group(short_help="Make and inspect the keys that sign promotion records.")
def keys() -> None:
    """Make and inspect the keys that sign promotion records.

    \b
    Examples:
      promotion-bot keys generate -o signing-key.pem
      promotion-bot keys show --key-file signing-key.pem

    \b
    Exit codes: 0 done, 2 the key file cannot be written or read.
    """


@keys.command(cls=RenamedOptions, renamed={"--out": "--output"})
@output_option(
    "Where to write the private key (created with mode 0600; never overwritten).", required=True
)
def generate(output: Path) -> int:
    """Make an Ed25519 key pair: the private key to --output (store it as the CI secret
    PROMOTION_BOT_SIGNING_KEY), the public key and a ready-to-paste policy entry to stdout.

    keyid = the hex SHA-256 of the raw 32-byte public key.

    \b
    Example:
      promotion-bot keys generate -o signing-key.pem

    \b
    Exit codes: 0 written, 2 the file exists or cannot be written.
    """
    out = output
    key = generate_key_file(out, dt.datetime.now(dt.UTC).replace(microsecond=0))
    click.echo(f"wrote the private key to {out} (mode 0600); keep it secret:")
    click.echo(f"  store it as the secret {SIGNING_KEY_ENV} of the environment that records")
    click.echo("")
    click.echo(f"keyid: {key.keyid}")
    click.echo(key.public_pem.rstrip())
    click.echo("")
    click.echo("add to .promotion/policy.yaml on main (a governed change):")
    click.echo(key.policy_entry.rstrip())
    return 0


@keys.command()
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Private key PEM (default: ${SIGNING_KEY_ENV}).",
)
def show(key_file: Path | None) -> int:
    """Print the keyid and public key of the signing key (never the private key).

    \b
    Example:
      PROMOTION_BOT_SIGNING_KEY="$(cat signing-key.pem)" promotion-bot keys show

    \b
    Exit codes: 0 shown, 2 no key, or the key cannot be read.
    """
    identity = configured_signing_key(os.environ, key_file)
    click.echo(f"keyid: {identity.keyid}")
    click.echo(public_pem(identity.public_key).rstrip())
    return 0
