"""DSSE (Dead Simple Signing Envelope) v1 with Ed25519. Pure: bytes in, bytes out.

Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

LEN is the byte length in ASCII decimal, type is UTF-8. The signature is over PAE, never over
the bare payload, so a signature cannot be replayed under another payload type.

The envelope is JSON: {"payload": base64, "payloadType": str, "signatures": [{"keyid", "sig"}]}.
We write it canonically (sorted keys, no spaces) so that signing the same statement with the
same key gives byte-identical envelopes (Ed25519 signatures are deterministic): recording is
safe to repeat.

`keyid` is a hint only. The spec says it MUST NOT be used for security decisions, so `verify`
tries every candidate key against every signature and reports which key verified.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from promotion_bot.core.formats.bounded_json import JsonError, parse_json

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
MAX_SIGNATURES = 16
ENVELOPE_DEPTH = 3  # {"signatures": [{"sig": ...}]}: nothing deeper belongs in an envelope


class EnvelopeError(ValueError):
    """The text is not a well-formed DSSE envelope (the message says what is wrong)."""


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes

    def as_data(self) -> dict[str, str]:
        return {"keyid": self.keyid, "sig": base64.b64encode(self.sig).decode("ascii")}


@dataclass(frozen=True)
class Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...]

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def as_data(self) -> dict[str, Any]:
        return {
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [signature.as_data() for signature in self.signatures],
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no insignificant whitespace, ASCII only."""
        return canonical_json(self.as_data())


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding of DSSE v1."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def sign(
    payload: bytes,
    private_key: Ed25519PrivateKey,
    keyid: str,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
) -> Envelope:
    signature = private_key.sign(pae(payload_type, payload))
    return Envelope(payload, payload_type, (Signature(keyid, signature),))


K = TypeVar("K")


@dataclass(frozen=True)
class Verified(Generic[K]):
    """Which candidate verified which signature of the envelope."""

    key: K
    signature: Signature


def verify(
    envelope: Envelope, candidates: Sequence[tuple[K, Ed25519PublicKey]]
) -> list[Verified[K]]:
    """Every (candidate, signature) pair where the signature verifies under the candidate's
    public key. The keyid is ignored: each candidate is tried against each signature.
    An empty list means no candidate signed this envelope."""
    message = envelope.pae()
    verified: list[Verified[K]] = []
    for signature in envelope.signatures:
        for label, public_key in candidates:
            try:
                public_key.verify(signature.sig, message)
            except InvalidSignature:
                continue
            verified.append(Verified(label, signature))
    return verified


def parse_envelope(text: str | bytes) -> Envelope:
    """Parse envelope JSON strictly; EnvelopeError says what is wrong."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        data = parse_json(raw, max_bytes=MAX_ENVELOPE_BYTES, max_depth=ENVELOPE_DEPTH)
    except JsonError as error:
        where = f" (line {error.line}, column {error.column})" if error.line else ""
        raise EnvelopeError(f"envelope: {error.message}{where}") from None
    if not isinstance(data, dict):
        raise EnvelopeError("envelope is not a JSON object")
    unknown = sorted(set(data) - {"payload", "payloadType", "signatures"})
    if unknown:
        raise EnvelopeError(f"envelope has unknown keys: {', '.join(unknown)}")
    payload_text = data.get("payload")
    payload_type = data.get("payloadType")
    signatures = data.get("signatures")
    if not isinstance(payload_text, str):
        raise EnvelopeError("envelope payload is missing or not a string")
    if not isinstance(payload_type, str) or not payload_type:
        raise EnvelopeError("envelope payloadType is missing or not a string")
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("envelope has no signatures")
    if len(signatures) > MAX_SIGNATURES:
        raise EnvelopeError(f"envelope has more than {MAX_SIGNATURES} signatures")
    payload = _b64decode(payload_text, "payload")
    parsed: list[Signature] = []
    for index, item in enumerate(signatures):
        if not isinstance(item, dict):
            raise EnvelopeError(f"signatures[{index}] is not an object")
        keyid = item.get("keyid", "")
        sig = item.get("sig")
        if not isinstance(keyid, str):
            raise EnvelopeError(f"signatures[{index}].keyid is not a string")
        if not isinstance(sig, str):
            raise EnvelopeError(f"signatures[{index}].sig is missing or not a string")
        parsed.append(Signature(keyid, _b64decode(sig, f"signatures[{index}].sig")))
    return Envelope(payload, payload_type, tuple(parsed))


def _b64decode(text: str, what: str) -> bytes:
    # DSSE allows standard or URL-safe base64, with or without padding.
    normalised = text.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{what} is not base64") from None
