"""The hash use case: the SHA-256 of files (folders: every file below them, sorted), streamed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promotion_bot.adapters.files import is_folder, sha256_file


def hash_paths(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(path as given, sha256) per file."""
    return [(path.as_posix(), sha256_file(path)) for path in _files(paths)]


def _files(paths: Sequence[Path]) -> list[Path]:
    """Folders expand to their regular files; anything else is hashed by sha256_file, which
    refuses what is not a regular file (a FIFO, a device, /proc/self/mem, a missing path)."""
    files: list[Path] = []
    for path in paths:
        if is_folder(path):
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            files.append(path)
    return files
