"""Artifact path rules. `path_problem` is pure; `RepositoryPaths` checks against a work tree."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from promotion_bot.adapters import git

_DRIVE_PREFIX_LENGTH = 2


def path_problem(path: str) -> str | None:
    """Why `path` is not an acceptable repository-relative artifact path, or None."""
    if not path:
        return "empty path"
    if "\0" in path:
        return "path contains a NUL byte"
    if "\\" in path:
        return "path contains a backslash; use forward slashes"
    if path.startswith("/"):
        return "absolute path; write it relative to the repository root"
    if len(path) >= _DRIVE_PREFIX_LENGTH and path[1] == ":" and path[0].isalpha():
        return "path starts with a drive letter; write it relative to the repository root"
    if unicodedata.normalize("NFC", path) != path:
        return "path is not in Unicode NFC form; retype it"
    parts = path.split("/")
    if any(part == ".." for part in parts):
        return "path leaves the repository ('..')"
    if any(part in ("", ".") for part in parts):
        return "path is not normalised (empty or '.' segment); write it as a/b/c"
    return None


@dataclass
class RepositoryPaths:
    """What git tracks in the repository, for checks that need the work tree."""

    root: Path
    tracked: dict[str, git.TrackedFile]

    @classmethod
    def scan(cls, root: Path) -> RepositoryPaths:
        return cls(root=root, tracked=git.tracked_files(root))

    def problem(self, path: str) -> str | None:
        """Repository-level problems: untracked, symlinks, escaping the root, case collisions."""
        syntactic = path_problem(path)
        if syntactic:
            return syntactic
        entry = self.tracked.get(path)
        if entry is None:
            folded = [p for p in self.tracked if p.casefold() == path.casefold()]
            if folded:
                return f"no such tracked file; did you mean {folded[0]!r}? (case differs)"
            return "git does not track this file; add and commit it, or fix the path"
        if entry.mode == git.SYMLINK_MODE:
            return "path is a symbolic link; declare the file it points to instead"
        if entry.mode == git.GITLINK_MODE:
            return "path is a submodule, not a file"
        resolved = (self.root / path).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            return "path resolves outside the repository (through a symbolic link)"
        for parent in PurePosixPath(path).parents:
            if str(parent) != "." and (self.root / parent).is_symlink():
                return f"directory {parent} is a symbolic link; declare the real path"
        twins = [p for p in self.tracked if p != path and p.casefold() == path.casefold()]
        if twins:
            return (
                f"case-only collision with tracked file {twins[0]!r}; such paths break on "
                "case-insensitive file systems: rename one"
            )
        if not resolved.is_file():
            return "file is tracked but missing from the work tree"
        return None
