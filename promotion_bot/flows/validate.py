"""The validate use case: change requests and the policy in the working tree, checked as the
gate will check them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promotion_bot.adapters.working_tree import ValidationReport, validate_repository
from promotion_bot.core.errors import ConfigError


def validate_paths(root: Path, paths: Sequence[Path]) -> ValidationReport:
    """No paths: the policy and every change request; else these files or folders."""
    return validate_repository(root, [_relative(root, path) for path in paths])


def _relative(root: Path, path: Path) -> str:
    absolute = path.resolve()
    if not absolute.exists() and not path.is_absolute() and (root / path).exists():
        absolute = (root / path).resolve()  # a path given relative to --repo
    if not absolute.exists():
        raise ConfigError(f"{path}: no such file or folder")
    if not absolute.is_relative_to(root.resolve()):
        raise ConfigError(f"{path} is outside the governed repository {root}")
    return absolute.relative_to(root.resolve()).as_posix() or "."
