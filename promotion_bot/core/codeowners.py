"""CODEOWNERS with GitHub's semantics. Pure: parse text, answer "who owns this path".

GitHub's rules (docs: "About code owners"):
- the file is read from the base branch; GitHub looks in `.github/`, the root, then `docs/`
  and uses the first it finds (`CODEOWNERS_LOCATIONS`);
- one rule per line: a gitignore-style pattern, then zero or more owners (`@user`,
  `@org/team`, or an e-mail address); `#` starts a comment (also after the owners);
- the LAST matching rule wins, and a rule with no owners leaves the path unowned;
- unlike gitignore: no `!` negation, no `[ ]` ranges, and `\\#` does not escape a comment.

We refuse every line GitHub would flag instead of skipping it: a rule that silently does not
apply could hand a governed path to the wrong owners, so a doubtful file is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from promotion_bot.core.patterns import (
    MAX_PATTERN_CHARS,
    LinearPattern,
    PatternError,
    compile_pattern,
)

# GitHub's search order for the CODEOWNERS file on a branch.
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_CODEOWNERS_BYTES = 3 * 1024 * 1024  # GitHub ignores larger files

_USER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class CodeownersProblem:
    line: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Rule:
    line: int
    pattern: str
    owners: tuple[str, ...]

    @cached_property
    def regex(self) -> LinearPattern:
        return pattern_to_regex(self.pattern)

    def matches(self, path: str) -> bool:
        return self.regex.found_in(path)


@dataclass(frozen=True)
class Ownership:
    """The owners of one path: the winning rule (None: no rule matches, the path is unowned)."""

    path: str
    rule: Rule | None

    @property
    def owners(self) -> tuple[str, ...]:
        return self.rule.owners if self.rule else ()

    @property
    def line(self) -> int | None:
        return self.rule.line if self.rule else None

    @property
    def pattern(self) -> str | None:
        return self.rule.pattern if self.rule else None


@dataclass(frozen=True)
class Codeowners:
    path: str
    rules: tuple[Rule, ...]
    problems: tuple[CodeownersProblem, ...] = ()

    def owners_for(self, path: str) -> Ownership:
        """Last matching rule wins (GitHub); `path` is repository-relative, no leading slash."""
        for rule in reversed(self.rules):
            if rule.matches(path):
                return Ownership(path, rule)
        return Ownership(path, None)


def same_owner(first: str, second: str) -> bool:
    """GitHub logins, organisations and team slugs are case-insensitive."""
    return first.casefold() == second.casefold()


def parse_codeowners(text: str, path: str = "CODEOWNERS") -> Codeowners:
    """Every rule and every problem (with its line); rules with problems are left out.

    Cached by content: an audit re-evaluates every merge against the few CODEOWNERS versions
    of the history (the result is immutable)."""
    return _parse_codeowners(text, path)


@lru_cache(maxsize=64)
def _parse_codeowners(text: str, path: str) -> Codeowners:
    rules: list[Rule] = []
    problems: list[CodeownersProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = _tokens(raw)
        if not tokens:
            continue
        pattern, *owners = tokens
        found = _pattern_problems(number, pattern) + _owner_problems(number, owners)
        if found:
            problems.extend(found)
            continue
        rules.append(Rule(number, pattern, tuple(owners)))
    return Codeowners(path, tuple(rules), tuple(problems))


def _tokens(line: str) -> list[str]:
    """Split on unescaped whitespace; drop `#` comments (a whole line, or after a space)."""
    tokens: list[str] = []
    current = ""
    index = 0
    stripped = line.strip()
    while index < len(stripped):
        char = stripped[index]
        if char == "\\" and index + 1 < len(stripped):
            current += stripped[index : index + 2]
            index += 2
            continue
        if char.isspace():
            if current:
                tokens.append(current)
                current = ""
        elif char == "#" and not current:
            break
        else:
            current += char
        index += 1
    if current:
        tokens.append(current)
    return tokens


def _pattern_problems(line: int, pattern: str) -> list[CodeownersProblem]:
    if pattern.startswith("\\#"):
        return [
            CodeownersProblem(
                line,
                f"pattern {pattern!r}: GitHub does not support escaping '#' in CODEOWNERS",
                "rename the file, or match it with a wildcard such as ?file",
            )
        ]
    if pattern.startswith("!"):
        return [
            CodeownersProblem(
                line,
                f"pattern {pattern!r}: negation ('!') is not supported by GitHub",
                "write a later rule with the owners the path should have, or none",
            )
        ]
    unescaped = re.sub(r"\\.", "", pattern)
    if "[" in unescaped or "]" in unescaped:
        return [
            CodeownersProblem(
                line,
                f"pattern {pattern!r}: character ranges ('[ ]') are not supported by GitHub",
                "list the paths separately, or escape the bracket with a backslash",
            )
        ]
    if pattern.endswith("\\"):
        return [CodeownersProblem(line, f"pattern {pattern!r} ends with a lone backslash")]
    if len(pattern) > MAX_PATTERN_CHARS:
        return [
            CodeownersProblem(
                line, f"pattern {pattern[:40]!r}... is longer than {MAX_PATTERN_CHARS} characters"
            )
        ]
    try:
        pattern_to_regex(pattern)  # compiled once here; a rule that cannot match is an error
    except PatternError as error:
        return [CodeownersProblem(line, f"pattern {pattern!r}: {error.message}")]
    return []


def _owner_problems(line: int, owners: list[str]) -> list[CodeownersProblem]:
    return [
        CodeownersProblem(
            line,
            f"owner {owner!r} is not a @user, @org/team or e-mail address",
            "write owners as @login or @org/team-name; put comments after '#'",
        )
        for owner in owners
        if not (_USER.match(owner) or _TEAM.match(owner) or _EMAIL.match(owner))
    ]


def pattern_to_regex(pattern: str) -> LinearPattern:
    """A gitignore-style CODEOWNERS pattern as a regex searched in a repository path.

    - a `/` at the start or in the middle anchors the pattern at the repository root;
      otherwise it matches at any depth;
    - a trailing `/` matches a directory's contents only; without it the pattern matches a
      file of that name or everything below a directory of that name;
    - a trailing `/*` matches the directory's direct children only;
    - `*` and `?` stay within one path segment; `**/` at the start, `/**/` inside and `/**`
      at the end span any number of segments; `\\x` is a literal x.
    """
    directory_only = pattern.endswith("/") and not pattern.endswith("\\/")
    body = pattern.strip("/") if directory_only else pattern.lstrip("/")
    anchored = pattern.startswith("/") or "/" in body
    children_only = body.endswith("/*") and not body.endswith("\\/*")

    out = r"\A" if anchored else r"(?:\A|/)"
    index = 0
    while index < len(body):
        char = body[index]
        at_segment_start = index == 0 or body[index - 1] == "/"
        if char == "\\" and index + 1 < len(body):
            out += re.escape(body[index + 1])
            index += 2
        elif body.startswith("**", index) and at_segment_start:
            end = index + 2
            if end == len(body):
                out += ".*"  # `dir/**`: everything inside
                index = end
            elif body[end] == "/":
                out += "(?:[^/]*/)*"  # `**/` zero or more directories
                index = end + 1
            else:
                out += "[^/]*"  # `**x` is just a wildcard within a segment
                index = end
        elif char == "*":
            out += "[^/]*"
            index += 1
        elif char == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(char)
            index += 1

    if directory_only:
        out += "/"
    elif children_only:
        out += r"\z"
    else:
        out += r"(?:\z|/)"
    # RE2: matching is linear in the path whatever the pattern (`*a*a*a*a*b` included)
    return compile_pattern(out, dotall=True)
