#!/usr/bin/env python3
"""ieimctl: the example governed repository's own tool (rules lint, rules simulate, eval).

It stands in for the real intake-routing tool named in the promotion workflow. It needs only
the Python standard library and works offline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "configs" / "routing_tables"
CORPUS = ROOT / "golden" / "cases.jsonl"
PROMPT = ROOT / "prompts" / "classify_prompt.md"
MODEL = ROOT / "configs" / "models" / "classifier.yaml"
NAME = re.compile(r"^routing_rules_v(\d+)\.(\d+)\.(\d+)\.json$")


def ruleset_files() -> list[Path]:
    files = [p for p in RULESETS.iterdir() if NAME.match(p.name)]
    return sorted(files, key=lambda p: tuple(int(x) for x in NAME.match(p.name).groups()))


def active_ruleset() -> tuple[Path, dict]:
    files = ruleset_files()
    if not files:
        sys.exit("ieimctl: no ruleset in configs/routing_tables")
    return files[-1], json.loads(files[-1].read_text())


def lint_one(path: Path) -> list[str]:
    problems = []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        return [f"{path.name}:{error.lineno}: invalid JSON: {error.msg}"]
    version = ".".join(NAME.match(path.name).groups())
    if data.get("version") != version:
        problems.append(f"{path.name}: version {data.get('version')!r} does not match file name")
    queues = data.get("queues", [])
    if data.get("default_queue") not in queues:
        problems.append(f"{path.name}: default_queue is not one of the queues")
    seen_ids, seen_priorities = set(), set()
    for rule in data.get("rules", []):
        rid = rule.get("id", "?")
        if rid in seen_ids:
            problems.append(f"{path.name}: rule {rid}: duplicate id")
        seen_ids.add(rid)
        if rule.get("priority") in seen_priorities:
            problems.append(f"{path.name}: rule {rid}: duplicate priority {rule.get('priority')}")
        seen_priorities.add(rule.get("priority"))
        if rule.get("queue") not in queues:
            problems.append(f"{path.name}: rule {rid}: unknown queue {rule.get('queue')!r}")
        keywords = rule.get("any_keywords") or []
        if not keywords:
            problems.append(f"{path.name}: rule {rid}: no keywords")
        for keyword in keywords:
            if keyword != keyword.lower().strip():
                problems.append(f"{path.name}: rule {rid}: keyword {keyword!r} must be lower case")
    return problems


def route(ruleset: dict, text: str) -> str:
    lowered = text.lower()
    for rule in sorted(ruleset["rules"], key=lambda r: -r["priority"]):
        if any(keyword in lowered for keyword in rule["any_keywords"]):
            return rule["queue"]
    return ruleset["default_queue"]


def load_cases() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def named_rulesets(paths: list[str]) -> list[Path]:
    """Rulesets named on the command line (relative to the repository root); exits on a path
    that is not a ruleset file."""
    files = []
    for name in paths:
        path = (ROOT / name).resolve()
        if not path.is_file() or not NAME.match(path.name):
            sys.exit(f"ieimctl: {name} is not a ruleset file (routing_rules_vX.Y.Z.json)")
        files.append(path)
    return files


def cmd_lint(args: argparse.Namespace) -> int:
    files = named_rulesets(args.paths) if args.paths else ruleset_files()
    problems = [p for path in files for p in lint_one(path)]
    for problem in problems:
        print(problem)
    print(f"rules lint: {len(files)} ruleset(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.path:
        (path,) = named_rulesets([args.path])
        try:
            ruleset = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            sys.exit(f"ieimctl: {path.name}:{error.lineno}: invalid JSON: {error.msg}")
    else:
        path, ruleset = active_ruleset()
    failures = 0
    for case in load_cases():
        got = route(ruleset, case["text"])
        ok = got == case["expected_queue"]
        failures += not ok
        mark = "ok  " if ok else "FAIL"
        print(f"{mark} {case['id']}: expected {case['expected_queue']}, got {got}")
    print(f"rules simulate: {path.name} on {len(load_cases())} golden cases, {failures} failure(s)")
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Offline evaluation on the golden corpus; writes metrics for the no-regression check.

    What is not promoted yet scores as nothing deployed would: no ruleset routes nothing
    right, no prompt guards nothing, no model decodes nothing (the base of a first promotion)."""
    files = ruleset_files() if RULESETS.is_dir() else []
    ruleset = json.loads(files[-1].read_text()) if files else None
    cases = load_cases()
    prompt = PROMPT.read_text() if PROMPT.is_file() else ""
    routed = {c["id"]: route(ruleset, c["text"]) if ruleset else None for c in cases}
    correct = sum(routed[c["id"]] == c["expected_queue"] for c in cases)
    sensitive_misroutes = sum(
        routed[c["id"]] != c["expected_queue"] for c in cases if c["sensitive"]
    )
    model = MODEL.read_text() if MODEL.is_file() else ""
    metrics = {
        "corpus": "golden/cases.jsonl",
        "cases": len(cases),
        "metrics": {
            "accuracy": round(correct / len(cases), 4),
            "sensitive_misroutes": sensitive_misroutes,
            "pii_guard": 1 if "never repeat personal data" in prompt.lower() else 0,
            "deterministic_decoding": 1 if re.search(r"^temperature:\s*0\s*$", model, re.M) else 0,
        },
    }
    Path(args.out).write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"eval: accuracy {metrics['metrics']['accuracy']}, "
          f"sensitive misroutes {sensitive_misroutes}, written to {args.out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="ieimctl")
    sub = parser.add_subparsers(dest="group", required=True)
    rules = sub.add_parser("rules").add_subparsers(dest="action", required=True)
    lint = rules.add_parser("lint", help="lint the given rulesets (default: all of them)")
    lint.add_argument("paths", nargs="*")
    lint.set_defaults(func=cmd_lint)
    simulate = rules.add_parser(
        "simulate", help="route the golden corpus with a ruleset (default: the latest)"
    )
    simulate.add_argument("path", nargs="?")
    simulate.set_defaults(func=cmd_simulate)
    evaluation = sub.add_parser("eval")
    evaluation.add_argument("--out", required=True)
    evaluation.set_defaults(func=cmd_eval)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
