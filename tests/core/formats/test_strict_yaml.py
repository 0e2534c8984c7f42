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
