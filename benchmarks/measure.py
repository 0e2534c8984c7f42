"""Cold measurements shared by the benchmarks: every run is a fresh process, timed from outside.

A run reports its wall time, its CPU time (user + system, its own and its children's: the git
processes it starts) and its peak resident memory, from `os.wait4`. The floor and ours are run
alternately, the same number of times, and compared by their medians: on a shared machine the
CPU time is the steadier figure, so ratios are given for both.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # seconds, user + system, with the children the process waited for
    rss: int  # peak resident set, KiB (the largest process of the tree)
    code: int


def run_cold(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Run:
    """Run `argv` in a fresh process with its output discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({process.returncode}): {errors.decode()[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, process.returncode)


@dataclass(frozen=True)
class Comparison:
    label: str
    floor: list[Run]
    ours: list[Run]

    def median(self, runs: list[Run], field: str) -> float:
        return statistics.median(getattr(run, field) for run in runs)

    def ratio(self, field: str) -> float:
        return self.median(self.ours, field) / self.median(self.floor, field)

    def lines(self) -> list[str]:
        f, o = self.floor, self.ours
        return [
            f"{self.label}  (medians of {len(o)} cold runs each)",
            f"  wall  floor {self.median(f, 'wall'):8.3f} s   ours {self.median(o, 'wall'):8.3f} s"
            f"   ratio {self.ratio('wall'):5.2f}x",
            f"  cpu   floor {self.median(f, 'cpu'):8.3f} s   ours {self.median(o, 'cpu'):8.3f} s"
            f"   ratio {self.ratio('cpu'):5.2f}x",
            f"  rss   floor {self.median(f, 'rss') / 1024:8.1f} MB  ours "
            f"{self.median(o, 'rss') / 1024:8.1f} MB  ratio {self.ratio('rss'):5.2f}x",
        ]


def compare(
    label: str,
    floor: Sequence[str],
    ours: Sequence[str],
    repeat: int,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Comparison:
    """Floor and ours alternately, `repeat` cold runs each."""
    floor_runs: list[Run] = []
    our_runs: list[Run] = []
    for _ in range(repeat):
        floor_runs.append(run_cold(floor, env=env, cwd=cwd))
        our_runs.append(run_cold(ours, env=env, cwd=cwd))
    return Comparison(label, floor_runs, our_runs)


def promotion_bot(python: str) -> list[str]:
    """The installed console script next to `python`, as a user runs it."""
    script = Path(python).parent / "promotion-bot"
    return [str(script)] if script.is_file() else [python, "-m", "promotion_bot"]
