"""Linear-time regular expressions for every pattern the bot did not write itself. Pure.

Python's `re` backtracks: `(a+)+$` against 30 a's and a b, a CODEOWNERS rule `*a*a*a*a*b`
against a long file name, or the schema's model-identifier pattern against `m:1.1.1...!`
take minutes. Patterns from the policy (template rules, version markers), globs from the
policy and CODEOWNERS, and the schemas' `pattern` keywords applied to pull-request content
are therefore compiled with RE2 (google-re2), whose matching time is linear in the text.
RE2 has no lookarounds and no backreferences; a pattern that needs them is refused when the
policy loads, with its location.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import re2

from promotion_bot.core.errors import ConfigError

MAX_PATTERN_CHARS = 4096


class Match(Protocol):
    def start(self, group: int = ...) -> int: ...

    def group(self, group: int | str = ...) -> Any: ...

    def groupdict(self) -> dict[str, Any]: ...


class PatternError(ConfigError):
    """A pattern that cannot be compiled (exit 2 if it ever reaches a command unvalidated)."""


@dataclass(frozen=True)
class LinearPattern:
    """A compiled RE2 pattern with the `re` methods the bot uses."""

    pattern: str
    _compiled: Any

    def search(self, text: str) -> Match | None:
        try:
            found: Match | None = self._compiled.search(text)
        except UnicodeEncodeError:
            found = self._compiled.search(_encodable(text))
        return found

    def found_in(self, text: str) -> bool:
        """`search(text) is not None`, without building a match object: RE2 answers from the
        UTF-8 bytes (the wrapper's offset mapping costs more than the match itself)."""
        if _RAW_MATCH is None:
            return self.search(text) is not None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = _encodable(text).encode("utf-8")
        spans = self._compiled._regexp.Match(_RAW_MATCH, data, 0, len(data))
        return bool(spans[0][0] >= 0)

    def match(self, text: str) -> Match | None:
        try:
            found: Match | None = self._compiled.match(text)
        except UnicodeEncodeError:
            found = self._compiled.match(_encodable(text))
        return found

    def finditer(self, text: str) -> Iterator[Match]:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _encodable(text)
        found: Iterator[Match] = self._compiled.finditer(text)
        return found


def _encodable(text: str) -> str:
    """A path git gave us with bytes that are not UTF-8 (decoded with surrogateescape): each
    such byte becomes U+FFFD, one character for one, so positions and `*` still match."""
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


def _raw_match_anchor() -> Any:
    """google-re2's own unanchored mode for its compiled RE2 object, when this version of the
    wrapper has them (else `found_in` goes through `search`)."""
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    probe = re2.compile("b")
    if anchor is None or not hasattr(probe, "_regexp"):
        return None
    try:
        found = probe._regexp.Match(anchor, b"ab", 0, 2)
        missed = probe._regexp.Match(anchor, b"a", 0, 1)
    except (AttributeError, TypeError):
        return None
    return anchor if found[0] == (1, 2) and missed[0][0] < 0 else None


_RAW_MATCH = _raw_match_anchor()


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own copy of every error to stderr
    return options


_OPTIONS = _options()


@lru_cache(maxsize=4096)
def compile_pattern(
    pattern: str, *, multiline: bool = False, dotall: bool = False
) -> LinearPattern:
    """The RE2 form of `pattern`; PatternError says why it cannot be compiled."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    flags = ("m" if multiline else "") + ("s" if dotall else "")
    source = f"(?{flags}){pattern}" if flags else pattern
    try:
        return LinearPattern(pattern, re2.compile(source, _OPTIONS))
    except re2.error as error:
        raise PatternError(_reason(error)) from None
    except (TypeError, ValueError) as error:
        raise PatternError(str(error)) from None


def pattern_problem(pattern: str, *, multiline: bool = False) -> str | None:
    """Why `pattern` cannot be used (None when it compiles)."""
    try:
        compile_pattern(pattern, multiline=multiline)
    except PatternError as error:
        return error.message
    return None


def _reason(error: Exception) -> str:
    text = error.args[0] if error.args else str(error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    if "invalid perl operator" in text or "invalid escape sequence: \\\\" in text:
        text += " (lookarounds and backreferences are not supported: RE2 matches in linear time)"
    return text


__all__ = [
    "MAX_PATTERN_CHARS",
    "LinearPattern", "Match", "PatternError", "compile_pattern", "pattern_problem"]
