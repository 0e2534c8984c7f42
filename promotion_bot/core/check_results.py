"""What one required check produced, as the evidence records it: status, output digest, tail.

The check runner (promotion_bot.adapters.check_runner) and the built-in checks produce these;
the evidence document (promotion_bot.core.evidence) is made of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promotion_bot.core.errors import format_location

TAIL_LINES = 20
TAIL_CHARS = 4000

PASSED = "passed"
FAILED = "failed"
TIMEOUT = "timeout"
ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One thing a built-in check found wrong, located as file:line:column when it can be."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    rule: str | None = None

    def location(self) -> str:
        return format_location(self.file, self.line, self.column)

    def render(self) -> str:
        rule = f"[{self.rule}] " if self.rule else ""
        return f"{self.location()}: {rule}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class OutputFile:
    """A captured output: where it is (relative to the output folder), digest, size, tail."""

    file: str
    sha256: str
    size: int
    tail: str

    @classmethod
    def of_bytes(cls, file: str, data: bytes) -> OutputFile:
        return cls(file=file, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                   tail=tail_text(data))


def tail_text(data: bytes, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    text = data.decode("utf-8", "replace")
    kept = "\n".join(text.rstrip("\n").split("\n")[-lines:])
    return kept[-chars:]


@dataclass(frozen=True)
class CheckResult:
    """One required check as the evidence records it."""

    name: str
    kind: str  # command | builtin
    result: str  # passed | failed | timeout | error
    reason: str
    started_at: dt.datetime
    duration: float
    required_by: tuple[str, ...] = ()
    builtin: str | None = None
    command: tuple[str, ...] | None = None
    exit_code: int | None = None
    output: OutputFile | None = None
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def passed(self) -> bool:
        return self.result == PASSED
