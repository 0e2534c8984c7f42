"""Signing keys: generation, keyid, loading from the environment or a file, trust windows."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    PublicFormat,
)

from promotion_bot.adapters.key_files import load_trusted_keys_file, signing_identity
from promotion_bot.cli.main import main
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.documents import load_policy
from promotion_bot.core.keys import (
    SIGNING_KEY_ENV,
    TrustedKey,
    generate_key,
    keyid_of,
    load_private_key,
    load_public_key,
    policy_entry,
)

UTC = dt.UTC


def test_keyid_is_sha256_of_the_raw_public_key() -> None:
    key = generate_key()
    public = load_public_key(key.public_pem, "test")
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key.keyid == hashlib.sha256(raw).hexdigest() == keyid_of(public)


def test_identity_from_environment_or_file(tmp_path: Path) -> None:
    key = generate_key()
    from_env = signing_identity({SIGNING_KEY_ENV: key.private_pem.decode()}, None)
    path = tmp_path / "k.pem"
    path.write_bytes(key.private_pem)
    from_file = signing_identity({}, path)
    assert from_env.keyid == from_file.keyid == key.keyid


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"", "empty"),
        (b"hello", "not a PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "cannot be read"),
    ],
)
def test_bad_private_keys_are_configuration_errors(pem: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_private_key(pem, "$X")


def test_other_key_types_and_encrypted_keys_are_refused() -> None:
    ec = generate_private_key(SECP256R1())
    plain = ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"x"))
    with pytest.raises(ConfigError, match="encrypted"):
        load_private_key(plain, "f")
    from cryptography.hazmat.primitives.serialization import NoEncryption

    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        load_private_key(ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), "f")


def test_missing_key_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="keys generate"):
        signing_identity({}, None)


def key_with(**window: object) -> TrustedKey:
    key = generate_key()
    values = {"not_before": None, "not_after": None, "revoked": False} | window
    return TrustedKey(key.keyid, load_public_key(key.public_pem, "t"), source="t", **values)  # type: ignore[arg-type]


def test_validity_window() -> None:
    when = dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert key_with().problem_at(when) is None
    assert key_with(revoked=True).problem_at(when) == "revoked"
    assert key_with(not_after=when - dt.timedelta(days=1)).problem_at(when) == "expired"
    assert key_with(not_before=when + dt.timedelta(days=1)).problem_at(when) == "not yet valid"
    assert key_with(not_before=when, not_after=when).problem_at(when) is None


def test_policy_entry_is_accepted_by_the_policy_loader() -> None:
    key = generate_key()
    entry = policy_entry(key.keyid, key.public_pem, dt.datetime(2026, 1, 1, tzinfo=UTC))
    policy = (Path(__file__).resolve().parents[2] / "examples/governed-repo/.promotion/policy.yaml")
    loaded = load_policy(policy.read_bytes() + b"\n" + entry.encode())
    assert loaded.problems == []
    assert loaded.value is not None
    [signing] = loaded.value.signing_keys
    assert signing.keyid == key.keyid
    assert signing.not_before == dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_trusted_keys_file(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "keys.yaml"
    path.write_text(policy_entry(key.keyid, key.public_pem, None))  # `signing: keys:` works
    [trusted] = load_trusted_keys_file(path)
    assert trusted.keyid == key.keyid
    path.write_text("keys:\n  - keyid: x\n    public_key: nope\n    colour: red\n")
    with pytest.raises(ConfigError) as error:
        load_trusted_keys_file(path)
    messages = [p.render() for p in error.value.problems]
    assert any("unknown key 'colour'" in m for m in messages)
    assert any("public_key" in m and "PEM" in m for m in messages)


def test_keys_generate_writes_a_private_file_and_prints_the_policy_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "signing.pem"
    assert main(["keys", "generate", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    identity = load_private_key(out.read_bytes(), str(out))
    assert f"keyid: {identity.keyid}" in printed
    assert f"    - keyid: {identity.keyid}" in printed
    assert "PRIVATE" not in printed
    assert main(["keys", "generate", "--out", str(out)]) == 2  # never overwritten
    assert main(["keys", "show", "--key-file", str(out)]) == 0
    assert identity.keyid in capsys.readouterr().out
