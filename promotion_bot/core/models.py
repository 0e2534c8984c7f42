"""Domain objects: frozen dataclasses built from validated documents. No I/O here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from promotion_bot.core.globs import match_any

CHANGE_TYPES = ("ruleset", "model", "prompt", "template")


@dataclass(frozen=True, slots=True)
class Artifact:
    path: str
    sha256: str


@dataclass(frozen=True)
class ModelPin:
    name: str
    identifier: str


@dataclass(frozen=True)
class PromptRef:
    path: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """The author-written change request (schemas/change-request.schema.json)."""

    change_id: str
    change_type: str
    target: str
    title: str
    proposed_version: str
    current_version: str | None
    artifacts: tuple[Artifact, ...]
    rollback_plan: str
    models: tuple[ModelPin, ...] = ()
    prompts: tuple[PromptRef, ...] = ()
    rollback_of: str | None = None
    source_path: str = ""

    @property
    def is_rollback(self) -> bool:
        return self.rollback_of is not None

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source_path: str = "") -> ChangeRequest:
        """Build from data that already passed the schema."""
        return cls(
            change_id=data["change_id"],
            change_type=data["change_type"],
            target=data.get("target") or data["change_type"],
            title=data["title"],
            proposed_version=data["proposed_version"],
            current_version=data["current_version"],
            artifacts=tuple(Artifact(a["path"], a["sha256"]) for a in data["artifacts"]),
            rollback_plan=data["rollback_plan"],
            models=tuple(ModelPin(m["name"], m["identifier"]) for m in data.get("models", [])),
            prompts=tuple(
                PromptRef(p["path"], p["version"], p["sha256"]) for p in data.get("prompts", [])
            ),
            rollback_of=data.get("rollback_of"),
            source_path=source_path,
        )

    def as_data(self) -> dict[str, Any]:
        """The change request as it is written in YAML (keys in the documented order)."""
        data: dict[str, Any] = {
            "change_id": self.change_id,
            "change_type": self.change_type,
            "target": self.target,
            "title": self.title,
            "proposed_version": self.proposed_version,
            "current_version": self.current_version,
            "artifacts": [{"path": a.path, "sha256": a.sha256} for a in self.artifacts],
            "rollback_plan": self.rollback_plan,
        }
        if self.models:
            data["models"] = [{"name": m.name, "identifier": m.identifier} for m in self.models]
        if self.prompts:
            data["prompts"] = [
                {"path": p.path, "version": p.version, "sha256": p.sha256} for p in self.prompts
            ]
        if self.rollback_of:
            data["rollback_of"] = self.rollback_of
        return data


@dataclass(frozen=True)
class Role:
    name: str
    owners: tuple[str, ...]
    min_approvals: int = 1
    description: str = ""


@dataclass(frozen=True)
class ChangeTypeRule:
    name: str
    paths: tuple[str, ...]
    required_roles: tuple[str, ...]
    required_checks: tuple[str, ...]
    description: str = ""
    # keys inside YAML/JSON files governed as this change type (the rest of those files is
    # governed as the rest of the policy says)
    keys: tuple[ConfigKeyWatch, ...] = ()

    def governs_file(self, path: str) -> bool:
        """Whether `path` can hold this type's artifacts: under its paths, or one of the
        files whose keys it governs."""
        return match_any(self.paths, path) or any(match_any(w.files, path) for w in self.keys)


@dataclass(frozen=True)
class GovernanceRule:
    paths: tuple[str, ...]
    required_roles: tuple[str, ...]


KEY_CHANGE_KINDS = ("added", "removed", "changed")


@dataclass(frozen=True)
class ValuePredicate:
    """What a watched key's value on the head must satisfy for a condition to fire.

    Every given test must hold (and). An absent value (the key was removed) is in no list and
    on no host. A value whose host cannot be read satisfies host_in and host_not_in alike:
    conditions only add roles, so when in doubt they fire.
    """

    value_in: tuple[str, ...] | None = None
    value_not_in: tuple[str, ...] | None = None
    host_in: tuple[str, ...] | None = None
    host_not_in: tuple[str, ...] | None = None

    @property
    def empty(self) -> bool:
        return all(
            test is None
            for test in (self.value_in, self.value_not_in, self.host_in, self.host_not_in)
        )


@dataclass(frozen=True)
class ConfigKeyWatch:
    """Keys inside YAML/JSON files: which changes count (added, removed, changed) and,
    for conditions, an optional predicate on the value on the head."""

    files: tuple[str, ...]
    keys: tuple[str, ...]
    changes: tuple[str, ...] = KEY_CHANGE_KINDS
    predicate: ValuePredicate = field(default_factory=ValuePredicate)


@dataclass(frozen=True)
class Condition:
    name: str
    require_roles: tuple[str, ...]
    paths: tuple[str, ...] = ()
    config_keys: tuple[ConfigKeyWatch, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class CheckSpec:
    name: str
    run: tuple[str, ...] | None
    builtin: str | None
    timeout: int
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""
    for_each: str | None = None  # command checks: None (once), change_request or artifact
    artifact_paths: tuple[str, ...] = ()  # command checks: only these artifacts (globs)


@dataclass(frozen=True)
class RollbackRule:
    required_roles: tuple[str, ...]
    required_checks: tuple[str, ...]


@dataclass(frozen=True)
class ApprovalSettings:
    allow_approvals_on_earlier_commits: bool = False
    request_reviews: bool = False
    bots: tuple[str, ...] = ()
    allow_contributors: bool = False


@dataclass(frozen=True)
class MembershipSource:
    source: str = "github"
    roster: str = ".promotion/roster.yaml"


@dataclass(frozen=True)
class SigningKey:
    keyid: str
    public_key_pem: str
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Policy:
    """The governed repository's .promotion/policy.yaml (schemas/policy.schema.json)."""

    roles: Mapping[str, Role]
    change_types: Mapping[str, ChangeTypeRule]
    governance: GovernanceRule
    conditions: tuple[Condition, ...]
    checks: Mapping[str, CheckSpec]
    rollback: RollbackRule
    approvals: ApprovalSettings
    membership: MembershipSource
    signing_keys: tuple[SigningKey, ...]
    change_request_dir: str = "change-requests"
    source_path: str = ".promotion/policy.yaml"
