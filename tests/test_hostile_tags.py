"""Any tag anyone can push: `audit` reports it, `verify` still deploys what valid records cover.

No key is needed to push a `promotion/*` tag. Each shape below is pushed onto a real history
whose governed files are all covered by valid records; then `audit` must report the tag as a
finding (exit 1, never a traceback), `status` must still answer (exit 0) and `verify` must
still let the covered commit deploy (exit 0). The README's reliability section counts these
shapes (TAG_SHAPES).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from promotion_bot.core.dsse import MAX_ENVELOPE_BYTES, Envelope, Signature, sign
from promotion_bot.core.keys import generate_key, load_private_key
from promotion_bot.core.records import PAYLOAD_TYPE
from tests.ledger_repo import GovernedHistory

DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "1" * 5000


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def envelope(payload: bytes | str, sig: str = "AAAA", payload_type: str = PAYLOAD_TYPE) -> str:
    return json.dumps(
        {"payload": b64(payload), "payloadType": payload_type,
         "signatures": [{"keyid": "k", "sig": sig}]}
    )


Make = Callable[[GovernedHistory, str], None]  # creates the tag of the given name


@dataclass(frozen=True)
class Shape:
    name: str
    make: Make
    finding: str  # the audit's finding code for it


def annotated(message: str | bytes, target: str = "HEAD") -> Make:
    def make(history: GovernedHistory, tag: str) -> None:
        data = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
        path = history.root.parent / "tag-message"
        path.write_bytes(data)
        history.git("tag", "-a", "--no-sign", "--cleanup=verbatim", "-F", str(path), tag, target)

    return make


def signed(payload: bytes | str, *, trusted: bool, payload_type: str = PAYLOAD_TYPE) -> Make:
    """An envelope with a real Ed25519 signature over `payload`: by the policy's key (someone
    holding it made a mistake) or by a key of the attacker's own."""
    def make(history: GovernedHistory, tag: str) -> None:
        pem = history.key.private_pem if trusted else generate_key().private_pem
        identity = load_private_key(pem, "test key")
        data = payload.encode() if isinstance(payload, str) else payload
        signed_envelope = sign(data, identity.private_key, identity.keyid, payload_type)
        annotated(signed_envelope.to_json())(history, tag)

    return make


def lightweight(history: GovernedHistory, tag: str) -> None:
    history.git("tag", tag, "HEAD")


def nested_tag(history: GovernedHistory, tag: str) -> None:
    history.git("tag", "-a", "--no-sign", "-m", "inner", "inner-tag", "HEAD")
    history.git("tag", "-a", "--no-sign", "-m", "outer", tag, "inner-tag")


def wrong_length_signature(history: GovernedHistory, tag: str) -> None:
    forged = Envelope(b"{}", PAYLOAD_TYPE, (Signature("k", b"\x01" * 7),))
    annotated(forged.to_json())(history, tag)


def statement_with(merged_at: str) -> str:
    return json.dumps({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [],
        "predicateType": "https://promotion-bot.dev/promotion-record/v1",
        "predicate": {"merge": {"merged_at": merged_at}},
    })


TAG_SHAPES = [
    Shape("lightweight tag", lightweight, "MALFORMED_RECORD"),
    Shape("annotated tag of a tree", annotated("{}", "HEAD^{tree}"), "MALFORMED_RECORD"),
    Shape("annotated tag of a blob", annotated("{}", "HEAD:CODEOWNERS"), "MALFORMED_RECORD"),
    Shape("tag of a tag", nested_tag, "MALFORMED_RECORD"),
    Shape("empty message", annotated(""), "MALFORMED_RECORD"),
    Shape("not JSON", annotated("not json at all"), "MALFORMED_RECORD"),
    Shape("not UTF-8", annotated(b"\xff\xfe{}"), "MALFORMED_RECORD"),
    Shape("NUL bytes", annotated(b'{"payload":"\x00"}'), "MALFORMED_RECORD"),
    Shape("100,000 nested arrays", annotated(DEEP), "MALFORMED_RECORD"),
    Shape("5,000-digit integer", annotated('{"payload": ' + LONG_INT + "}"), "MALFORMED_RECORD"),
    Shape("NaN", annotated('{"payload": NaN}'), "MALFORMED_RECORD"),
    Shape("duplicate keys", annotated('{"payload": "", "payload": ""}'), "MALFORMED_RECORD"),
    Shape("unpaired surrogate", annotated('{"payloadType": "\\ud800"}'), "MALFORMED_RECORD"),
    Shape("JSON array", annotated("[]"), "MALFORMED_RECORD"),
    Shape("signatures an object", annotated(
        '{"payload": "", "payloadType": "t", "signatures": {"sig": "AA=="}}'), "MALFORMED_RECORD"),
    Shape("10,000 signatures", annotated(json.dumps(
        {"payload": "", "payloadType": "t", "signatures": [{"sig": "AA=="}] * 10_000})),
        "MALFORMED_RECORD"),
    Shape("payload not base64", annotated(
        '{"payload": "!!", "payloadType": "t", "signatures": [{"sig": "AA=="}]}'),
        "MALFORMED_RECORD"),
    Shape("larger than any envelope", annotated("x" * (MAX_ENVELOPE_BYTES + 128 * 1024)),
          "MALFORMED_RECORD"),
    Shape("unsigned, 100,000 nested arrays", annotated(envelope(DEEP)), "UNTRUSTED_KEY"),
    Shape("unsigned, 5,000-digit payload", annotated(envelope(LONG_INT)), "UNTRUSTED_KEY"),
    Shape("signature of the wrong length", wrong_length_signature, "UNTRUSTED_KEY"),
    Shape("attacker's key, deep payload", signed(DEEP, trusted=False), "UNTRUSTED_KEY"),
    Shape("trusted key, deep payload", signed(DEEP, trusted=True), "MALFORMED_RECORD"),
    Shape("trusted key, 5,000-digit payload", signed(LONG_INT, trusted=True),
          "MALFORMED_RECORD"),
    Shape("trusted key, payload []", signed("[]", trusted=True), "MALFORMED_RECORD"),
    Shape("trusted key, another payloadType", signed("{}", trusted=True, payload_type="text/x"),
          "MALFORMED_RECORD"),
    Shape("trusted key, statement with a bad date", signed(statement_with("not a date"),
                                                           trusted=True), "MALFORMED_RECORD"),
]


@pytest.fixture(scope="module")
def covered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovernedHistory]:
    """A history whose governed files are all covered by valid records (built once)."""
    with pytest.MonkeyPatch.context() as patch:
        gitconfig = tmp_path_factory.mktemp("git") / "gitconfig"
        gitconfig.write_text("[user]\n\tname = T\n\temail = t@example.com\n"
                             "[tag]\n\tgpgsign = false\n[commit]\n\tgpgsign = false\n")
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        history = GovernedHistory.create(tmp_path_factory.mktemp("tags"), adopt=True)
        history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
        assert main(history.record_args()) == 0
        yield history


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_junk_tags_are_findings_and_never_stop_a_deploy(
    covered: GovernedHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every shape at once (one audit, one status, one verify): each tag is its own finding."""
    repo = str(covered.root)
    tags = {f"promotion/CR-2026-{9000 + index}": shape for index, shape in enumerate(TAG_SHAPES)}
    for tag, shape in tags.items():
        shape.make(covered, tag)
    code, out = run(capsys, "audit", "--repo", repo, "--format", "json")
    assert code == 1, out
    found: dict[str, list[str]] = {}
    for finding in json.loads(out)["findings"]:
        found.setdefault(finding["tag"], []).append(finding["code"])
    assert {tags[tag].name: found.get(tag) for tag in tags} == {
        shape.name: [shape.finding] for shape in TAG_SHAPES
    }
    code, out = run(capsys, "status", "--repo", repo)
    assert code == 0, out
    code, out = run(capsys, "verify", "--repo", repo, "--commit", "HEAD")
    assert (code, out.splitlines()[0]) == (0, "ok: all 11 governed file(s) at "
                                          f"{covered.rev('HEAD')[:12]} are covered by valid "
                                          "promotion records"), out


def test_trusted_keys_from_a_fifo_are_refused(
    covered: GovernedHistory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    fifo = tmp_path / "keys.yaml"
    os.mkfifo(fifo)
    code, out = run(capsys, "verify", "--repo", str(covered.root), "--commit", "HEAD",
                    "--trusted-keys", str(fifo))
    assert code == 2
    assert f"{fifo}: is a FIFO (named pipe), not a regular file" in out
