"""The bounded JSON reader's quick checks (depth read from the text, strings only looked at
when an escape could make a surrogate) refuse exactly what the full walk of the tree does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promotion_bot.core.formats import bounded_json
from promotion_bot.core.formats.bounded_json import JsonError, parse_json

tricky_text = st.text(
    alphabet=st.sampled_from(['[', ']', '{', '}', '"', "\\", "a", ":", ",", " ", "é", "\ud800"]),
    max_size=6,
)
documents = st.recursive(
    st.one_of(st.none(), st.integers(-5, 5), tricky_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(tricky_text, inner, max_size=3)
    ),
    max_leaves=8,
)


def _nested(levels: int, leaf: Any) -> Any:
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def _outcome(text: str, max_depth: int) -> object:
    try:
        value = parse_json(text.encode("utf-8", "surrogatepass"), max_depth=max_depth)
    except JsonError as error:
        return ("refused", error.message.split(" (")[0][:20])
    return ("read", value)


@settings(max_examples=400, deadline=None)
@given(documents, st.integers(0, 6), st.booleans(), st.integers(1, 8))
def test_the_quick_checks_refuse_exactly_what_the_full_walk_refuses(
    document: Any, extra_levels: int, ascii_only: bool, max_depth: int
) -> None:
    text = json.dumps(_nested(extra_levels, document), ensure_ascii=ascii_only)
    quick = _outcome(text, max_depth)
    saved = bounded_json._SURROGATE_ESCAPE
    bounded_json._SURROGATE_ESCAPE = re.compile("")  # matches every text: the full walk
    try:
        walked = _outcome(text, max_depth)
    finally:
        bounded_json._SURROGATE_ESCAPE = saved
    assert quick == walked


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', None),
        ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        ("[" * 64 + "]" * 64, None),
        ('{"a": "\\ud83d\\ude00"}', None),
        ('{"a": "\\ud83d"}', "unpaired surrogate"),
        ('{"a": "\\\\ud83d"}', None),
    ],
    ids=["brackets-in-a-string", "65-levels", "64-levels", "surrogate-pair", "lone-surrogate",
         "escaped-backslash"],
)
def test_depth_and_surrogates(text: str, refused: str | None) -> None:
    if refused is None:
        parse_json(text)
    else:
        with pytest.raises(JsonError, match=refused):
            parse_json(text)
