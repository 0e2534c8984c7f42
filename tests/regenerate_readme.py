"""Rewrite the README's demo samples with what `promotion-bot demo` prints now.

    .venv/bin/python -m tests.regenerate_readme

Runs the demo (in a new temporary folder, offline, seconds) and replaces the body of every
fenced block that follows a `<!-- demo:KEY[,KEY...] -->` marker in README.md. Exit 1 (README
untouched) when the demo fails.
"""

from __future__ import annotations

import shutil
import sys

from promotion_bot.flows.demo import run_demo
from tests.conftest import RecordingListener
from tests.readme_samples import README, regenerate, samples


def main() -> int:
    result = run_demo(None, RecordingListener())
    if not result.ok:
        print(f"the demo failed, README.md is unchanged: {result.failure}", file=sys.stderr)
        print(f"its folder: {result.folder}", file=sys.stderr)
        return 1
    before = README.read_text(encoding="utf-8")
    after = regenerate(before, result)
    README.write_text(after, encoding="utf-8")
    shutil.rmtree(result.folder, ignore_errors=True)
    changed = sum(old.body != new.body for old, new in zip(samples(before), samples(after),
                                                          strict=True))
    print(f"README.md: {len(samples(after))} demo samples, {changed} rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
