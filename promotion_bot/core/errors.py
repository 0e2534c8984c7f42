"""Expected failures and located problems.

Every failure a user can cause ends in one of these, never in a traceback. `Problem` is the
unit of a report: where (file, line, column), which field, what is wrong and what to do.
Commands collect problems across all inputs and report them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REJECTED = 1  # the input was read and judged: it does not pass
    USAGE = 2  # the command could not judge: bad usage, configuration or environment


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    field: str | None = None
    hint: str | None = None

    def location(self) -> str:
        return format_location(self.file, self.line, self.column)

    def render(self) -> str:
        text = f"{self.location()}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


def format_location(file: str, line: int | None, column: int | None) -> str:
    """file, file:line or file:line:column, as editors and CI annotations read them."""
    where = file
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    return where


class PromotionBotError(Exception):
    """An expected failure: rendered as a one-line message, mapped to an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems or [])


class ConfigError(PromotionBotError):
    """The policy, CODEOWNERS, a snapshot or the environment cannot be used (exit 2)."""

    exit_code = ExitCode.USAGE


class RejectedError(PromotionBotError):
    """The input was judged and does not pass (exit 1)."""

    exit_code = ExitCode.REJECTED


class InputError(PromotionBotError):
    """A file the user wrote cannot be read as the format requires (located problems, exit 1)."""

    exit_code = ExitCode.REJECTED


class GitError(PromotionBotError):
    """A git command failed; the message carries the command and git's own words."""

    exit_code = ExitCode.USAGE
