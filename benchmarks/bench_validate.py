"""`promotion-bot validate` of N change requests against its floor, measured cold.

    python benchmarks/bench_validate.py [--change-requests 300,1000,3000] [--repeat 3]

Floor (benchmarks/floor_validate.py, same files, a fresh process): PyYAML's pure-Python
`safe_load` of every change request and the policy, and a SHA-256 of every artifact: the
least any validator must do. Ours: `promotion-bot validate --repo ROOT` in a fresh process.
Both alternate, `repeat` times each; medians and ratios are printed, and the time per change
request shows whether validate stays linear. No assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.measure import compare, promotion_bot  # noqa: E402

EXAMPLE = PROJECT / "examples" / "governed-repo"

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--change-requests", default="300,1000,3000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    floor_script = str(Path(__file__).resolve().parent / "floor_validate.py")
    rows = []
    for count in (int(n) for n in args.change_requests.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "repo"
            build(root, count)
            comparison = compare(
                f"validate, {count + 4} change requests",
                [sys.executable, floor_script, str(root)],
                [*promotion_bot(sys.executable), "validate", "--repo", str(root)],
                args.repeat,
            )
            if any(run.code for run in comparison.ours):
                raise SystemExit("validate rejected the benchmark repository")
        rows.append((count + 4, comparison))
        print("\n".join(comparison.lines()), flush=True)
    print("\nper change request (CPU, medians):")
    for count, comparison in rows:
        floor = comparison.median(comparison.floor, "cpu") / count * 1e6
        ours = comparison.median(comparison.ours, "cpu") / count * 1e6
        print(f"  {count:5d} change requests: floor {floor:6.0f} us   ours {ours:6.0f} us")


if __name__ == "__main__":
    main()
