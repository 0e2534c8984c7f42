"""The hash use case: the SHA-256 of files (folders: every file below them, sorted), streamed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promotion_bot.adapters.files import sha256_file
from promotion_bot.core.errors import ConfigError


def hash_paths(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(path as given, sha256) per file."""
    return [(path.as_posix(), sha256_file(path)) for path in _files(paths)]


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return files
