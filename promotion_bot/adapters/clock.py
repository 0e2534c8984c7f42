"""The one real clock. Code that needs the time takes a clock argument (tests pass their own);
commands pass this one."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
