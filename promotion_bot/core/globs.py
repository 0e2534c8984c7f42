"""Repository-relative glob patterns used by the policy (`*`, `**`, `?`, `[...]`). Pure.

Each pattern is translated once to a regular expression and compiled with RE2
(promotion_bot.core.patterns), so matching is linear in the path whatever the pattern
(`**/` thirteen times, `*a*a*a*b`). A pattern that cannot work (`[z-a]`, `[]`) is a
`GlobError`; the policy loader reports it with its file:line (`glob_problem`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from promotion_bot.core.patterns import LinearPattern, PatternError, compile_pattern

MAX_GLOB_CHARS = 1024


class GlobError(PatternError):
    """A glob that cannot be matched (exit 2 should one ever reach a command unvalidated)."""

    def __init__(self, pattern: str, reason: str) -> None:
        shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
        super().__init__(f"glob {shown!r}: {reason}")
        self.reason = reason


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable glob (None when it is)."""
    try:
        glob_to_regex(pattern)
    except GlobError as error:
        return error.message
    return None


@lru_cache(maxsize=4096)
def glob_to_regex(pattern: str) -> LinearPattern:
    """`*` and `?` stay inside one path segment; `**` spans any number of segments.

    A pattern that names a directory (`configs/` or `configs`) also matches everything below it,
    the way people expect "governed paths" to work.
    """
    try:
        return compile_pattern(_regex_source(pattern), dotall=True)
    except GlobError:
        raise
    except PatternError as error:
        raise GlobError(pattern, error.message) from None


def _regex_source(pattern: str) -> str:
    if len(pattern) > MAX_GLOB_CHARS:
        raise GlobError(pattern, f"longer than {MAX_GLOB_CHARS} characters")
    body = pattern.rstrip("/")
    out = ""
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            out += "(?:[^/]+/)*"
            index += 3
            while body.startswith("**/", index):  # `**/**/` is `**/`
                index += 3
        elif body.startswith("**", index):
            out += ".*"
            index += 2
        elif char == "*":
            out += "[^/]*"
            index += 1
        elif char == "?":
            out += "[^/]"
            index += 1
        elif char == "[":
            end = body.find("]", index + 1)
            if end == -1:
                out += re.escape(char)
                index += 1
            else:
                out += _bracket(pattern, body[index + 1 : end])
                index = end + 1
        else:
            out += re.escape(char)
            index += 1
    return f"^{out}(?:/.*)?\\z"


def _bracket(pattern: str, inner: str) -> str:
    negated = inner.startswith("!")
    members = inner[1:] if negated else inner
    if not members:
        raise GlobError(pattern, f"the character class [{inner}] is empty")
    for start, end in re.findall(r"(.)-(.)", members):
        if start > end:
            raise GlobError(
                pattern, f"the range {start}-{end} in [{inner}] is reversed (write {end}-{start})"
            )
    escaped = members.replace("\\", "\\\\").replace("[", "\\[")
    return f"[{'^' if negated else ''}{escaped}]"


def glob_match(pattern: str, path: str) -> bool:
    # every glob's expression starts with `^`: a search is a match
    return glob_to_regex(pattern).found_in(path)


@lru_cache(maxsize=1024)
def _any_of(patterns: tuple[str, ...]) -> LinearPattern | None:
    if not patterns:
        return None
    for pattern in patterns:
        glob_to_regex(pattern)  # a GlobError names the one pattern that is wrong
    return compile_pattern("|".join(f"(?:{_regex_source(p)})" for p in patterns), dotall=True)


def match_any(patterns: tuple[str, ...] | list[str], path: str) -> bool:
    """One RE2 search for all the patterns (they are alternatives of one expression)."""
    combined = _any_of(tuple(patterns))
    return combined is not None and combined.found_in(path)


__all__ = ["GlobError", "glob_match", "glob_problem", "glob_to_regex", "match_any"]
