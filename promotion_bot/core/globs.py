"""Repository-relative glob patterns used by the policy (`*`, `**`, `?`, `[...]`). Pure."""

from __future__ import annotations

import re
from functools import cache


@cache
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay inside one path segment; `**` spans any number of segments.

    A pattern that names a directory (`configs/` or `configs`) also matches everything below it,
    the way people expect "governed paths" to work.
    """
    body = pattern.rstrip("/")
    out = ""
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            out += "(?:[^/]+/)*"
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
                inner = body[index + 1 : end].replace("\\", "\\\\")
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out += f"[{inner}]"
                index = end + 1
        else:
            out += re.escape(char)
            index += 1
    return re.compile(f"^{out}(?:/.*)?$")


def glob_match(pattern: str, path: str) -> bool:
    return glob_to_regex(pattern).match(path) is not None


def match_any(patterns: tuple[str, ...] | list[str], path: str) -> bool:
    return any(glob_match(pattern, path) for pattern in patterns)
