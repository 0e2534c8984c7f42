"""The README's sample outputs are what `promotion-bot demo` prints.

A sample is a fenced block right after a marker naming one or more of the demo's commands:

    <!-- demo:status,verify -->
    ```text
    $ promotion-bot status
    ...
    ```

Its body is those commands' console transcripts (`CommandRun.console()`), one after the other.
`normalise` removes what differs between two runs of the demo and nothing else: the demo's
folder, commit SHAs, key ids and digests (numbered in order of appearance, so the same SHA must
appear in the same places), times and durations, and the change ids (their year is the year the
demo runs in; numbered in order of appearance too).

tests/test_readme.py compares; `python -m tests.regenerate_readme` rewrites the samples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.flows.demo import DemoResult

README = Path(__file__).resolve().parent.parent / "README.md"
SAMPLE = re.compile(
    r"^<!-- demo:(?P<keys>[a-z0-9,-]+) -->\n(?P<fence>```[a-z]*\n)(?P<body>.*?)^```$",
    re.M | re.S,
)
DEMO_FOLDER = re.compile(r"(?:/[^\s/'\"`]+)*/promotion-bot-demo-[^\s/'\"`]+")
TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?Z?)?)?")
DURATION = re.compile(r"\b\d+\.\d+ s\b")
HEX = re.compile(r"\b(?=[0-9a-f]*[0-9])[0-9a-f]{7,64}\b")
CHANGE_ID = re.compile(r"\bCR-\d{4}-\d{4}\b")


@dataclass(frozen=True)
class Sample:
    keys: tuple[str, ...]
    body: str
    start: int  # of the body in the README's text
    end: int
    line: int  # of the marker, for messages


def samples(text: str) -> list[Sample]:
    return [
        Sample(
            tuple(match["keys"].split(",")),
            match["body"],
            match.start("body"),
            match.end("body"),
            text.count("\n", 0, match.start()) + 1,
        )
        for match in SAMPLE.finditer(text)
    ]


def transcript(result: DemoResult, keys: tuple[str, ...]) -> str:
    return "".join(result.run(key).console() for key in keys)


def normalise(text: str) -> str:
    text = DEMO_FOLDER.sub("<demo>", text)
    text = TIME.sub("<time>", text)
    text = DURATION.sub("<seconds>", text)
    text = _numbered(HEX, "hex")(text)
    text = _numbered(CHANGE_ID, "CR")(text)
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _numbered(pattern: re.Pattern[str], name: str) -> Callable[[str], str]:
    def replace(text: str) -> str:
        seen: dict[str, str] = {}
        return pattern.sub(
            lambda match: seen.setdefault(match.group(0), f"<{name}{len(seen) + 1}>"), text
        )

    return replace


def regenerate(text: str, result: DemoResult) -> str:
    """`text` with every sample that differs from what the demo printed (once normalised)
    replaced by it; the others stay as they are, so that a regeneration changes only what
    changed."""
    pieces: list[str] = []
    position = 0
    for sample in samples(text):
        printed = transcript(result, sample.keys)
        same = normalise(printed) == normalise(sample.body)
        pieces.append(text[position:sample.start])
        pieces.append(sample.body if same else printed)
        position = sample.end
    pieces.append(text[position:])
    return "".join(pieces)
