"""The bounded JSON reader: every JSON document the bot reads goes through `parse_json`.

Python's `json` module trusts its input: 100,000 nested arrays exhaust the recursion limit, an
integer of more than 4,300 digits raises a bare ValueError, `NaN` and `1e999` are accepted, a
duplicate key silently keeps the last value, and `"\\ud800"` yields a string that cannot be
printed. Snapshots, evidence, record payloads and tags are written by people and tools the bot
does not trust, so each of these is refused here with a `JsonError` that says where, before
any code reads the data.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from promotion_bot.core.errors import Problem

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 64


class JsonError(ValueError):
    """The bytes are not a JSON document within the bounds; `line`/`column` when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def problem(self, display_path: str, hint: str | None = None) -> Problem:
        return Problem(
            file=display_path,
            line=self.line,
            column=self.column,
            message=self.message,
            hint=hint,
        )


def parse_json(
    raw: bytes | str,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The document in `raw` (UTF-8): unique keys, finite numbers of bounded length, nesting
    of at most `max_depth` levels, strings that are valid Unicode. JsonError otherwise."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise JsonError(f"larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonError(f"not UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as error:
        raise JsonError(f"not valid JSON: {error.msg}", error.lineno, error.colno) from None
    except RecursionError:
        raise JsonError(f"nested deeper than {max_depth} levels") from None
    except _Refused as error:
        raise JsonError(str(error)) from None
    if _SURROGATE_ESCAPE.search(text):
        _check_tree(value, max_depth)  # the strings need looking at one by one
    else:
        _check_depth(text, max_depth)
    return value


# A string decoded from UTF-8 holds no surrogate: only a `\\uD800`-`\\uDFFF` escape makes one
# (a valid pair becomes one character). Without such an escape, only the depth is left to
# check, and it can be read from the text once the strings are taken out.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _check_depth(text: str, max_depth: int) -> None:
    """What `_check_tree` checks, for a document whose strings are known to be good."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonError(f"nested deeper than {max_depth} levels")
        else:
            depth -= 1


class _Refused(Exception):
    """Raised inside the decoder's hooks (json.loads lets it through unchanged)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Refused(f"duplicate key {_short(key)}")
        seen.add(key)
    return result  # pragma: no cover - a shorter dict means a key came twice


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text} is out of range")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


def _check_tree(value: Any, max_depth: int) -> None:
    """Depth and string checks without recursion (the document may be anything)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise JsonError(f"nested deeper than {max_depth} levels")
            for key, child in item.items():
                _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise JsonError(f"nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError(
            f"the string {_short(text)} holds an unpaired surrogate (not valid Unicode)"
        ) from None


def _short(text: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return ascii(shown)


__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "JsonError", "parse_json"]
