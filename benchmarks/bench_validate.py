"""How much `validate` costs over the unavoidable work, on a repository with many CRs.

Baseline (same run, same files): PyYAML's C-less safe_load of every change request plus a
SHA-256 of every artifact: the least any validator must do. Printed as a ratio; no assertions.

    .venv/bin/python benchmarks/bench_validate.py [--change-requests 500]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from promotion_bot.adapters.working_tree import validate_repository

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "governed-repo"


def build(root: Path, count: int) -> None:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("snapshots"))
    rules = root / "configs" / "routing_tables"
    for number in range(5, count + 5):
        artifact = rules / f"routing_rules_v2.{number}.0.json"
        artifact.write_text(f'{{"version": "2.{number}.0", "rules": []}}\n')
        digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
        (root / "change-requests" / f"CR-2026-{number:04d}.yaml").write_text(
            f"change_id: CR-2026-{number:04d}\nchange_type: ruleset\ntarget: bench-{number}\n"
            f'title: Benchmark promotion {number}\nproposed_version: "2.{number}.0"\n'
            f"current_version: null\nartifacts:\n  - path: {artifact.relative_to(root)}\n"
            f"    sha256: {digest}\nrollback_plan: Revert the pull request to remove it.\n"
        )
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)


def baseline(root: Path) -> None:
    for path in sorted((root / "change-requests").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for artifact in data["artifacts"]:
            hashlib.sha256((root / artifact["path"]).read_bytes()).hexdigest()


def measure(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--change-requests", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "repo"
        build(root, args.change_requests)
        report = validate_repository(root, [])
        assert not report.problems, report.problems[:3]
        base = measure(lambda: baseline(root), args.repeat)
        ours = measure(lambda: validate_repository(root, []), args.repeat)
    count = args.change_requests + 4
    print(f"change requests:               {count}")
    print(f"baseline (safe_load + sha256): {base * 1000:8.1f} ms")
    print(f"promotion-bot validate:        {ours * 1000:8.1f} ms")
    print(f"ratio validate / baseline:     {ours / base:8.2f}x")
    print(f"per change request:            {ours / count * 1e6:8.0f} us")


if __name__ == "__main__":
    main()
