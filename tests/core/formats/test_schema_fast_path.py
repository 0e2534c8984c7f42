"""The compiled schema validator (fastjsonschema) and jsonschema accept and reject the same
documents, so the fast path can never let through what the located report would refuse."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotion_bot.adapters.files import load_yaml_file
from promotion_bot.core.formats import schemas
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes
from promotion_bot.core.records import build_statement
from tests.core.test_evidence import check, evidence
from tests.core.test_records import inputs

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "governed-repo"


def _snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLE / "snapshots" / "approved.json").read_text())
    return data


def _seeds() -> dict[str, list[Any]]:
    change_requests = [
        load_yaml_file(path).data for path in sorted((EXAMPLE / "change-requests").glob("*.yaml"))
    ]
    record = build_statement(inputs(snapshot=_snapshot()))["predicate"]
    return {
        "change-request": change_requests,
        "pr-snapshot": [_snapshot()],
        "promotion-record": [record],
        "policy": [load_yaml_file(EXAMPLE / ".promotion" / "policy.yaml").data],
        "evidence": [evidence([check(), check("pack-verify", "failed")])],
    }


SEEDS = _seeds()


# jsonschema's answer, kept for a document asked about again: about a quarter of the generated
# documents are repeats, mostly an unchanged seed (the slowest to walk). The repr of a JSON-like
# value tells apart everything a schema does (1, 1.0 and True; a string and a number).
_JSONSCHEMA_ANSWERS: dict[tuple[str, str], bool] = {}


def jsonschema_accepts(name: str, data: Any) -> bool:
    key = (name, repr(data))
    if key not in _JSONSCHEMA_ANSWERS:
        errors = schemas._validator(name).iter_errors(data)
        _JSONSCHEMA_ANSWERS[key] = not any(True for _ in errors)
    return _JSONSCHEMA_ANSWERS[key]


def fast_accepts(name: str, data: Any) -> bool:
    validate = schemas.fast_validator(name)
    assert validate is not None
    try:
        validate(data)
    except Exception as error:
        assert type(error).__name__ == "JsonSchemaValueException", error
        return False
    return True


# values that sit on the edges of the keywords the schemas use: types (1 vs 1.0 vs True),
# patterns (a trailing newline, Unicode digits and spaces), lengths, formats (regex), nesting
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1.0, 1.5, -1.0, 1e300]),
    st.sampled_from(
        [
            "",
            " ",
            "a" * 40,
            "a" * 40 + "\n",
            "b" * 64,
            "b" * 64 + "\n",
            "\u0661\u0662",
            "x\u00a0y",
            "\x1c",
            "CR-2026-0001",
            "CR-2026-0001\n",
            "1.2.0",
            "ruleset",
            "passed",
            "APPROVED",
            "User",
            "[unclosed",
            "(?P<version>x)",
            "{output}",
            "2026-03-01T12:00:00Z",
            "not a date",
            "@example-org/promotion-admins",
            "example-org/promotion-admins",
            "../escape",
            "latest",
            "image:1.2.3",
            "-----BEGIN PUBLIC KEY-----\nx\n",
        ]
    ),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


# small edits of a valid string, where patterns and lengths draw their lines
EDITS = [
    lambda text: text + "\n",
    lambda text: "\n" + text,
    lambda text: text + " ",
    lambda text: text[:-1],
    lambda text: text[1:],
    lambda text: text.upper(),
    lambda text: text + text,
    lambda text: text + "$",
    lambda text: text + "\u0661",
    lambda text: "",
]


def _paths(node: Any, prefix: tuple[Any, ...] = (), found: list[Any] | None = None) -> list[Any]:
    """Every path into `node`, the node's own first (depth first, in document order)."""
    if found is None:
        found = []
    found.append(prefix)
    if isinstance(node, dict):
        for key, value in node.items():
            _paths(value, (*prefix, key), found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _paths(value, (*prefix, index), found)
    return found


def _copied(node: Any) -> Any:
    """A deep copy of a JSON-like tree (no container is shared within one, so deepcopy's
    memo has nothing to keep), at a fraction of copy.deepcopy's cost."""
    if isinstance(node, dict):
        return {key: _copied(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copied(value) for value in node]
    return node


# the strategies the mutation draws from, built once: a strategy built inside `mutated` is
# built, validated and labelled again for every draw (the same labels, at a higher cost)
SEED_CHOICES = {name: st.sampled_from(seeds) for name, seeds in SEEDS.items()}
SEED_PATH_CHOICES = {
    id(seed): st.sampled_from(_paths(seed)) for seeds in SEEDS.values() for seed in seeds
}
MUTATION_COUNTS = st.integers(min_value=1, max_value=3)
ACTIONS = st.sampled_from(["edit", "replace", "delete", "add", "duplicate"])
EDIT_CHOICES = st.sampled_from(EDITS)
ADDED_KEYS = st.sampled_from(["extra", "approvals", "with", "run", "x"])


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    seed = draw(SEED_CHOICES[name])
    document = _copied(seed)
    for mutation in range(draw(MUTATION_COUNTS)):
        # the first mutation meets the seed as it is: its paths were listed once
        path = draw(
            SEED_PATH_CHOICES[id(seed)] if mutation == 0 else st.sampled_from(_paths(document))
        )
        if not path:
            continue
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(ACTIONS)
        if action == "edit" and isinstance(parent[key], str):
            parent[key] = draw(EDIT_CHOICES)(parent[key])
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(ADDED_KEYS)] = draw(values)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(_copied(parent[key]))
    return document


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_the_seed_documents_are_valid_for_both_validators(name: str) -> None:
    for seed in SEEDS[name]:
        assert jsonschema_accepts(name, seed) and fast_accepts(name, seed)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_both_validators_accept_and_reject_the_same_documents(name: str) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(name))
    def agree(document: Any) -> None:
        assert fast_accepts(name, document) == jsonschema_accepts(name, document), document

    agree()


@pytest.mark.parametrize("name", schemas.SCHEMA_NAMES)
def test_every_keyword_of_every_schema_is_checked_by_the_compiled_validator(name: str) -> None:
    assert schemas.unsupported_keywords(schemas.load_schema(name)) == set(), (
        "the compiled validator would skip these keywords; check that fastjsonschema "
        "implements them as JSON Schema 2020-12 does, then add them to FAST_PATH_KEYWORDS"
    )
    assert schemas.fast_validator(name) is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"artifacts": [{"path": "a.json", "sha256": "b" * 64 + "\n"}]}, "artifacts[0].sha256"),
        ({"change_id": "CR-2026-0001\n"}, "change_id"),
        ({"proposed_version": 1.1}, "proposed_version"),
        ({"approvals": ["rita"]}, "approvals"),
    ],
    ids=["hash-with-trailing-newline", "id-with-trailing-newline", "number-version", "approvals"],
)
def test_a_document_the_fast_path_rejects_gets_the_located_report(
    change: dict[str, Any], field: str
) -> None:
    document = load_yaml_bytes(
        (EXAMPLE / "change-requests" / "CR-2026-0001.yaml").read_bytes(), "CR-2026-0001.yaml"
    )
    document.data = {**document.data, **change}
    assert not fast_accepts("change-request", document.data)
    problems = schemas.validate_document("change-request", document)
    assert [p.field for p in problems] == [field]
    assert problems[0].line is not None


@pytest.mark.parametrize(
    "change_id", ["CR-2026-0042\n", "cr-2026-0042", "CR-2026-42"], ids=["newline", "case", "short"]
)
def test_a_records_change_request_is_held_to_the_change_request_schema(change_id: str) -> None:
    # the change request inside a record is a `$ref` into another schema: its patterns are
    # RE2's there too (Python's `re` would take "CR-2026-0042\n" for "CR-2026-0042")
    record = copy.deepcopy(SEEDS["promotion-record"][0])
    record["change_request"]["content"]["change_id"] = change_id
    assert not jsonschema_accepts("promotion-record", record)
    assert not fast_accepts("promotion-record", record)
    problems = schemas.validate_data("promotion-record", record, "predicate")
    assert [p.field for p in problems] == ["change_request.content.change_id"]


def test_a_valid_document_never_loads_jsonschema() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path\n"
        "from promotion_bot.core.formats.documents import load_change_request\n"
        f"path = Path({str(EXAMPLE / 'change-requests' / 'CR-2026-0001.yaml')!r})\n"
        "loaded = load_change_request(path.read_bytes(), 'change-requests/CR-2026-0001.yaml')\n"
        "assert loaded.value is not None, loaded.problems\n"
        "print('jsonschema' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("name", schemas.FAST_PATH_SCHEMAS)
def test_the_compiled_validator_matches_patterns_with_re2_as_jsonschema_does(name: str) -> None:
    # Python's backtracking `re` takes minutes on some pull-request content (a model
    # identifier built to backtrack): every pattern of the generated code is the RE2 one
    validate = schemas.fast_validator(name)
    assert validate is not None
    compiled = getattr(validate, "func", validate).__globals__["REGEX_PATTERNS"]
    assert compiled, "the schema has patterns"
    assert all(type(p.pattern).__name__ == "LinearPattern" for p in compiled.values())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["^[0-9a-f]{40}$", "\\S", "(?i)(^|[:/@-])(latest|main)$", "é.b", "^$", "a|"]),
    st.text(alphabet=st.sampled_from(["a", "0", "f", "é", "b", " ", "\n", "L", ":", "\ud800"])),
)
def test_found_in_answers_as_search_does(pattern: str, text: str) -> None:
    from promotion_bot.core.patterns import compile_pattern

    compiled = compile_pattern(pattern)
    assert compiled.found_in(text) == (compiled.search(text) is not None)
