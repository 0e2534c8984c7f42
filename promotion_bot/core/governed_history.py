"""Which paths (and keys inside files) are governed at each point of main's history. Pure.

Like the signing keys (core/key_trust.py), the governed change-type paths are trusted through
history, not read from one commit: a push that bypasses the rulesets could otherwise narrow
the policy's `paths` and then change the files it no longer governs.

- The first policy on main (the adoption) says what is governed.
- A later change to the change types' `paths` adds what it adds at once (more is governed:
  that can only make the audit and the deployment gate stricter).
- What it removes leaves governance only when the commit that makes the change carries an
  approved record (a governance record, or a promotion record of a merge that also changed
  the policy). Only that commit's own change is applied, so a narrowing slipped in earlier by a
  bypass push never rides along with a later approved change.

The same rule holds for any item the policy governs by: `items` picks them (the change types'
paths with `change_type_paths`, the keys they govern inside files with
`change_type_key_watches`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from promotion_bot.core.history import History
from promotion_bot.core.models import ConfigKeyWatch, Policy

T = TypeVar("T")


def change_type_paths(policy: Policy) -> tuple[str, ...]:
    return tuple(p for rule in policy.change_types.values() for p in rule.paths)


def change_type_key_watches(policy: Policy) -> tuple[ConfigKeyWatch, ...]:
    return tuple(w for rule in policy.change_types.values() for w in rule.keys)


@dataclass(frozen=True)
class GovernedEpoch(Generic[T]):
    start: int  # the first position of main's history whose tree these patterns govern
    patterns: tuple[T, ...]


@dataclass(frozen=True)
class GovernedThroughHistory(Generic[T]):
    epochs: tuple[GovernedEpoch[T], ...]

    def at(self, position: int | None) -> tuple[T, ...]:
        """The patterns that govern the tree of the commit at `position` (None: main's tip);
        nothing before the adoption."""
        found: tuple[T, ...] = ()
        for epoch in self.epochs:
            if position is None or epoch.start <= position:
                found = epoch.patterns
        return found

    def before(self, position: int) -> tuple[T, ...]:
        """The patterns a commit at `position` is judged by (those of its first parent)."""
        return self.at(position - 1) if position > 0 else ()


def governed_through_history(
    history: History,
    policy_at: Callable[[str], Policy | None],
    approved: Collection[str],
    items: Callable[[Policy], tuple[T, ...]],
) -> GovernedThroughHistory[T]:
    """`policy_at(sha)`: the readable policy at a commit (None: missing or unreadable, nothing
    changes); `approved`: the commits that carry a valid, approved record; `items`: what the
    policy governs by (`change_type_paths`, `change_type_key_watches`)."""
    epochs: list[GovernedEpoch[T]] = []
    current: tuple[T, ...] | None = None
    previous: tuple[T, ...] = ()
    for position, commit in enumerate(history.commits):
        policy = policy_at(commit.sha)
        if policy is None:
            continue
        paths = items(policy)
        if current is None:
            current, previous = paths, paths
            epochs.append(GovernedEpoch(position, current))
            continue
        if paths == previous:
            continue
        added = [p for p in paths if p not in previous]
        removed = {p for p in previous if p not in paths}
        kept = [p for p in current if p not in removed] if commit.sha in approved else current
        updated = _unique([*kept, *added])
        previous = paths
        if updated != current:
            current = updated
            epochs.append(GovernedEpoch(position, current))
    return GovernedThroughHistory(tuple(epochs))


def _unique(items: Sequence[T]) -> tuple[T, ...]:
    """`items` without repeats, in order (by equality: key watches need not be hashable)."""
    found: list[T] = []
    for item in items:
        if item not in found:
            found.append(item)
    return tuple(found)
