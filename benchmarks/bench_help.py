"""`promotion-bot --help` against `python -c "import click"`, measured cold.

    python benchmarks/bench_help.py [--repeat 10]

Both run in fresh processes, alternately; the help lists every command without importing
one (promotion_bot/cli/main.py). Also prints how many modules the help imports. No assertions.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.measure import compare, promotion_bot  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    comparison = compare(
        "promotion-bot --help against python -c 'import click'",
        [sys.executable, "-c", "import click"],
        [*promotion_bot(sys.executable), "--help"],
        args.repeat,
    )
    print("\n".join(comparison.lines()))
    count = subprocess.run(
        [sys.executable, "-c", "import sys; from promotion_bot.cli.main import main; "
         "main(['--help']); print(len(sys.modules), file=sys.stderr)"],
        capture_output=True, text=True, check=True,
    ).stderr.strip()
    click_only = subprocess.run(
        [sys.executable, "-c", "import sys, click; print(len(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    print(f"modules loaded: {count} for the help, {click_only} for click alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
