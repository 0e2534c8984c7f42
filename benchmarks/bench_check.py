"""`promotion-bot check` running the checks `true`, `true` and `sleep 2`, against `sleep 2`.

    python benchmarks/bench_check.py [--repeat 5] [--beside DIR]

Builds the demo repository (examples/make_demo_history.py), makes the base policy's three
ruleset checks `true`, `true` and `sleep 2`, and times, alternately in fresh processes,
`sleep 2` (the floor: the slowest check alone) and `promotion-bot check` on the demo branch.
Wall time is what matters here (the user waits for it). One run first writes the .pyc files
an installed promotion-bot has. No assertions.

`--beside DIR` times a second source tree in the same rounds, run by the same script with
PYTHONPATH=DIR (DIR holds its promotion_bot package: `mkdir /tmp/main; git archive main |
tar -x -C /tmp/main`): the two are compared in the same minutes of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.measure import Comparison, Run, promotion_bot, run_cold  # noqa: E402

# the demo's three ruleset checks, each command replaced (its arguments stay: `true` ignores
# them); "run: true" alone would be YAML's boolean, which the policy refuses
CHECKS = {
    "python3 tools/ieimctl.py rules lint": "true",
    "python3 tools/ieimctl.py rules simulate": "true",
    "bash scripts/verify_pack.sh": "sleep 2",
}


def env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE is dropped: an installed promotion-bot has its .pyc files (pip
    # writes them), and a checkout without them would measure Python compiling our sources
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_") and k != "PYTHONDONTWRITEBYTECODE"
    } | {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }


def build(dest: Path) -> None:
    subprocess.run(
        [sys.executable, str(PROJECT / "examples" / "make_demo_history.py"), str(dest)],
        check=True, env=env(), capture_output=True,
    )
    git = ["git", "-C", str(dest)]
    subprocess.run([*git, "checkout", "-q", "main"], check=True, env=env())
    policy = dest / ".promotion" / "policy.yaml"
    text = policy.read_text()
    for command, replacement in CHECKS.items():
        assert f"run: {command}" in text, command
        text = text.replace(f"run: {command}", f"run: {replacement}")
    text = text.replace("run: true\n", 'run: ["true"]\n')
    policy.write_text(text)
    subprocess.run([*git, "commit", "-qam", "bench: quick checks"], check=True, env=env())
    subprocess.run([*git, "checkout", "-q", "demo/ruleset-1.1.0"], check=True, env=env())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--beside", type=Path, default=None,
                        help="a source tree to time in the same rounds (its promotion_bot)")
    args = parser.parse_args()
    beside_env = None
    if args.beside is not None:
        if not (args.beside / "promotion_bot" / "__init__.py").is_file():
            parser.error(f"--beside {args.beside}: no promotion_bot package there")
        beside_env = env() | {"PYTHONPATH": str(args.beside.resolve())}
    floor: list[Run] = []
    ours: list[Run] = []
    beside: list[Run] = []
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "demo"
        build(dest)
        command = [*promotion_bot(sys.executable), "check", "--base", "main", "--head",
                   "demo/ruleset-1.1.0", "--output-dir", str(Path(folder) / "out")]
        run_cold(command, env=env(), cwd=dest)  # writes the .pyc files an install has
        if beside_env is not None:
            run_cold(command, env=beside_env, cwd=dest)
        for _ in range(args.repeat):  # alternately, in the same rounds
            floor.append(run_cold(["sleep", "2"], env=env(), cwd=dest))
            ours.append(run_cold(command, env=env(), cwd=dest))
            if beside_env is not None:
                beside.append(run_cold(command, env=beside_env, cwd=dest))
    label = "check (true, true, sleep 2) against sleep 2"
    print("\n".join(Comparison(label, floor, ours).lines()))
    if beside_env is not None:
        print("\n".join(Comparison(f"beside: {args.beside}", floor, beside).lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
