#!/usr/bin/env python3
"""An example wrapper for promotion-bot's no-regression check (docs/checks.md).

no-regression compares numbers that an evaluation writes to a JSON metrics file. A tool that
only prints its results (here: `ieimctl rules simulate`, one "ok"/"FAIL" line per golden case)
gets a wrapper that runs it and writes those numbers:

    checks:
      simulate-metrics:
        builtin: no-regression
        with:
          run: python3 tools/simulate_metrics.py {output}
          metrics:
            simulate_accuracy: higher_is_better
            simulate_failures: lower_is_better

The contract: write the metrics file at the path given, exit 0 when the evaluation ran (even if
its results are bad: the comparison with the base judges them), exit non-zero when it could
not run (then the check fails without comparing). Standard library only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

CASE = re.compile(r"^(ok|FAIL)\s+\S+:")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: simulate_metrics.py OUTPUT", file=sys.stderr)
        return 2
    tool = Path(__file__).resolve().parent / "ieimctl.py"
    run = subprocess.run(
        [sys.executable, str(tool), "rules", "simulate"], capture_output=True, text=True,
        check=False,
    )
    print(run.stdout, end="")
    results = [m.group(1) for line in run.stdout.splitlines() if (m := CASE.match(line))]
    if run.returncode not in (0, 1) or not results:  # 1: some cases failed; anything else: broken
        print(f"simulate_metrics: the simulation did not run (exit {run.returncode})",
              file=sys.stderr)
        print(run.stderr, end="", file=sys.stderr)
        return 1
    failures = results.count("FAIL")
    metrics = [
        {"name": "simulate_accuracy", "value": round(1 - failures / len(results), 4)},
        {"name": "simulate_failures", "value": failures},
    ]
    Path(sys.argv[1]).write_text(json.dumps({"metrics": metrics}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
