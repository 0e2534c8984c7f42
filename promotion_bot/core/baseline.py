""".promotion/baseline.yaml: the versions live when a repository adopts promotion-bot. Pure.

The administrator writes it in the adoption pull request (schemas/baseline.schema.json); its
merge gets a signed baseline record (core/governance.py) with the sha256 of every file it
names. Until then nothing on main before the policy would ever be covered by a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from promotion_bot.core.errors import InputError, Problem
from promotion_bot.core.formats.schemas import validate_document
from promotion_bot.core.formats.strict_yaml import YamlDocument, load_yaml_bytes
from promotion_bot.core.globs import match_any
from promotion_bot.core.governance import BASELINE_PATH, BaselineTarget
from promotion_bot.core.models import Artifact, Policy


@dataclass(frozen=True)
class DeclaredTarget:
    target: str
    change_type: str
    version: str
    artifacts: tuple[str, ...]


@dataclass(frozen=True)
class BaselineDeclaration:
    targets: tuple[DeclaredTarget, ...]
    document: YamlDocument

    def versions(self) -> dict[str, str]:
        return {t.target: t.version for t in self.targets}


def load_baseline(
    raw: bytes, policy: Policy | None, display_path: str = BASELINE_PATH
) -> tuple[BaselineDeclaration | None, list[Problem]]:
    """Strict YAML and the schema; with a policy, every change type must exist and every
    artifact lie under its type's paths, and no file or target may be listed twice."""
    try:
        document = load_yaml_bytes(raw, display_path)
    except InputError as error:
        return None, list(error.problems)
    problems = validate_document("baseline", document)
    if problems:
        return None, problems
    data = document.data
    assert isinstance(data, dict)
    targets: list[DeclaredTarget] = []
    seen_targets: set[str] = set()
    seen_paths: set[str] = set()
    for index, item in enumerate(data["targets"]):
        where: list[str | int] = ["targets", index]
        if item["target"] in seen_targets:
            problems.append(document.problem([*where, "target"], f"{item['target']} twice"))
        seen_targets.add(item["target"])
        rule = policy.change_types.get(item["change_type"]) if policy else None
        if policy is not None and rule is None:
            problems.append(
                document.problem(
                    [*where, "change_type"],
                    f"{item['change_type']!r} is not a change type of the policy",
                    hint="one of: " + ", ".join(sorted(policy.change_types)),
                )
            )
        for number, path in enumerate(item["artifacts"]):
            if path in seen_paths:
                problems.append(
                    document.problem([*where, "artifacts", number], f"{path} is listed twice")
                )
            seen_paths.add(path)
            if rule is not None and not match_any(rule.paths, path):
                problems.append(
                    document.problem(
                        [*where, "artifacts", number],
                        f"{path} is not under the paths of {item['change_type']} "
                        f"({', '.join(rule.paths)})",
                    )
                )
        targets.append(
            DeclaredTarget(
                item["target"], item["change_type"], item["version"], tuple(item["artifacts"])
            )
        )
    if problems:
        return None, problems
    return BaselineDeclaration(tuple(targets), document), []


def hashed_targets(
    declaration: BaselineDeclaration, sha256_of: Callable[[str], str | None]
) -> tuple[tuple[BaselineTarget, ...], list[str]]:
    """The targets with the sha256 of each file (`sha256_of(path)`, None when absent), and
    the files that are missing."""
    missing: list[str] = []
    targets: list[BaselineTarget] = []
    for item in declaration.targets:
        artifacts: list[Artifact] = []
        for path in item.artifacts:
            digest = sha256_of(path)
            if digest is None:
                missing.append(path)
                continue
            artifacts.append(Artifact(path, digest))
        hashed = BaselineTarget(item.target, item.change_type, item.version, tuple(artifacts))
        targets.append(hashed)
    return tuple(targets), missing


def proposal(policy: Policy, files: Mapping[str, str]) -> str:
    """A skeleton .promotion/baseline.yaml: one target per change type, named after it, with
    the tracked files under its paths; `version` is left for the administrator (the one
    question only they can answer)."""
    lines = [
        "# The versions live today, before promotion-bot (schemas/baseline.schema.json).",
        "# Split a change type into several targets if it holds more than one item, and set",
        "# each version: the first change request of a target declares it as current_version.",
        "baseline_version: 1",
        "targets:",
    ]
    for name, rule in sorted(policy.change_types.items()):
        paths = sorted(path for path in files if match_any(rule.paths, path))
        if not paths:
            continue
        lines += [
            f"  - target: {name}",
            f"    change_type: {name}",
            f'    version: ""  # QUESTION: which version of {name} is live today?',
            "    artifacts:",
            *(f"      - {path}" for path in paths),
        ]
    return "\n".join(lines) + "\n"
