"""The strict loader: every scalar keeps the meaning a person reads in the file."""

from __future__ import annotations

import datetime as dt

import pytest

from promotion_bot.core.errors import InputError
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes


@pytest.mark.parametrize(("text", "value"), [
    ("a: '1.10'", "1.10"),
    ('a: "no"', "no"),
    ("a: 1.4.2", "1.4.2"),
    ("a: 12", 12),
    ("a: 1.5", 1.5),
    ("a: true", True),
    ("a: ~", None),
    ("a:", None),
    ("a: 0", 0),
    ("a: 0x1F", 31),
    ("a: 2026-01-02", dt.date(2026, 1, 2)),
    ("a: hello world", "hello world"),
    ("a: |\n  two\n  lines\n", "two\nlines\n"),
])
def test_scalars_resolve_as_yaml_1_2_core(text: str, value: object) -> None:
    assert load_yaml_bytes(text.encode(), "f.yaml").data == {"a": value}


def test_locations_point_at_values_and_keys() -> None:
    document = load_yaml_bytes(b"top:\n  list:\n    - x\n    - z: 1\n", "f.yaml")
    assert (document.locate(("top", "list", 1, "z")).line,
            document.locate(("top", "list", 1, "z")).column) == (4, 10)
    assert document.locate_key(("top", "list")).line == 2
    assert document.locate(("top", "missing", 3)).line == 2  # nearest existing ancestor


def test_alias_bomb_is_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    with pytest.raises(InputError, match="anchor &a is not allowed"):
        load_yaml_bytes(bomb.encode(), "bomb.yaml")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(InputError) as raised:
        load_yaml_bytes(("[" * 5000 + "]" * 5000).encode(), "deep.yaml")
    assert "deep.yaml" in raised.value.message


# --- libyaml's parser feeds the strict composer: the same documents, errors and locations ---

import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from promotion_bot.core.formats import strict_yaml  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "governed-repo"

# the characters and words YAML gives a meaning to, and a few it does not
YAML_PIECES = st.sampled_from([
    "a", "b", "key", ":", ": ", "- ", "-", " ", "  ", "\n", "\n  ", "\n- ", "'", '"', "[", "]",
    "{", "}", ",", "#", "&x ", "*x", "!", "!!str ", "|", ">", "?", "%YAML 1.2\n", "---\n",
    "...\n", "@", "`", "0", "1.10", "0755", "yes", "null", "~", "true", "2026-01-02", "\\",
    "é", "\u2028", "\x85", "\r\n", "1:30", "0x1F", ".inf", "<<", "\t", "? ", "|-", ">+", "|2",
    "- - ", "[a, b]", "{a: b}", "\n\n", " #c", "''", "\\n",
])
yaml_texts = st.one_of(
    st.lists(YAML_PIECES, max_size=30).map("".join),
    st.lists(YAML_PIECES, max_size=30).map(lambda pieces: "".join(pieces) + "\n"),
    st.sampled_from(sorted(p.read_text() for p in EXAMPLE.rglob("*.yaml"))).flatmap(
        lambda text: st.tuples(st.integers(0, len(text)), YAML_PIECES).map(
            lambda edit: text[: edit[0]] + edit[1] + text[edit[0]:]
        )
    ),
)


@contextlib.contextmanager
def pure_python() -> Iterator[None]:
    """Without libyaml: neither its events (the fast builder) nor its parser (the composer)."""
    saved = strict_yaml._CStrictLoader, strict_yaml._CParser
    strict_yaml._CStrictLoader = strict_yaml._CParser = None
    try:
        yield
    finally:
        strict_yaml._CStrictLoader, strict_yaml._CParser = saved


def _outcome(text: str) -> object:
    try:
        document = load_yaml_bytes(text.encode(), "f.yaml")
    except InputError as error:
        return ("error", error.message, error.problems)
    return ("document", repr(document.data), document.values, document.keys)


@pytest.mark.skipif(strict_yaml._CStrictLoader is None, reason="PyYAML without libyaml")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_texts)
def test_libyaml_and_the_pure_python_parser_read_every_text_alike(text: str) -> None:
    with_libyaml = _outcome(text)
    with pure_python():
        pure = _outcome(text)
    assert with_libyaml == pure


@pytest.mark.parametrize("text", [
    "a: (?i)x\n", "a: '(?P<v>x)'\n", "a: \"b\\\\b(d)?\\\\b\"\n", "[?a]\n", "{?a: b}\n", "[a, ?b]\n",
    "? a\n: b\n", "?a: b\n", "a: b?\n", "a: [b?, c]\n", "a: {b?: c}\n", "a: ?\n", "- ?x\n",
    "a: x?#c\n", "a:?b\n", "{a:?b}\n", "(?i)\n", "a: [xa?ay]\n", "a: {k: x(?i)y}\n",
])
def test_a_question_mark_reads_alike_through_both_parsers(text: str) -> None:
    assert _outcome(text) == _pure_outcome(text)


def _pure_outcome(text: str) -> object:
    with pure_python():
        return _outcome(text)


# a `?` libyaml found inside a quoted scalar or a comment: read from libyaml's events (a policy's
# "(?i)" pattern); any other `?` (an explicit key, a plain scalar's, a block scalar's, a text
# with a directive) sends the text to the pure-Python parser
@pytest.mark.skipif(strict_yaml._CParser is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize(("text", "through_libyaml"), [
    ('a: "(?i)x"\n', True),
    ("a: '(?P<v>x)'\n", True),
    ("a: ['x?', \"y?\"]\n", True),
    ("a: {'k?': \"?\"}\n", True),
    ("'?': x\n", True),
    ("a: 'it''s ?'\n", True),
    ('a: "\\"?"\n', True),
    ("a: 'x\n\n  ? y'\n", True),
    ('a: "x\n  ?y"\n', True),
    ("a: ['?'\n  , b]\n", True),
    ("a: b # why?\n", True),
    ("# ?\na: b\n", True),
    ("--- # ?\na: b\n", True),
    ("- '?' #?\n- \"#?\"\n", True),
    ("a: [x, # ?\n  z]\n", True),
    ("a: 'x' #'?'\n", True),
    ("a: >\n  x\n# ?\n", True),
    ("a: 'x'\u2028# ?\n", True),
    ("? a\n: b\n", False),
    ("? '?'\n: x\n", False),
    ("{? a}\n", False),
    ("[a?b]\n", False),
    ("a: [xa?ay]\n", False),
    ("a: b?\n", False),
    ("a: x#?\n", False),
    ('a: "?"#?\n', False),
    ("a: |\n  ?\n", False),
    ("a: |\n  x\n  # ?\n", False),
    ("%YAML 1.1\n--- # ?\na: b\n", False),
    ("# c\r%YAML 1.1\n--- # ?\na: b\n", False),
    ("a: &x '?'\n", False),
    ("a: '?' ?\n", False),
    ('a: "?\n', False),
])
def test_only_a_question_mark_in_quotes_or_a_comment_is_read_through_libyaml(
    text: str, through_libyaml: bool
) -> None:
    assert _outcome(text) == _pure_outcome(text)
    assert _read_through_libyaml(text) == through_libyaml


def _read_through_libyaml(text: str) -> bool:
    try:
        return strict_yaml._from_events(text, "f.yaml") is not None
    except strict_yaml._ReadByThePurePythonParser:
        return False


# libyaml places an empty value of a flow mapping at the `,` or `}` that follows it, PyYAML
# right after the `:`: such a text is read by the pure-Python parser
@pytest.mark.skipif(strict_yaml._CParser is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize(("text", "through_libyaml"), [
    ("{a: }\n", False),
    ("{a:  , b: c}\n", False),
    ("x: {a: # c\n  }\n", False),
    ("[a: ]\n", False),
    ("- [{a: }]\n", False),
    ("{a}\n", False),
    ("{a:}\n", False),
    ('{a: ""}\n', True),
    ("{a: []}\n", True),
    ("a:\n", True),
    ("- \n", True),
])
def test_an_empty_value_in_a_flow_mapping_is_placed_alike(text: str, through_libyaml: bool) -> None:
    assert _outcome(text) == _pure_outcome(text)
    assert _read_through_libyaml(text) == through_libyaml


# libyaml ends a tag at a flow indicator, PyYAML does not (`[!, a]` is [None, "a"] to one, the
# tag `!,` to the other): a text with a tag is read by the pure-Python parser
@pytest.mark.skipif(strict_yaml._CParser is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", [
    "[!, a]\n", "- [!,'']\n", "{a: !, b: c}\n", "[!]\n", "- !\n", "a: ! x\n", "! a: b\n",
    "a: !!str 1\n", "[!x, a]\n",
])
def test_a_tag_is_read_alike(text: str) -> None:
    assert _outcome(text) == _pure_outcome(text)
    assert not _read_through_libyaml(text)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _double_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def joined(pieces: list[str], max_size: int) -> st.SearchStrategy[str]:
    """Up to `max_size` of `pieces`, each picked alike, joined: what
    `st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)` draws (the same
    lengths, the same even pick of each piece), in one drawn text of stand-in characters instead
    of two draws per piece; Hypothesis's drawing was most of these tests' time."""
    stand_ins = {0xE000 + index: piece for index, piece in enumerate(pieces)}  # private use
    return st.text(alphabet="".join(map(chr, stand_ins)), max_size=max_size).map(
        lambda text: text.translate(stand_ins)
    )


# scalars holding `?` among the characters that end or open something elsewhere, quoted both
# ways (and sometimes not at all, or broken), in block and flow collections, beside comments
QUESTION_TEXT = joined(
    [*"a?#:,'\" -[]{}|>&*!%\\\n", "? ", " #", "\u2028", "\x85", "é"], max_size=10
)
QUOTED = st.one_of(QUESTION_TEXT.map(_single_quoted), QUESTION_TEXT.map(_double_quoted))
QUESTION_SCALARS = st.one_of(
    QUOTED,
    QUOTED,
    st.sampled_from(["x", "x?", "?x", "? x", "''", '""', "'?", '"?\\"', "|\n  ?", ">-\n  ?\n  ?"]),
    QUESTION_TEXT,
)
COMMENTS = st.one_of(st.just(""), QUESTION_TEXT.map(lambda text: " #" + text.replace("\n", "")))
INDENTS = st.sampled_from(["", " ", "\n  ", "\n"])


def _flow(items: list[tuple[str, str]], mapping: bool, indents: list[str]) -> str:
    parts = [f"{key}: {value}" if mapping else value for key, value in items]
    joined = ",".join(indent + part for indent, part in zip(indents, parts, strict=False))
    return ("{" if mapping else "[") + joined + ("}" if mapping else "]")


VALUES = st.one_of(
    QUESTION_SCALARS,
    st.builds(
        _flow,
        st.lists(st.tuples(QUESTION_SCALARS, QUESTION_SCALARS), max_size=3),
        st.booleans(),
        st.lists(INDENTS, min_size=3, max_size=3),
    ),
)
COMMENT_LINES = COMMENTS.map(lambda comment: comment.lstrip() + "\n")
question_mark_texts = st.one_of(
    st.lists(
        st.one_of(
            st.builds(lambda k, v, c: f"{k}: {v}{c}\n", QUESTION_SCALARS, VALUES, COMMENTS),
            COMMENT_LINES,
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(
        st.one_of(st.builds(lambda v, c: f"- {v}{c}\n", VALUES, COMMENTS), COMMENT_LINES),
        min_size=1,
        max_size=4,
    ),
).map("".join)


@pytest.mark.skipif(strict_yaml._CStrictLoader is None, reason="PyYAML without libyaml")
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question_mark_texts)
def test_libyaml_and_the_pure_python_parser_read_question_marks_alike(text: str) -> None:
    assert _outcome(text) == _pure_outcome(text)


@pytest.mark.parametrize("text", ["a: 1", "'a': \"x\"", "a: [1, '2', b]", "- x\n- z: null\n"])
def test_quoted_and_plain_scalars_are_told_apart_by_both_parsers(text: str) -> None:
    with_libyaml = load_yaml_bytes(text.encode(), "f.yaml")
    with pure_python():
        pure = load_yaml_bytes(text.encode(), "f.yaml")
    assert with_libyaml.values == pure.values and with_libyaml.data == pure.data
