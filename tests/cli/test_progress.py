"""Progress of long runs: drawn on a terminal, silent in CI and when output is not a terminal."""

from __future__ import annotations

import io

import pytest

from promotion_bot.cli.progress import progress_reporter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "env", "draws"),
    [
        (Terminal(), {}, True),
        (Terminal(), {"CI": "true"}, False),
        (io.StringIO(), {}, False),
    ],
    ids=["terminal", "terminal-in-ci", "pipe"],
)
def test_progress_only_on_a_terminal_outside_ci(stream: io.StringIO, env: dict[str, str], draws: bool) -> None:
    report = progress_reporter("audit", stream, env)
    assert (report is not None) == draws
    if report is not None:
        for done in range(1, 1001):
            report(done, 1000)
        text = stream.getvalue()
        assert "audit: 1/1000" in text and "audit: 1000/1000" in text
        assert text.count("\r") < 250  # throttled: about one redraw per percent
        assert text.endswith("\r")  # the line is cleared at the end
