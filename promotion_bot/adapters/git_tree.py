"""One commit's files below the governed root, read through `git cat-file --batch`."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.core.declarations import HeadFile
from promotion_bot.core.git_facts import TrackedFile


class GitTree:
    """The files of one commit below the governed root, read through `git cat-file --batch`
    (a `FileView` for the built-ins). Symbolic links and submodules are not readable files."""

    def __init__(self, root: Path, prefix: str, rev: str) -> None:
        self.root, self.prefix, self.rev = root, prefix, rev
        self._cache: dict[str, bytes | None] = {}
        self._lock = threading.RLock()  # built-ins read from several threads

    @cached_property
    def entries(self) -> dict[str, TrackedFile]:
        """The commit's files, listed when first needed (`check` lists them while the checks
        run)."""
        with self._lock:
            found = git.tree_files(self.root, self.rev, [self.prefix] if self.prefix else [])
            return {path.removeprefix(self.prefix): entry for path, entry in found.items()}

    @cached_property
    def _readable(self) -> frozenset[str]:
        return frozenset(p for p, e in self.entries.items() if e.mode.startswith("100"))

    def paths(self) -> frozenset[str]:
        return self._readable

    def prefetch(self, paths: Sequence[str]) -> None:
        """Read many files with one git process (unreadable ones are cached as None)."""
        with self._lock:
            wanted = [p for p in dict.fromkeys(paths) if p not in self._cache]
            specs = {p: f"{self.rev}:{self.prefix}{p}" for p in wanted if p in self._readable}
            blobs = git.read_blobs(self.root, list(specs.values())) if specs else {}
            for path in wanted:
                self._cache[path] = blobs.get(specs[path]) if path in specs else None

    def read(self, path: str) -> bytes | None:
        if path not in self._cache:
            self.prefetch([path])
        return self._cache.get(path)

    def sha256(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def head_file(self, path: str) -> HeadFile | None:
        entry = self.entries.get(path)
        if entry is None:
            return None
        return HeadFile(entry.mode, self.sha256(path) or "")
