"""Property tests: generated documents thrown at every loader the bot has.

Whatever the bytes, a loader answers with its own located error (or a value), never another
exception; through the command line the exit code is 0, 1 or 2 and a refusal names the file.
Documents are generated from scratch (any bytes, YAML-ish text, JSON values) and by mutating
real documents (the example policy, change request and snapshot, a signed record), so that
the schema and the rules behind it are reached too. The budget is the hypothesis profile in
tests/conftest.py: small in CI, `--hypothesis-profile=deep` for a long local run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotion_bot.cli.main import main
from promotion_bot.core.audit import judge_tag
from promotion_bot.core.codeowners import parse_codeowners
from promotion_bot.core.errors import ConfigError, InputError
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.documents import load_change_request, load_policy
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes
from promotion_bot.core.git_facts import TagRecord
from promotion_bot.core.globs import glob_problem, match_any
from promotion_bot.core.history import History
from promotion_bot.core.keys import generate_key, load_private_key, trusted_from_policy
from promotion_bot.core.merge_facts import summarise_evidence
from promotion_bot.core.models import SigningKey
from promotion_bot.core.records import RecordError, parse_statement
from promotion_bot.core.snapshot import parse_snapshot_bytes
from tests.conftest import EXAMPLE

POLICY_TEXT = (EXAMPLE / ".promotion/policy.yaml").read_text()
CR_TEXT = (EXAMPLE / "change-requests/CR-2026-0001.yaml").read_text()
SNAPSHOT = json.loads((EXAMPLE / "snapshots/approved.json").read_text())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from(["**/", "[z-a]", "(a+)+$", "\ud800", "1" * 80]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
yamlish = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`,?\n \t\\0123.~")),
                  max_size=200)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """`document` with one value (at a path drawn through it) replaced by a generated one."""
    if not isinstance(document, dict | list) or not document or draw(st.booleans()):
        return draw(values)
    copy = document.copy()
    key: Any = draw(st.sampled_from(sorted(copy) if isinstance(copy, dict) else range(len(copy))))
    copy[key] = draw(mutated(copy[key]))
    return copy


def names_the_file(problems: list[Any], path: str) -> bool:
    return bool(problems) and all(problem.file == path for problem in problems)


@given(st.one_of(st.binary(max_size=300), yamlish.map(str.encode)))
def test_strict_yaml_answers_any_bytes_with_a_located_error(raw: bytes) -> None:
    try:
        load_yaml_bytes(raw, "x.yaml")
    except InputError as error:
        assert names_the_file(error.problems, "x.yaml")


@given(st.one_of(st.binary(max_size=200), yamlish.map(str.encode),
                 mutated(yaml.safe_load(POLICY_TEXT)).map(
                     lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8", "replace"))))
def test_the_policy_loader_never_raises(raw: bytes) -> None:
    loaded = load_policy(raw, ".promotion/policy.yaml")
    assert loaded.value is not None or names_the_file(loaded.problems, ".promotion/policy.yaml")


@given(st.one_of(st.binary(max_size=200),
                 mutated(yaml.safe_load(CR_TEXT)).map(
                     lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8", "replace"))))
def test_the_change_request_loader_never_raises(raw: bytes) -> None:
    path = "change-requests/CR-2026-0001.yaml"
    loaded = load_change_request(raw, path)
    assert loaded.value is not None or names_the_file(loaded.problems, path)


codeowners_text = st.text(alphabet=st.sampled_from(list("*?/[]\\!#@ ab.-\n")), max_size=120)
paths = st.text(alphabet=st.sampled_from(list("ab/.-*[]\n")), min_size=1, max_size=80)


@given(codeowners_text, paths)
def test_codeowners_parses_and_matches_anything(text: str, path: str) -> None:
    codeowners = parse_codeowners(text)
    assert all(1 <= problem.line <= text.count("\n") + 1 for problem in codeowners.problems)
    codeowners.owners_for(path)


@given(st.text(alphabet=st.sampled_from(list("*?/[]!-az09\\")), max_size=40), paths)
def test_a_glob_is_refused_or_matches_in_linear_time(pattern: str, path: str) -> None:
    if glob_problem(pattern) is None:
        match_any([pattern], path)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=100).map(str.encode)))
def test_bounded_json_answers_any_bytes_with_a_json_error(raw: bytes) -> None:
    try:
        parse_json(raw)
    except JsonError as error:
        assert error.problem("x.json").file == "x.json"


@given(st.one_of(st.binary(max_size=200),
                 mutated(SNAPSHOT).map(lambda d: json.dumps(d).encode())))
def test_the_snapshot_loader_refuses_with_the_file_named(raw: bytes) -> None:
    try:
        parse_snapshot_bytes(raw, "pr.json")
    except ConfigError as error:
        assert "pr.json" in error.message


EVIDENCE = {"evidence_version": 1, "result": "passed", "head": {"sha": "a" * 40},
            "checks": [{"name": "lint", "result": "passed"}]}


@given(st.one_of(st.binary(max_size=200), mutated(EVIDENCE).map(lambda d: json.dumps(d).encode())))
def test_the_evidence_loader_refuses_with_the_file_named(raw: bytes) -> None:
    try:
        summarise_evidence(raw, "evidence.json")
    except ConfigError as error:
        rendered = error.message + "".join(p.render() for p in error.problems)
        assert "evidence.json" in rendered


STATEMENT = {"_type": "https://in-toto.io/Statement/v1", "subject": [],
             "predicateType": "https://promotion-bot.dev/promotion-record/v1",
             "predicate": {"record_version": 1, "merge": {"merged_at": "2026-03-01T00:00:00Z"}}}


@given(st.one_of(st.binary(max_size=200), mutated(STATEMENT).map(lambda d: json.dumps(d).encode())))
def test_a_record_payload_parses_or_is_a_record_error(raw: bytes) -> None:
    try:
        parse_statement(raw)
    except RecordError as error:
        assert str(error)  # says what is wrong; any other exception fails the test


KEY = generate_key()
IDENTITY = load_private_key(KEY.private_pem, "fuzz key")
TRUSTED = trusted_from_policy((SigningKey(KEY.keyid, KEY.public_pem, None, None, False),), "fuzz")


def envelope_of(payload: bytes, signed: bool) -> bytes:
    from promotion_bot.core.dsse import sign

    if signed:
        return sign(payload, IDENTITY.private_key, IDENTITY.keyid).to_json().encode()
    return json.dumps({"payload": payload.hex(), "payloadType": "x",
                       "signatures": [{"keyid": KEY.keyid, "sig": "AAAA"}]}).encode()


tag_messages = st.one_of(
    st.binary(max_size=200),
    st.builds(envelope_of, st.one_of(st.binary(max_size=100),
                                     mutated(STATEMENT).map(lambda d: json.dumps(d).encode())),
              st.booleans()),
)


@given(tag_messages, st.booleans())
def test_any_tag_is_judged_invalid_never_raised(message: bytes, annotated: bool) -> None:
    tag = TagRecord("promotion/CR-2026-0001", "b" * 40, annotated, "a" * 40, "commit", None,
                    message)
    judged = judge_tag(tag, TRUSTED, History(()))
    assert not judged.valid and judged.findings


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess

    root = tmp_path_factory.mktemp("fuzz") / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.one_of(yamlish.map(str.encode),
                     mutated(yaml.safe_load(POLICY_TEXT)).map(
                         lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8", "replace"))))
def test_validate_exits_0_1_or_2_and_names_the_policy(
    raw: bytes, repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = repository / ".promotion" / "policy.yaml"
    policy.parent.mkdir(exist_ok=True)
    policy.write_bytes(raw)
    code = main(["validate", "--repo", str(repository), ".promotion/policy.yaml"])
    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err
    if code != 0:
        assert ".promotion/policy.yaml" in captured.out + captured.err


FUZZ_TESTS = 11  # the property tests above, counted by the README's reliability section
