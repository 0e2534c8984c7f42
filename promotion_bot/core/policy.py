"""Which roles must approve a pull request, and why. Pure: no I/O.

The required roles are the union of
(a) each change request's change type (a rollback change request: the rollback rule),
(b) every governed path the diff touches (change-type paths, governance paths), and
(c) keys inside YAML/JSON files that a change type governs (`change_types.<type>.keys`),
    whose value differs between base and head, and
(d) the policy's conditions computed from the diff itself: changed paths, and watched config
    keys that were added, removed or changed between base and head, optionally only when the
    value on the head satisfies a predicate (in, not_in, host_in, host_not_in).
Nothing a change request says can remove a role that (b), (c) or (d) adds.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from promotion_bot.core.errors import InputError, Problem
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import (
    ChangeRequest,
    ConfigKeyWatch,
    Policy,
    ValuePredicate,
)

_MISSING: Any = object()


@dataclass(frozen=True)
class FileChange:
    """One changed file (git diff --name-status): A, M, D, R, C or T; old_path for R and C."""

    status: str
    path: str
    old_path: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path this change touches: a rename touches where it came from too."""
        if self.old_path and self.old_path != self.path:
            return (self.old_path, self.path)
        return (self.path,)


@dataclass(frozen=True)
class KeyChange:
    """A watched config key whose value differs between base and head.

    before/after are the values as JSON text, None when the key is absent on that side.
    """

    file: str
    key: str
    before: str | None
    after: str | None
    old_file: str | None = None  # a renamed file: where it came from

    @property
    def files(self) -> tuple[str, ...]:
        """Both sides of a rename: a watch on either one sees the key."""
        if self.old_file and self.old_file != self.file:
            return (self.old_file, self.file)
        return (self.file,)

    @property
    def kind(self) -> str:
        """added, removed or changed."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"

    def describe(self) -> str:
        before = "absent" if self.before is None else self.before
        after = "absent" if self.after is None else self.after
        renamed = f" (renamed from {self.old_file})" if self.old_file in self.files[:-1] else ""
        return f"{self.file}{renamed}: {self.key} changed from {before} to {after}"


@dataclass(frozen=True)
class Reason:
    """Why a role is required. `path` names the changed file the reason is about (the file
    whose CODEOWNERS must list an owner of the role); None for a change request's type."""

    kind: str  # change_type | rollback | path | key | governance | condition
    message: str
    path: str | None = None
    change_id: str | None = None
    condition: str | None = None
    key_change: KeyChange | None = None


@dataclass(frozen=True)
class RoleRequirement:
    role: str
    owners: tuple[str, ...]
    min_approvals: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Requirements:
    roles: tuple[RoleRequirement, ...]
    governed_files: tuple[str, ...]
    problems: tuple[Problem, ...] = field(default=())


def governed_paths(policy: Policy) -> tuple[str, ...]:
    """Every glob the policy governs: change types (their paths and the files whose keys they
    govern), governance, conditions, watched configs."""
    patterns: list[str] = []
    for rule in policy.change_types.values():
        patterns.extend(rule.paths)
        for watch in rule.keys:
            patterns.extend(watch.files)
    patterns.extend(policy.governance.paths)
    for condition in policy.conditions:
        patterns.extend(condition.paths)
        for watch in condition.config_keys:
            patterns.extend(watch.files)
    return tuple(dict.fromkeys(patterns))


def is_governed(policy: Policy, path: str) -> bool:
    """Whether a change of `path` needs someone's approval: the policy's governed paths, and
    the change request directory, which is governed whatever the policy says."""
    return match_any(governed_paths(policy), path) or in_change_request_dir(policy, path)


def in_change_request_dir(policy: Policy, path: str) -> bool:
    return path.startswith(f"{policy.change_request_dir.rstrip('/')}/")


def _adds_change_request(policy: Policy, change: FileChange, path: str) -> bool:
    """The change brings a new change request file (its type decides its roles)."""
    return (
        change.status in ("A", "R", "C")
        and path == change.path
        and PurePosixPath(path).suffix in (".yaml", ".yml")
        and in_change_request_dir(policy, path)
    )


def key_watches(policy: Policy) -> Iterator[ConfigKeyWatch]:
    """Every watch on keys inside files: change types' governed keys and conditions'."""
    for rule in policy.change_types.values():
        yield from rule.keys
    for condition in policy.conditions:
        yield from condition.config_keys


def key_governed_files(policy: Policy) -> tuple[str, ...]:
    """The globs of files some of whose keys a change type governs."""
    return tuple(
        dict.fromkeys(
            pattern
            for rule in policy.change_types.values()
            for watch in rule.keys
            for pattern in watch.files
        )
    )


def watched_config_files(policy: Policy, changes: Iterable[FileChange]) -> list[FileChange]:
    """The changed files whose keys a change type or a condition watches (they need a
    base/head diff)."""
    patterns = [pattern for watch in key_watches(policy) for pattern in watch.files]
    return [
        change
        for change in changes
        if any(match_any(patterns, path) for path in change.paths)
    ]


def watched_keys(policy: Policy, *paths: str | None) -> tuple[str, ...]:
    """The key patterns watched in the file at any of `paths` (both sides of a rename), by
    any change type or condition."""
    keys: list[str] = []
    for watch in key_watches(policy):
        if any(path and match_any(watch.files, path) for path in paths):
            keys.extend(watch.keys)
    return tuple(dict.fromkeys(keys))


def governed_keys(policy: Policy, path: str) -> tuple[str, ...]:
    """The key patterns some change type governs in the file at `path` (its `keys`)."""
    return tuple(
        dict.fromkeys(
            key
            for rule in policy.change_types.values()
            for watch in rule.keys
            if match_any(watch.files, path)
            for key in watch.keys
        )
    )


def key_governing_types(policy: Policy, key_change: KeyChange) -> list[str]:
    """The change types that govern the key that changed (`change_types.<type>.keys`)."""
    return [
        name
        for name, rule in policy.change_types.items()
        if any(watch_matches(watch, key_change) for watch in rule.keys)
    ]


def watch_matches(watch: ConfigKeyWatch, key_change: KeyChange) -> bool:
    """Whether a key change is one `watch` looks for: its file and key, a kind of change it
    counts, and a value on the head that satisfies its predicate."""
    return (
        any(match_any(watch.files, file) for file in key_change.files)
        and any(key_matches(pattern, key_change.key) for pattern in watch.keys)
        and key_change.kind in watch.changes
        and predicate_holds(watch.predicate, key_change.after)
    )


def predicate_holds(predicate: ValuePredicate, after: str | None) -> bool:
    """`after` is the value on the head as JSON text (None: the key is absent there)."""
    if predicate.empty:
        return True
    value = _scalar_text(after)
    host = _host_of(after)
    readable = host is not _UNREADABLE
    host_in, host_not_in = predicate.host_in, predicate.host_not_in
    failed = (
        (predicate.value_in is not None and (value is None or value not in predicate.value_in))
        or (predicate.value_not_in is not None and value in predicate.value_not_in)
        or (host_in is not None and readable and not _host_listed(host, host_in))
        or (host_not_in is not None and readable and _host_listed(host, host_not_in))
    )
    return not failed


def describe_predicate(watch: ConfigKeyWatch) -> str:
    """The watch's predicate as people read it, e.g. "not in [ollama, local]"; "" for none."""
    parts = []
    predicate = watch.predicate
    for label, listed in (
        ("in", predicate.value_in),
        ("not in", predicate.value_not_in),
        ("host in", predicate.host_in),
        ("host not in", predicate.host_not_in),
    ):
        if listed is not None:
            parts.append(f"{label} [{', '.join(listed)}]")
    return " and ".join(parts)


_UNREADABLE: Any = object()
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


def _scalar_text(after: str | None) -> str | None:
    """A scalar value as the policy lists it (strings as they are, others as JSON text);
    None for an absent key or a list or mapping (which no list can contain)."""
    if after is None:
        return None
    value = json.loads(after)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return None
    return json.dumps(value)


def _host_of(after: str | None) -> Any:
    """The host of a URL or host[:port] value, lower-case; None for an absent key;
    _UNREADABLE when the value is not a string whose host can be read."""
    if after is None:
        return None
    value = json.loads(after)
    if not isinstance(value, str) or not value.strip():
        return _UNREADABLE
    text = value.strip()
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return _UNREADABLE
    if not host:
        return _UNREADABLE
    host = host.rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return host if _HOSTNAME.match(host) else _UNREADABLE


def _host_listed(host: str | None, listed: Sequence[str]) -> bool:
    if host is None:
        return False
    for entry in listed:
        entry = entry.lower().rstrip(".")
        if "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        elif entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry or _same_ip(host, entry):
            return True
    return False


def _same_ip(host: str, entry: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(entry)
    except ValueError:
        return False


def required_roles(
    policy: Policy,
    change_requests: Sequence[ChangeRequest],
    changes: Sequence[FileChange],
    config_changes: Sequence[KeyChange],
) -> Requirements:
    """Every required role with its reasons, in the policy's role order."""
    found: dict[str, dict[Reason, None]] = {}  # role -> reasons, ordered and unique
    problems: list[Problem] = []

    def add(roles: Iterable[str], reason: Reason) -> None:
        for role in roles:
            found.setdefault(role, {})[reason] = None

    for cr in sorted(change_requests, key=lambda c: (c.source_path, c.change_id)):
        if cr.is_rollback:
            add(
                policy.rollback.required_roles,
                Reason(
                    "rollback",
                    f"{cr.change_id} rolls back {cr.rollback_of} (rollback rule)",
                    change_id=cr.change_id,
                ),
            )
            continue
        rule = policy.change_types.get(cr.change_type)
        if rule is None:
            problems.append(
                Problem(
                    file=cr.source_path or cr.change_id,
                    field="change_type",
                    message=f"change type {cr.change_type!r} is not governed by the policy",
                    hint="use one of: " + ", ".join(policy.change_types),
                )
            )
            continue
        add(
            rule.required_roles,
            Reason(
                "change_type",
                f"{cr.change_id} is a {cr.change_type} change",
                change_id=cr.change_id,
            ),
        )

    governed: dict[str, None] = {}
    patterns = governed_paths(policy)
    for change in sorted(changes, key=lambda c: c.path):
        for path in change.paths:
            for roles, reason in _path_reasons(policy, path):
                add(roles, reason)
            if match_any(patterns, path):
                governed[path] = None
            if (
                in_change_request_dir(policy, path)
                and not _adds_change_request(policy, change, path)
                and not match_any(policy.governance.paths, path)
            ):
                # merged change requests are the promotion history: whatever the policy's
                # governance paths say, touching that directory is a governance change
                add(
                    policy.governance.required_roles,
                    Reason(
                        "governance",
                        f"{path} is in {policy.change_request_dir.rstrip('/')}/, the promotion "
                        "history (always governed)",
                        path=path,
                    ),
                )
                governed[path] = None

    for key_change in sorted(config_changes, key=lambda k: (k.file, k.key)):
        for type_name in key_governing_types(policy, key_change):
            add(
                policy.change_types[type_name].required_roles,
                Reason(
                    "key",
                    f"{key_change.describe()} (a governed {type_name} key)",
                    path=key_change.file,
                    key_change=key_change,
                ),
            )
        for condition in policy.conditions:
            for watch in condition.config_keys:
                if watch_matches(watch, key_change):
                    predicate = describe_predicate(watch)
                    add(
                        condition.require_roles,
                        Reason(
                            "condition",
                            f"condition {condition.name}: {key_change.describe()}"
                            + (f" ({predicate})" if predicate else ""),
                            path=key_change.file,
                            condition=condition.name,
                            key_change=key_change,
                        ),
                    )

    requirements = tuple(
        RoleRequirement(
            role=name,
            owners=role.owners,
            min_approvals=role.min_approvals,
            reasons=tuple(found[name]),
        )
        for name, role in policy.roles.items()
        if name in found
    )
    unknown = sorted(set(found) - set(policy.roles))
    problems.extend(
        Problem(
            file=policy.source_path,
            message=f"role {name!r} is required but not defined",
            hint="define it under roles",
        )
        for name in unknown
    )
    return Requirements(requirements, tuple(governed), tuple(problems))


def _path_reasons(policy: Policy, path: str) -> Iterator[tuple[tuple[str, ...], Reason]]:
    for name, rule in policy.change_types.items():
        if match_any(rule.paths, path):
            yield (
                rule.required_roles,
                Reason("path", f"{path} is a governed {name} path", path=path),
            )
    if match_any(policy.governance.paths, path):
        yield (
            policy.governance.required_roles,
            Reason("governance", f"{path} governs promotion itself", path=path),
        )
    for condition in policy.conditions:
        if condition.paths and match_any(condition.paths, path):
            yield (
                condition.require_roles,
                Reason(
                    "condition",
                    f"condition {condition.name}: {path} changed",
                    path=path,
                    condition=condition.name,
                ),
            )


def key_matches(pattern: str, key: str) -> bool:
    """Dotted key `pattern` ('*' = any one key or list index) against a concrete dotted key."""
    wanted = pattern.split(".")
    actual = key.split(".")
    return len(wanted) == len(actual) and all(
        w == "*" or w == a for w, a in zip(wanted, actual, strict=True)
    )


def parse_config(raw: bytes, display_path: str) -> Any:
    """A YAML (strict loader) or JSON config; InputError with a location when it cannot be."""
    suffix = PurePosixPath(display_path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_yaml_bytes(raw, display_path).data
    if suffix == ".json":
        try:
            return parse_json(raw)
        except JsonError as error:
            problem = error.problem(display_path)
        raise InputError(problem.render(), [problem])
    problem = Problem(
        file=display_path,
        message="config keys are watched here, but only YAML and JSON files can be read",
        hint="name watched config files *.yaml, *.yml or *.json in the policy",
    )
    raise InputError(problem.render(), [problem])


def config_key_changes(
    path: str,
    before: bytes | None,
    after: bytes | None,
    keys: Sequence[str],
    *,
    old_path: str | None = None,
) -> tuple[list[KeyChange], list[Problem]]:
    """Watched keys whose value differs between `before` (base) and `after` (head).

    None for a side means the file does not exist there: every watched key present on the
    other side counts as added or removed. A side that cannot be parsed is a problem, never
    "no change".
    """
    problems: list[Problem] = []
    sides: list[Any] = []
    for raw, display in ((before, old_path or path), (after, path)):
        if raw is None:
            sides.append(_MISSING)
            continue
        try:
            sides.append(parse_config(raw, display))
        except InputError as error:
            problems.extend(error.problems)
            sides.append(_MISSING)
    if problems:
        return [], problems
    old_values = _select_all(sides[0], keys)
    new_values = _select_all(sides[1], keys)
    changes = []
    for key in sorted(set(old_values) | set(new_values)):
        old = old_values.get(key)
        new = new_values.get(key)
        if old != new:
            changes.append(KeyChange(path, key, old, new, old_path))
    return changes, []


def _select_all(data: Any, patterns: Sequence[str]) -> dict[str, str]:
    """Concrete dotted key -> canonical JSON of its value, for every key matching a pattern."""
    if data is _MISSING:
        return {}
    selected: dict[str, str] = {}
    for pattern in patterns:
        for parts, value in _select(data, pattern.split("."), ()):
            selected[".".join(parts)] = json.dumps(value, sort_keys=True, default=str)
    return selected


def _select(
    value: Any, segments: Sequence[str], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    if not segments:
        yield prefix, value
        return
    head, rest = segments[0], segments[1:]
    items: Iterable[tuple[str, Any]]
    if isinstance(value, Mapping):
        items = ((str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return
    for key, child in items:
        if head in ("*", key):
            yield from _select(child, rest, (*prefix, key))
