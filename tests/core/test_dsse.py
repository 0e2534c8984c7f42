"""DSSE: the spec's PAE vector, sign/verify, strict parsing, and cross-verification with an
independent implementation (securesystemslib.dsse, as used by in-toto)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from promotion_bot.core.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    Envelope,
    EnvelopeError,
    Signature,
    pae,
    parse_envelope,
    sign,
    verify,
)
from promotion_bot.core.keys import keyid_of

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYID = keyid_of(KEY.public_key())


def test_pae_matches_the_spec_vector() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


def test_sign_is_deterministic_and_canonical() -> None:
    first = sign(b'{"a":1}', KEY, KEYID).to_json()
    assert first == sign(b'{"a":1}', KEY, KEYID).to_json()
    assert " " not in first
    assert list(json.loads(first)) == ["payload", "payloadType", "signatures"]


def test_verify_ignores_keyid_and_reports_the_key_that_verified() -> None:
    envelope = sign(b"payload", KEY, "a-lying-keyid")
    other = Ed25519PrivateKey.generate().public_key()
    found = verify(envelope, [("other", other), ("ours", KEY.public_key())])
    assert [item.key for item in found] == ["ours"]


def test_a_changed_payload_or_type_does_not_verify() -> None:
    envelope = sign(b"payload", KEY, KEYID)
    changed = Envelope(b"payloaD", envelope.payload_type, envelope.signatures)
    retyped = Envelope(envelope.payload, "text/plain", envelope.signatures)
    assert verify(changed, [("k", KEY.public_key())]) == []
    assert verify(retyped, [("k", KEY.public_key())]) == []


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=40))
def test_round_trip(payload: bytes, payload_type: str) -> None:
    envelope = sign(payload, KEY, KEYID, payload_type)
    parsed = parse_envelope(envelope.to_json())
    assert parsed == envelope
    assert verify(parsed, [("k", KEY.public_key())])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"payload":"","payloadType":"t","signatures":[],"x":1}', "unknown keys: x"),
        ('{"payload":"","payloadType":"t","signatures":[]}', "no signatures"),
        ('{"payload":"!!","payloadType":"t","signatures":[{"keyid":"","sig":"AA=="}]}',
         "payload is not base64"),
        ('{"payload":"","payloadType":"","signatures":[{"sig":"AA=="}]}', "payloadType"),
        ('{"payload":"","payload":"","payloadType":"t","signatures":[{"sig":"AA=="}]}',
         "duplicate key"),
        ('{"payload":"","payloadType":"t","signatures":[{"keyid":""}]}', "sig is missing"),
    ],
)
def test_parse_refuses_malformed_envelopes(text: str, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(text)


def test_parse_accepts_url_safe_base64_without_padding() -> None:
    envelope = parse_envelope('{"payload":"-_8","payloadType":"t","signatures":[{"sig":"AA"}]}')
    assert envelope.payload == b"\xfb\xff" and envelope.signatures == (Signature("", b"\0"),)


def sslib_key() -> SSlibKey:
    return SSlibKey.from_crypto(KEY.public_key(), keyid=KEYID)


def test_securesystemslib_verifies_our_envelope() -> None:
    ours = sign(b'{"_type":"https://in-toto.io/Statement/v1"}', KEY, KEYID, IN_TOTO_PAYLOAD_TYPE)
    theirs = SslibEnvelope.from_dict(json.loads(ours.to_json()))
    accepted = theirs.verify([sslib_key()], 1)
    assert list(accepted) == [KEYID]
    assert theirs.pae() == ours.pae()


def test_securesystemslib_rejects_our_envelope_when_edited() -> None:
    ours = sign(b"original", KEY, KEYID)
    data = json.loads(Envelope(b"edited", ours.payload_type, ours.signatures).to_json())
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(data).verify([sslib_key()], 1)


def test_we_verify_an_envelope_securesystemslib_signed() -> None:
    signer = CryptoSigner(KEY, sslib_key())
    theirs = SslibEnvelope(b"payload from in-toto", IN_TOTO_PAYLOAD_TYPE, {})
    theirs.sign(signer)
    parsed = parse_envelope(json.dumps(theirs.to_dict()))
    assert parsed.payload == b"payload from in-toto"
    assert [v.key for v in verify(parsed, [("k", KEY.public_key())])] == ["k"]
