"""Where a value sits in its file, and problems that point there (file:line:column, field).

The strict YAML loader records the locations as it reads; the schema layer and the document
rules only read them. Both depend on this module and not on each other, so explaining a schema
error never calls back into the loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from promotion_bot.core.errors import Problem

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Where a value (or a mapping key) sits in its file; 1-based."""

    line: int
    column: int
    source: str | None = None  # the scalar exactly as written, for "quote it" hints
    plain: bool = False  # written without quotes, so YAML chose its type


@dataclass
class LocatedDocument:
    """Data, and where every value and key came from (nothing, for JSON data: its problems
    name the field only)."""

    path: str
    data: Any
    values: dict[JsonPath, Location] = field(default_factory=dict)
    keys: dict[JsonPath, Location] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> Location:
        """The location of the value at `path`, or of its nearest ancestor that exists."""
        probe: JsonPath = tuple(path)
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Location(1, 1))

    def locate_key(self, path: Sequence[str | int]) -> Location:
        """Where the key of the entry at `path` is written (falls back to the value)."""
        return self.keys.get(tuple(path)) or self.locate(path)

    def problem(
        self, path: Sequence[str | int], message: str, *, hint: str | None = None, key: bool = False
    ) -> Problem:
        where = self.locate_key(path) if key else self.locate(path)
        return Problem(
            file=self.path,
            line=where.line,
            column=where.column,
            field=format_path(path) or None,
            message=message,
            hint=hint,
        )


def format_path(path: Sequence[str | int]) -> str:
    """`artifacts[0].sha256` style, the way a person would name the field."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
