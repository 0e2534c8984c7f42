"""Artifact path rules: `path_problem` says why a repository-relative path is not acceptable.

The checks against a work tree (tracked, symlink, case) are
`promotion_bot.adapters.working_tree.RepositoryPaths`.
"""

from __future__ import annotations

import unicodedata

_DRIVE_PREFIX_LENGTH = 2


def path_problem(path: str) -> str | None:
    """Why `path` is not an acceptable repository-relative artifact path, or None."""
    if not path:
        return "empty path"
    if "\0" in path:
        return "path contains a NUL byte"
    if any(unicodedata.category(char) == "Cc" for char in path):
        # a newline would split PROMOTION_ARTIFACTS (one path per line) and log lines
        return "path contains a control character (a newline, a tab, ...); rename the file"
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
