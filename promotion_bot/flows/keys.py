"""The keys use cases: make a signing key pair (the private key to a 0600 file), and show the
public half of the configured signing key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters.key_files import signing_identity, write_private_key
from promotion_bot.core.keys import SigningIdentity, generate_key, policy_entry


@dataclass(frozen=True)
class NewKey:
    keyid: str
    public_pem: str
    policy_entry: str  # ready to paste into .promotion/policy.yaml


def generate_key_file(out: Path, now: dt.datetime) -> NewKey:
    key = generate_key()
    write_private_key(out, key.private_pem)
    return NewKey(key.keyid, key.public_pem, policy_entry(key.keyid, key.public_pem, now))


def configured_signing_key(environ: Mapping[str, str], key_file: Path | None) -> SigningIdentity:
    """--key-file, else $PROMOTION_BOT_SIGNING_KEY."""
    return signing_identity(environ, key_file)
