"""Which signing keys are trusted at each point of main's history. Pure.

Keys are trusted through history, not through main's tip: a push that bypasses the rulesets
could otherwise add its own key to the policy on main and sign records with it.

- The first policy on main (the adoption) brings the initial key set: the trust anchor. An
  auditor may give keys received out of band (--trusted-keys): they are trusted throughout and
  they replace the anchor, so of the adoption's keys only those among them count (a history
  rewritten from its first commit cannot bring its own anchor); later changes are applied as
  below, judged by the keys trusted before them.
- A later change to the policy's `signing.keys` (a key added, revoked, removed, or its window
  changed) takes effect only when the commit that makes it carries an approved record (a
  governance record, or a promotion record whose merge also changed the policy) signed by a
  key trusted before that commit. Only the change that commit makes (its diff against its
  first parent) is applied, so a key slipped in earlier by a bypass push never rides along.
- Otherwise the change is ignored, and reported as UNTRUSTED_KEY_CHANGE.

Revocation is retroactive, as it always was: a key revoked by a trusted change invalidates
every record it signed. Validity windows are the latest trusted ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from promotion_bot.core.git_facts import TagRecord
from promotion_bot.core.governance import KeyChanges, key_changes
from promotion_bot.core.history import History
from promotion_bot.core.keys import TrustedKey, trusted_from_policy
from promotion_bot.core.models import Policy, SigningKey


class _Decided(Protocol):
    @property
    def is_violation(self) -> bool: ...


class Judged(Protocol):
    @property
    def valid(self) -> bool: ...

    @property
    def record(self) -> _Decided | None: ...


@dataclass(frozen=True)
class KeyEpoch:
    start: int  # the first position on main's history whose records these keys may sign
    entries: tuple[SigningKey, ...]
    because: str


@dataclass(frozen=True)
class TrustFinding:
    code: str
    message: str
    commit: str
    at: dt.datetime


@dataclass
class KeyTrust:
    epochs: list[KeyEpoch]
    extra: tuple[TrustedKey, ...] = ()
    findings: list[TrustFinding] = field(default_factory=list)
    _cache: dict[int, list[TrustedKey]] = field(default_factory=dict, repr=False)

    @classmethod
    def fixed(cls, keys: Sequence[TrustedKey]) -> KeyTrust:
        """The same keys everywhere (callers that judge with a fixed set)."""
        return cls([], tuple(keys))

    def _epoch_index(self, position: int | None) -> int:
        if position is None:
            return len(self.epochs) - 1
        found = -1
        for index, epoch in enumerate(self.epochs):
            if epoch.start <= position:
                found = index
        return found

    def keys_at(self, position: int | None) -> list[TrustedKey]:
        """The keys trusted for a record on the commit at `position` of main's history (None:
        as of main's tip), with the latest windows and every revocation applied."""
        index = self._epoch_index(position)
        if index in self._cache:
            return self._cache[index]
        latest = {entry.keyid: entry for entry in self.epochs[-1].entries} if self.epochs else {}
        revoked = {keyid for keyid, entry in latest.items() if entry.revoked}
        keys: list[TrustedKey] = []
        if index >= 0:
            epoch = self.epochs[index]
            for entry in epoch.entries:
                newest = latest.get(entry.keyid, entry)
                merged = SigningKey(
                    entry.keyid,
                    entry.public_key_pem,
                    newest.not_before,
                    newest.not_after,
                    entry.revoked or entry.keyid in revoked,
                )
                keys.extend(trusted_from_policy([merged], epoch.because))
        keys.extend(self.extra)
        self._cache[index] = keys
        return keys

    def every_key(self) -> list[TrustedKey]:
        """Every key trusted anywhere on the history (to tell signed payloads from junk)."""
        keys: dict[tuple[str, bool], TrustedKey] = {}
        positions: list[int | None] = [epoch.start for epoch in self.epochs]
        for position in positions or [None]:
            for key in self.keys_at(position):
                keys.setdefault((key.fingerprint, key.revoked), key)
        return list(keys.values())

    @property
    def current(self) -> list[TrustedKey]:
        return self.keys_at(None)

    def describe(self) -> list[str]:
        return [f"{key.keyid} ({key.source})" for key in self.current]


def _apply(
    trusted: dict[str, SigningKey], changes: KeyChanges, after: Sequence[SigningKey]
) -> dict[str, SigningKey]:
    new = {entry.keyid: entry for entry in after}
    result = dict(trusted)
    for keyid in changes.removed:
        result.pop(keyid, None)
    for keyid in (*changes.added, *changes.revoked, *changes.changed):
        result[keyid] = new[keyid]
    return result


def trust_through_history(
    history: History,
    policy_at: Callable[[str], Policy | None],
    records_on: Callable[[str], Sequence[TagRecord]],
    judge: Callable[[TagRecord, list[TrustedKey]], Judged],
    extra: Sequence[TrustedKey] = (),
) -> KeyTrust:
    """Walk main's first-parent history once; see the module's docstring."""
    trust = KeyTrust([], tuple(extra))
    trusted: dict[str, SigningKey] | None = None
    previous: tuple[SigningKey, ...] | None = None
    for position, commit in enumerate(history.commits):
        policy = policy_at(commit.sha)
        if policy is None:
            continue  # missing or unreadable: nothing changes (POLICY_UNREADABLE says why)
        entries = policy.signing_keys
        short = commit.sha[:12]
        if trusted is None:
            anchor = entries
            if extra:  # keys received out of band are the anchor: the adoption's count only
                out_of_band = {key.fingerprint for key in extra}  # as far as they agree
                anchor = tuple(
                    entry for entry in entries
                    if _keys({entry.keyid: entry}, "")[0].fingerprint in out_of_band
                )
            trusted = {entry.keyid: entry for entry in anchor}
            previous = entries
            trust.epochs.append(KeyEpoch(position, anchor, f"policy at {short}, the adoption"))
            continue
        if entries == previous:
            continue
        changes = key_changes(previous or (), entries)
        previous = entries
        if not changes.any:
            continue
        keys_before = [*_keys(trusted, trust.epochs[-1].because), *extra]
        approved = [
            tag.name
            for tag in records_on(commit.sha)
            for judged in [judge(tag, keys_before)]
            if judged.valid and judged.record is not None and not judged.record.is_violation
        ]
        if approved:
            trusted = _apply(trusted, changes, entries)
            because = f"policy at {short} ({approved[0]})"
            trust.epochs.append(KeyEpoch(position + 1, tuple(trusted.values()), because))
            continue
        trust.findings.append(
            TrustFinding(
                "UNTRUSTED_KEY_CHANGE",
                f"{short} {changes.describe()} in the policy without an approved record signed "
                "by a key trusted before it: the change is ignored (a push that bypassed the "
                "rulesets, or an unrecorded governance merge)",
                commit.sha,
                commit.committed_at,
            )
        )
    return trust


def _keys(entries: dict[str, SigningKey], because: str) -> list[TrustedKey]:
    return trusted_from_policy(list(entries.values()), because)
