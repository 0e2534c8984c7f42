"""`promotion-bot baseline`: propose and check the adoption baseline in the working tree.

The baseline (.promotion/baseline.yaml) says which version of each target is live when the
repository adopts promotion-bot; the merge that adds it gets a signed baseline record from
`record`. This flow reads the working tree only: the policy, the declaration, and the tracked
files under the policy's change-type paths (each must be in the baseline, or `verify` will
refuse it until a promotion covers it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.adapters.files import sha256_file
from promotion_bot.adapters.working_tree import read_policy
from promotion_bot.core.baseline import BaselineDeclaration, hashed_targets, load_baseline, proposal
from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.globs import match_any
from promotion_bot.core.governance import BASELINE_PATH, BaselineTarget
from promotion_bot.core.models import Policy


@dataclass
class BaselineCheck:
    targets: tuple[BaselineTarget, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # listed, not in the working tree
    uncovered: list[str] = field(default_factory=list)  # governed, not in the baseline

    @property
    def ok(self) -> bool:
        return not (self.problems or self.missing or self.uncovered)


def _policy(root: Path) -> Policy:
    loaded = read_policy(root)
    if loaded.value is None:
        raise ConfigError("the policy cannot be read; run promotion-bot validate", loaded.problems)
    return loaded.value


def _governed_files(root: Path, policy: Policy) -> list[str]:
    prefix = git.prefix_in_toplevel(root)
    patterns = tuple(p for rule in policy.change_types.values() for p in rule.paths)
    files = git.tracked_files(root, ["."] if prefix else [])
    relative = (path.removeprefix(prefix) for path in files if path.startswith(prefix))
    return sorted(path for path in relative if match_any(patterns, path))


def propose_baseline(root: Path) -> str:
    policy = _policy(root)
    return proposal(policy, dict.fromkeys(_governed_files(root, policy), ""))


def check_baseline(root: Path) -> BaselineCheck:
    policy = _policy(root)
    path = root / BASELINE_PATH
    if not path.is_file():
        raise ConfigError(
            f"no {BASELINE_PATH}: write one with promotion-bot baseline --propose > "
            f"{BASELINE_PATH}, then set each version"
        )
    declaration, problems = load_baseline(path.read_bytes(), policy, BASELINE_PATH)
    if declaration is None:
        return BaselineCheck(problems=problems)
    return _hashed(root, policy, declaration)


def _hashed(root: Path, policy: Policy, declaration: BaselineDeclaration) -> BaselineCheck:
    def digest(relative: str) -> str | None:
        target = root / relative
        return sha256_file(target) if target.is_file() and not target.is_symlink() else None

    targets, missing = hashed_targets(declaration, digest)
    listed = {a for t in declaration.targets for a in t.artifacts}
    uncovered = [p for p in _governed_files(root, policy) if p not in listed]
    return BaselineCheck(targets, [], missing, uncovered)
