"""Progress of long runs (audit, record catch-up, export) on a terminal, and only there: in CI
or when standard error is not a terminal, nothing is printed (logs stay readable)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

Progress = Callable[[int, int], None]


def progress_reporter(
    label: str, stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> Progress | None:
    """A callback `report(done, total)` drawing `label done/total` on one line of standard
    error, or None when nobody is watching (not a terminal, or $CI is set)."""
    out = stream if stream is not None else sys.stderr
    environment = os.environ if env is None else env
    if environment.get("CI") or not _is_terminal(out):
        return None
    shown: dict[str, int] = {}

    def report(done: int, total: int) -> None:
        step = max(1, total // 100)
        if "last" in shown and done != total and done - shown["last"] < step:
            return
        shown["last"] = done
        out.write(f"\r{label}: {done}/{total}")
        if done >= total:
            out.write("\r" + " " * (len(label) + 2 + 2 * len(str(total)) + 1) + "\r")
        out.flush()

    return report


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
