"""Domain objects: frozen dataclasses built from validated documents. No I/O here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

CHANGE_TYPES = ("ruleset", "model", "prompt", "template")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class GovernanceRule:
    paths: tuple[str, ...]
    required_roles: tuple[str, ...]


@dataclass(frozen=True)
class ConfigKeyWatch:
    files: tuple[str, ...]
    keys: tuple[str, ...]


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
