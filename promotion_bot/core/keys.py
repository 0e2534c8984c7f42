"""Ed25519 signing keys: generate, load, identify, and decide whether a key is trusted.

keyid = the hex SHA-256 of the raw 32-byte Ed25519 public key. It names a key in the policy
and in envelopes, but verification never relies on it: every trusted key is tried.

The private key is a PKCS#8 PEM, given in the environment variable PROMOTION_BOT_SIGNING_KEY
(a CI secret) or in a file (--key-file). Trusted public keys live in the policy on main
(`signing.keys`), each with an optional validity window and a revoked flag; an auditor may
also supply keys out of band (--trusted-keys FILE, same entries under a top-level `keys:`).
promotion_bot.adapters.key_files reads the environment and the files; this module is pure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.strict_yaml import YamlDocument
from promotion_bot.core.models import SigningKey

SIGNING_KEY_ENV = "PROMOTION_BOT_SIGNING_KEY"


def keyid_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


@dataclass(frozen=True)
class SigningIdentity:
    """A private key ready to sign, with its public half and keyid."""

    private_key: Ed25519PrivateKey
    keyid: str
    source: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True)
class GeneratedKey:
    private_pem: bytes
    public_pem: str
    keyid: str


def generate_key() -> GeneratedKey:
    private_key = Ed25519PrivateKey.generate()
    private = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return GeneratedKey(
        private, public_pem(private_key.public_key()), keyid_of(private_key.public_key())
    )


def load_private_key(pem: bytes, source: str) -> SigningIdentity:
    """An Ed25519 private key from unencrypted PKCS#8 PEM; ConfigError says what is wrong
    without ever echoing the key material."""
    text = pem.strip()
    if not text:
        raise ConfigError(f"{source}: the signing key is empty")
    if b"PRIVATE KEY-----" not in text:
        raise ConfigError(
            f"{source}: not a PEM private key",
            [],
        )
    try:
        key = load_pem_private_key(text + b"\n", password=None)
    except TypeError:
        raise ConfigError(
            f"{source}: the private key is encrypted; give an unencrypted PKCS#8 key "
            "(promotion-bot keys generate writes one)"
        ) from None
    except ValueError:
        raise ConfigError(f"{source}: the private key cannot be read (not PKCS#8 PEM?)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source}: not an Ed25519 key; records are signed with Ed25519 only")
    return SigningIdentity(key, keyid_of(key.public_key()), source)


def load_public_key(pem: str, source: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode("utf-8"))
    except ValueError:
        raise ConfigError(f"{source}: not a readable PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{source}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class TrustedKey:
    """A public key the auditor trusts, with the window in which its signatures count."""

    keyid: str
    public_key: Ed25519PublicKey
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    revoked: bool
    source: str

    @property
    def fingerprint(self) -> str:
        return keyid_of(self.public_key)

    def problem_at(self, when: dt.datetime | None) -> str | None:
        """None when a signature made at `when` counts; else 'revoked', 'expired' or
        'not yet valid' (with the dates). A missing time is judged against the window
        conservatively: any bound makes it fail."""
        if self.revoked:
            return "revoked"
        if when is None:
            if self.not_before or self.not_after:
                return "expired"
            return None
        if self.not_before and when < self.not_before:
            return "not yet valid"
        if self.not_after and when > self.not_after:
            return "expired"
        return None

    def window(self) -> str:
        start = _show_time(self.not_before) if self.not_before else "any time"
        end = _show_time(self.not_after) if self.not_after else "no end"
        return f"{start} .. {end}"


def _show_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trusted_from_policy(keys: Sequence[SigningKey], source: str) -> list[TrustedKey]:
    """Policy entries were validated by documents.load_policy (PEM, Ed25519)."""
    trusted = []
    for entry in keys:
        public_key = load_public_key(entry.public_key_pem, f"{source}: signing key {entry.keyid}")
        trusted.append(
            TrustedKey(
                entry.keyid, public_key, entry.not_before, entry.not_after, entry.revoked, source
            )
        )
    return trusted


def trusted_keys_from_document(document: YamlDocument) -> list[TrustedKey]:
    """`keys:` (or a whole policy's `signing: keys:`) with the policy's key entries."""
    data = document.data
    entries: Any = None
    if isinstance(data, dict):
        entries = data.get("keys")
        if entries is None and isinstance(data.get("signing"), dict):
            entries = data["signing"].get("keys")
    if not isinstance(entries, list) or not entries:
        problem = document.problem(
            [], "no keys", hint="write a top-level `keys:` list of {keyid, public_key, ...}"
        )
        raise ConfigError(problem.render(), [problem])
    problems: list[Problem] = []
    trusted: list[TrustedKey] = []
    for index, entry in enumerate(entries):
        key = _trusted_entry(document, ["keys", index], entry, document.path, problems)
        if key is not None:
            trusted.append(key)
    if problems:
        raise ConfigError(
            f"{document.path}: {len(problems)} problem(s) in the trusted keys", problems
        )
    return trusted


def _trusted_entry(
    document: YamlDocument,
    where: list[str | int],
    entry: Any,
    source: str,
    problems: list[Problem],
) -> TrustedKey | None:
    if not isinstance(entry, dict):
        problems.append(document.problem(where, "a key entry is a mapping"))
        return None
    unknown = sorted(set(entry) - {"keyid", "public_key", "not_before", "not_after", "revoked"})
    for name in unknown:
        problems.append(
            document.problem(
                [*where, name],
                f"unknown key {name!r}",
                hint="allowed: keyid, public_key, not_before, not_after, revoked",
                key=True,
            )
        )
    keyid = entry.get("keyid")
    if not isinstance(keyid, str) or not keyid:
        problems.append(document.problem([*where, "keyid"], "keyid is required (a string)"))
    pem = entry.get("public_key")
    public_key: Ed25519PublicKey | None = None
    if not isinstance(pem, str):
        problems.append(document.problem([*where, "public_key"], "public_key is required (PEM)"))
    else:
        try:
            public_key = load_public_key(pem, source)
        except ConfigError as error:
            problems.append(document.problem([*where, "public_key"], error.message))
    times: dict[str, dt.datetime | None] = {}
    for name in ("not_before", "not_after"):
        value = entry.get(name)
        times[name] = None
        if value is None:
            continue
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            problems.append(
                document.problem(
                    [*where, name],
                    f"{value!r} is not a date-time",
                    hint="e.g. 2026-01-01T00:00:00Z",
                )
            )
            continue
        times[name] = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    revoked = entry.get("revoked", False)
    if not isinstance(revoked, bool):
        problems.append(document.problem([*where, "revoked"], "revoked is true or false"))
    if public_key is None or not isinstance(keyid, str) or not isinstance(revoked, bool):
        return None
    return TrustedKey(keyid, public_key, times["not_before"], times["not_after"], revoked, source)


def policy_entry(keyid: str, public_key_pem: str, not_before: dt.datetime | None) -> str:
    """A ready-to-paste `signing.keys` entry for .promotion/policy.yaml."""
    lines = ["signing:", "  keys:", f"    - keyid: {keyid}"]
    if not_before is not None:
        lines.append(f'      not_before: "{_show_time(not_before)}"')
    lines.append("      public_key: |")
    lines.extend(f"        {line}" for line in public_key_pem.strip().splitlines())
    return "\n".join(lines) + "\n"
