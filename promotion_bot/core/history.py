"""Main's first-parent history as plain data, and the tree of any of its commits. Pure.

`ledger.read_history` produces the commits with one `git log --raw` (each commit's diff against
its first parent, with blob ids). Replaying those diffs from the root gives the blob of any path
at any first-parent commit without another git process: `TreeReplay` does that for the paths
a caller asks for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from promotion_bot.core.globs import match_any

ZERO = "0" * 40


@dataclass(frozen=True)
class RawChange:
    """One entry of `git log --raw`: status A/M/D/R/C/T, blobs before and after."""

    status: str
    path: str
    old_path: str | None
    old_blob: str | None
    new_blob: str | None
    new_mode: str


@dataclass(frozen=True)
class HistoryCommit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    committed_at: dt.datetime
    changes: tuple[RawChange, ...]

    @property
    def first_parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def added(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return [
            change.path
            for change in self.changes
            if change.status in ("A", "C", "R")
            and change.path.startswith(prefix)
            and change.path.endswith((".yaml", ".yml"))
        ]

    def touches(self, patterns: tuple[str, ...]) -> list[str]:
        """Changed paths (either side of a rename) that match `patterns`."""
        found: list[str] = []
        for change in self.changes:
            for path in (change.old_path, change.path):
                if path and match_any(patterns, path) and path not in found:
                    found.append(path)
        return found


@dataclass(frozen=True)
class History:
    """Oldest first. `index` finds a commit's position; absent means not on this history."""

    commits: tuple[HistoryCommit, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.sha: i for i, c in enumerate(self.commits)})

    def index(self, sha: str) -> int | None:
        found: dict[str, int] = getattr(self, "_index")  # noqa: B009 - frozen cache
        return found.get(sha)

    def commit(self, sha: str) -> HistoryCommit | None:
        position = self.index(sha)
        return None if position is None else self.commits[position]

    @property
    def tip(self) -> HistoryCommit | None:
        return self.commits[-1] if self.commits else None


class TreeReplay:
    """Blob ids of chosen paths at chosen commits, by replaying first-parent diffs.

    Ask first (`want`), then `run()` once; `blob(sha, path)` answers afterwards. A path that
    does not exist at that commit answers None.
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self._wanted: dict[str, set[str]] = {}
        self._all_at: set[str] = set()
        self._found: dict[tuple[str, str], str | None] = {}
        self._full: dict[str, dict[str, str]] = {}

    def want(self, sha: str, paths: Iterable[str]) -> None:
        self._wanted.setdefault(sha, set()).update(paths)

    def want_everything(self, sha: str) -> None:
        self._all_at.add(sha)

    def run(self) -> None:
        state: dict[str, str] = {}
        for commit in self.history.commits:
            for change in commit.changes:
                if change.status in ("R",) and change.old_path:
                    state.pop(change.old_path, None)
                if change.status == "D":
                    state.pop(change.path, None)
                elif change.new_blob and change.new_blob != ZERO and change.new_mode != "160000":
                    state[change.path] = change.new_blob
            for path in self._wanted.get(commit.sha, ()):
                self._found[(commit.sha, path)] = state.get(path)
            if commit.sha in self._all_at:
                self._full[commit.sha] = dict(state)

    def blob(self, sha: str, path: str) -> str | None:
        return self._found.get((sha, path))

    def everything(self, sha: str) -> Mapping[str, str]:
        return self._full.get(sha, {})
