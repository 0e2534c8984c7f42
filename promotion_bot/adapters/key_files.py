"""The signing key (from $PROMOTION_BOT_SIGNING_KEY or --key-file), trusted-keys files
(--trusted-keys) and new private key files; the core's keys module decides what they mean."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from promotion_bot.adapters.files import load_yaml_file
from promotion_bot.core.errors import ConfigError, InputError
from promotion_bot.core.keys import (
    SIGNING_KEY_ENV,
    SigningIdentity,
    TrustedKey,
    load_private_key,
    trusted_keys_from_document,
)


def signing_identity(env: Mapping[str, str], key_file: Path | None) -> SigningIdentity:
    """The key that signs records: --key-file, else $PROMOTION_BOT_SIGNING_KEY."""
    if key_file is not None:
        try:
            data = key_file.read_bytes()
        except OSError as error:
            raise ConfigError(f"--key-file {key_file}: cannot read ({error.strerror})") from None
        return load_private_key(data, f"--key-file {key_file}")
    value = env.get(SIGNING_KEY_ENV)
    if not value:
        raise ConfigError(
            f"no signing key: set {SIGNING_KEY_ENV} (PEM, from a secret) or pass --key-file; "
            "create one with: promotion-bot keys generate"
        )
    return load_private_key(value.encode("utf-8"), f"${SIGNING_KEY_ENV}")


def load_trusted_keys_file(path: Path) -> list[TrustedKey]:
    """`keys:` (or a whole policy's `signing: keys:`) with the policy's key entries."""
    try:
        document = load_yaml_file(path)
    except InputError as error:
        raise ConfigError(error.message, error.problems) from None
    return trusted_keys_from_document(document)


def write_private_key(out: Path, private_pem: bytes) -> None:
    """Create `out` with mode 0600; an existing file is never overwritten."""
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{out} already exists; it is never overwritten") from None
    except OSError as error:
        raise ConfigError(f"{out}: cannot create ({error.strerror})") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
