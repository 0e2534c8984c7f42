"""git's facts as plain data: a changed file, a tracked file, a promotion tag as git stores it.

The git adapter (promotion_bot.adapters.git, .ledger) produces them; the core reasons about them.
"""

from __future__ import annotations

from dataclasses import dataclass

SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"
ZERO_SHA = "0" * 40
TAG_PREFIX = "promotion/"  # every promotion record is the tag promotion/<change id>


@dataclass(frozen=True)
class TrackedFile:
    path: str
    mode: str
    blob: str


@dataclass(frozen=True)
class Change:
    """One file changed between two commits (`git diff --name-status` semantics)."""

    status: str  # A, M, D, R, C, T
    path: str
    old_path: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path this change touches: a rename touches where it came from too."""
        if self.old_path and self.old_path != self.path:
            return (self.old_path, self.path)
        return (self.path,)


@dataclass(frozen=True)
class TagRecord:
    """One ref under refs/tags/promotion/, as git stores it (not yet judged)."""

    name: str  # promotion/CR-2026-0001
    ref_object: str  # what the ref points at (a tag object when annotated)
    annotated: bool
    target: str | None  # the tagged object
    target_type: str | None
    tagger: str | None
    message: bytes
    unreadable: str | None = None  # why the tag object was not read (e.g. its size)

    @property
    def change_id(self) -> str:
        return self.name.removeprefix(TAG_PREFIX)
