"""Which paths are governed at each point of main's history. Pure.

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
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from promotion_bot.core.history import History
from promotion_bot.core.models import Policy


def change_type_paths(policy: Policy) -> tuple[str, ...]:
    return tuple(p for rule in policy.change_types.values() for p in rule.paths)


@dataclass(frozen=True)
class GovernedEpoch:
    start: int  # the first position of main's history whose tree these patterns govern
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class GovernedThroughHistory:
    epochs: tuple[GovernedEpoch, ...]

    def at(self, position: int | None) -> tuple[str, ...]:
        """The patterns that govern the tree of the commit at `position` (None: main's tip);
        nothing before the adoption."""
        found: tuple[str, ...] = ()
        for epoch in self.epochs:
            if position is None or epoch.start <= position:
                found = epoch.patterns
        return found

    def before(self, position: int) -> tuple[str, ...]:
        """The patterns a commit at `position` is judged by (those of its first parent)."""
        return self.at(position - 1) if position > 0 else ()


def governed_through_history(
    history: History,
    policy_at: Callable[[str], Policy | None],
    approved: Collection[str],
) -> GovernedThroughHistory:
    """`policy_at(sha)`: the readable policy at a commit (None: missing or unreadable, nothing
    changes); `approved`: the commits that carry a valid, approved record."""
    epochs: list[GovernedEpoch] = []
    current: tuple[str, ...] | None = None
    previous: tuple[str, ...] = ()
    for position, commit in enumerate(history.commits):
        policy = policy_at(commit.sha)
        if policy is None:
            continue
        paths = change_type_paths(policy)
        if current is None:
            current, previous = paths, paths
            epochs.append(GovernedEpoch(position, current))
            continue
        if paths == previous:
            continue
        added = [p for p in paths if p not in previous]
        removed = {p for p in previous if p not in paths}
        kept = [p for p in current if p not in removed] if commit.sha in approved else current
        updated = tuple(dict.fromkeys([*kept, *added]))
        previous = paths
        if updated != current:
            current = updated
            epochs.append(GovernedEpoch(position, current))
    return GovernedThroughHistory(tuple(epochs))
