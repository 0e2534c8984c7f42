"""Reading the governed repository's documents into models, collecting every problem.

A document is checked in layers: strict YAML (strict_yaml), the JSON schema (schemas), then the
rules a schema cannot express (cross references, file names). Each layer reports all it finds.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from promotion_bot.core.check_commands import placeholders_in, run_problems
from promotion_bot.core.errors import InputError, Problem
from promotion_bot.core.formats.schemas import validate_document, with_defaults
from promotion_bot.core.formats.strict_yaml import YamlDocument, load_yaml_bytes
from promotion_bot.core.models import (
    KEY_CHANGE_KINDS,
    ApprovalSettings,
    ChangeRequest,
    ChangeTypeRule,
    CheckSpec,
    Condition,
    ConfigKeyWatch,
    GovernanceRule,
    MembershipSource,
    Policy,
    Role,
    RollbackRule,
    SigningKey,
    ValuePredicate,
)
from promotion_bot.core.paths import path_problem

POLICY_PATH = ".promotion/policy.yaml"
BASELINE_PATH = ".promotion/baseline.yaml"
CONFIG_FILE_SUFFIXES = (".yaml", ".yml", ".json")


T = TypeVar("T")


@dataclass
class Loaded(Generic[T]):
    """A model (when the document was good enough to build one) and the problems found."""

    value: T | None
    problems: list[Problem] = field(default_factory=list)
    document: YamlDocument | None = None


def load_change_request(raw: bytes, display_path: str) -> Loaded[ChangeRequest]:
    """Strict YAML, schema, and the file-level rules (name, paths); no repository lookups."""
    return _load_change_request_cached(raw, display_path)


@functools.lru_cache(maxsize=256)
def _load_change_request_cached(raw: bytes, display_path: str) -> Loaded[ChangeRequest]:
    # cached by content (audit and record read each change request more than once, the
    # audit right after the first read: a few hundred suffice, each keeps its located
    # document); the result is shared, so callers must treat it as read-only
    try:
        document = load_yaml_bytes(raw, display_path)
    except InputError as error:
        return Loaded(None, error.problems)
    if not isinstance(document.data, dict):
        return Loaded(
            None,
            [
                document.problem(
                    [], "a change request is a YAML mapping", hint="start from `promotion-bot new`"
                )
            ],
            document,
        )
    problems = validate_document("change-request", document)
    if problems:
        return Loaded(None, problems, document)
    change_request = ChangeRequest.from_data(document.data, display_path)
    problems.extend(_change_request_rules(change_request, document))
    return Loaded(change_request if not problems else None, problems, document)


def _change_request_rules(cr: ChangeRequest, document: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    stem = PurePosixPath(document.path).name.removesuffix(".yaml").removesuffix(".yml")
    if stem != cr.change_id:
        problems.append(
            document.problem(
                ["change_id"],
                f"change_id {cr.change_id!r} does not match the file name {stem!r}",
                hint=f"rename the file to {cr.change_id}.yaml or fix change_id",
            )
        )
    if cr.current_version == cr.proposed_version:
        problems.append(
            document.problem(
                ["proposed_version"],
                f"proposed_version equals current_version ({cr.proposed_version})",
                hint="a promotion moves a target to another version",
            )
        )
    if cr.rollback_of == cr.change_id:
        problems.append(
            document.problem(["rollback_of"], "a change request cannot roll back itself")
        )
    seen: dict[str, int] = {}
    for index, artifact in enumerate(cr.artifacts):
        problem = path_problem(artifact.path)
        if problem:
            problems.append(document.problem(["artifacts", index, "path"], problem))
        if artifact.path in seen:
            problems.append(
                document.problem(
                    ["artifacts", index, "path"],
                    f"artifact {artifact.path!r} is listed twice "
                    f"(first as artifacts[{seen[artifact.path]}])",
                    hint="list each artifact once",
                )
            )
        seen.setdefault(artifact.path, index)
    for index, prompt in enumerate(cr.prompts):
        problem = path_problem(prompt.path)
        if problem:
            problems.append(document.problem(["prompts", index, "path"], problem))
    names = [model.name for model in cr.models]
    for index, name in enumerate(names):
        if names.index(name) != index:
            problems.append(
                document.problem(["models", index, "name"], f"model {name!r} is listed twice")
            )
    return problems


def load_policy(raw: bytes, display_path: str = POLICY_PATH) -> Loaded[Policy]:
    """Strict YAML, schema (with defaults) and cross references of the policy.

    Cached by content: an audit re-evaluates hundreds of merges against the same few policy
    versions. The result is shared, so callers must treat it as read-only.
    """
    return _load_policy_cached(raw, display_path)


@functools.lru_cache(maxsize=32)
def _load_policy_cached(raw: bytes, display_path: str) -> Loaded[Policy]:
    try:
        document = load_yaml_bytes(raw, display_path)
    except InputError as error:
        return Loaded(None, error.problems)
    if not isinstance(document.data, dict):
        return Loaded(None, [document.problem([], "the policy is a YAML mapping")], document)
    problems = validate_document("policy", document)
    if problems:
        return Loaded(None, problems, document)
    data = with_defaults("policy", document.data)
    problems.extend(_policy_references(data, document))
    problems.extend(_signing_key_problems(data, document))
    problems.extend(_key_watch_problems(data, document))
    if problems:
        return Loaded(None, problems, document)
    return Loaded(_build_policy(data, display_path), [], document)


def _policy_references(data: Mapping[str, Any], document: YamlDocument) -> list[Problem]:
    roles = sorted(data["roles"])
    checks = sorted(data["checks"])
    problems: list[Problem] = []

    def need(
        names: Sequence[str], known: list[str], path: list[str | int], kind: str, defaulted: bool
    ) -> None:
        for index, name in enumerate(names):
            if name in known:
                continue
            origin = " (the default for this key)" if defaulted else ""
            where = path if defaulted else [*path, index]
            problems.append(
                document.problem(
                    where,
                    f"{kind} {name!r} is not defined{origin}",
                    hint=f"define it under {kind}s, or use one of: "
                    f"{', '.join(known) or 'none yet'}",
                )
            )

    raw = document.data
    for type_name, rule in data["change_types"].items():
        defaulted = "required_roles" not in raw["change_types"][type_name]
        need(
            rule["required_roles"],
            roles,
            ["change_types", type_name, "required_roles"]
            if not defaulted
            else ["change_types", type_name],
            "role",
            defaulted,
        )
        need(
            rule["required_checks"],
            checks,
            ["change_types", type_name, "required_checks"],
            "check",
            False,
        )
    governance = data.get("governance", {})
    need(
        governance.get("required_roles", []),
        roles,
        ["governance", "required_roles"]
        if "required_roles" in raw.get("governance", {})
        else ["governance"]
        if "governance" in raw
        else [],
        "role",
        "required_roles" not in raw.get("governance", {}),
    )
    for index, condition in enumerate(data.get("conditions", [])):
        need(
            condition["require_roles"], roles, ["conditions", index, "require_roles"], "role", False
        )
    rollback = data.get("rollback", {})
    rollback_raw = raw.get("rollback", {})
    need(
        rollback.get("required_roles", []),
        roles,
        ["rollback", "required_roles"]
        if "required_roles" in rollback_raw
        else ["rollback"]
        if "rollback" in raw
        else [],
        "role",
        "required_roles" not in rollback_raw,
    )
    need(
        rollback.get("required_checks", []), checks, ["rollback", "required_checks"], "check", False
    )
    names = [c["name"] for c in data.get("conditions", [])]
    for index, name in enumerate(names):
        if names.index(name) != index:
            problems.append(
                document.problem(
                    ["conditions", index, "name"], f"condition {name!r} is defined twice"
                )
            )
    membership = raw.get("membership", {})
    roster_problem = path_problem(data["membership"]["roster"])
    if roster_problem:
        problems.append(
            document.problem(
                ["membership", "roster"] if "roster" in membership else ["membership"],
                f"roster {data['membership']['roster']!r}: {roster_problem}",
                hint="the roster is a file in this repository, e.g. .promotion/roster.yaml",
            )
        )
    for name, check in data["checks"].items():
        manifest = check.get("with", {}).get("manifest")
        manifest_problem = path_problem(manifest) if isinstance(manifest, str) else None
        if manifest_problem:
            problems.append(
                document.problem(
                    ["checks", name, "with", "manifest"], f"manifest: {manifest_problem}"
                )
            )
        problems.extend(_command_problems(name, check, document))
    return problems


def _command_problems(
    name: str, check: Mapping[str, Any], document: YamlDocument
) -> list[Problem]:
    """A command that splits, and placeholders that exist and fit the check's for_each."""
    if "run" in check:
        where: list[str | int] = ["checks", name, "run"]
        run, for_each = check["run"], check.get("for_each")
    elif check.get("builtin") == "no-regression":
        where = ["checks", name, "with", "run"]
        run, for_each = check["with"]["run"], None
    else:
        return []
    if isinstance(run, str):
        try:
            argv = shlex.split(run)
        except ValueError as error:
            return [
                document.problem(
                    where,
                    f"cannot split the command: {error}",
                    hint="balance the quotes, or give a list",
                )
            ]
    else:
        argv = list(run)
    if "run" not in check:
        used = sorted(placeholders_in(argv) - {"output"})
        return [
            document.problem(
                where,
                f"{{{used[0]}}}: the evaluation of no-regression knows only {{output}}",
                hint="it runs on the base and on the head alike; read what it needs from the "
                "repository",
            )
        ] if used else []
    return [
        document.problem(
            where if index is None or isinstance(run, str) else [*where, index],
            message,
            hint=hint,
        )
        for index, message, hint in run_problems(argv, for_each)
    ]


def _signing_key_problems(data: Mapping[str, Any], document: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    keys = data.get("signing", {}).get("keys", [])
    if not keys:
        return problems
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    ids = [key["keyid"] for key in keys]
    for index, key in enumerate(keys):
        if ids.index(key["keyid"]) != index:
            problems.append(
                document.problem(
                    ["signing", "keys", index, "keyid"], f"keyid {key['keyid']!r} is used twice"
                )
            )
        try:
            public = load_pem_public_key(key["public_key"].encode())
        except ValueError:
            problems.append(
                document.problem(
                    ["signing", "keys", index, "public_key"],
                    "not a readable PEM public key",
                    hint="paste the output of promotion-bot keys generate",
                )
            )
            continue
        if not isinstance(public, Ed25519PublicKey):
            problems.append(
                document.problem(
                    ["signing", "keys", index, "public_key"],
                    "not an Ed25519 key",
                    hint="records are signed with Ed25519 only",
                )
            )
    return problems


def _key_watch(data: Mapping[str, Any]) -> ConfigKeyWatch:
    def listed(key: str) -> tuple[str, ...] | None:
        return tuple(data[key]) if key in data else None

    return ConfigKeyWatch(
        files=tuple(data["files"]),
        keys=tuple(data["keys"]),
        changes=tuple(data.get("changes", KEY_CHANGE_KINDS)),
        predicate=ValuePredicate(
            value_in=listed("in"),
            value_not_in=listed("not_in"),
            host_in=listed("host_in"),
            host_not_in=listed("host_not_in"),
        ),
    )


def _key_watch_problems(data: Mapping[str, Any], document: YamlDocument) -> list[Problem]:
    """What the schema cannot say about keys inside files: files that cannot hold keys, host
    networks that do not parse, and predicates that can never fire."""
    problems: list[Problem] = []
    watches: list[tuple[list[str | int], Mapping[str, Any]]] = []
    for type_name, rule in data["change_types"].items():
        for index, watch in enumerate(rule.get("keys", [])):
            watches.append((["change_types", type_name, "keys", index], watch))
    for number, condition in enumerate(data.get("conditions", [])):
        for index, watch in enumerate(condition["when"].get("config_keys", [])):
            watches.append((["conditions", number, "when", "config_keys", index], watch))
    for where, watch in watches:
        for position, pattern in enumerate(watch["files"]):
            name = pattern.rstrip("/").rsplit("/", 1)[-1].lower()
            if "." in name and not name.endswith((*CONFIG_FILE_SUFFIXES, "*")):
                problems.append(
                    document.problem(
                        [*where, "files", position],
                        f"{pattern!r} is not a YAML or JSON file: keys can be read only from "
                        "*.yaml, *.yml and *.json files",
                        hint="name the config files, e.g. configs/models/*.yaml",
                    )
                )
        for key in ("host_in", "host_not_in"):
            for position, host in enumerate(watch.get(key, [])):
                if "/" in host:
                    try:
                        ipaddress.ip_network(host, strict=False)
                    except ValueError:
                        problems.append(
                            document.problem(
                                [*where, key, position],
                                f"{host!r} is not an IP network",
                                hint="write a network as address/prefix, e.g. 10.0.0.0/8",
                            )
                        )
        positive = [key for key in ("in", "host_in") if key in watch]
        if positive and watch.get("changes") == ["removed"]:
            problems.append(
                document.problem(
                    [*where, positive[0]],
                    f"{positive[0]} can never hold: this entry counts only removed keys, and a "
                    "removed key has no value on the head",
                    hint="use not_in / host_not_in, or count added and changed keys too",
                )
            )
        overlap = sorted(set(watch.get("in", [])) & set(watch.get("not_in", [])))
        if overlap:
            problems.append(
                document.problem(
                    [*where, "not_in"],
                    f"{', '.join(overlap)} is listed in both in and not_in, so it can never fire",
                    hint="keep one of the two lists",
                )
            )
    return problems


def _timestamp(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _build_policy(data: Mapping[str, Any], display_path: str) -> Policy:
    governance, rollback = data["governance"], data["rollback"]
    approvals, membership = data["approvals"], data["membership"]
    return Policy(
        roles=MappingProxyType(
            {
                name: Role(
                    name, tuple(role["owners"]), role["min_approvals"], role.get("description", "")
                )
                for name, role in data["roles"].items()
            }
        ),
        change_types=MappingProxyType(
            {
                name: ChangeTypeRule(
                    name,
                    tuple(rule.get("paths", [])),
                    tuple(rule["required_roles"]),
                    tuple(rule["required_checks"]),
                    rule.get("description", ""),
                    keys=tuple(_key_watch(w) for w in rule.get("keys", [])),
                )
                for name, rule in data["change_types"].items()
            }
        ),
        governance=GovernanceRule(tuple(governance["paths"]), tuple(governance["required_roles"])),
        conditions=tuple(
            Condition(
                name=c["name"],
                require_roles=tuple(c["require_roles"]),
                paths=tuple(c["when"].get("paths", [])),
                config_keys=tuple(_key_watch(w) for w in c["when"].get("config_keys", [])),
                description=c.get("description", ""),
            )
            for c in data.get("conditions", [])
        ),
        checks=MappingProxyType(
            {
                name: CheckSpec(
                    name=name,
                    run=(
                        tuple(shlex.split(c["run"]))
                        if isinstance(c.get("run"), str)
                        else tuple(c["run"])
                        if c.get("run")
                        else None
                    ),
                    builtin=c.get("builtin"),
                    timeout=c["timeout"],
                    settings=MappingProxyType(dict(c.get("with", {}))),
                    description=c.get("description", ""),
                    for_each=c.get("for_each"),
                    artifact_paths=tuple(c.get("artifact_paths", [])),
                )
                for name, c in data["checks"].items()
            }
        ),
        rollback=RollbackRule(
            tuple(rollback["required_roles"]), tuple(rollback["required_checks"])
        ),
        approvals=ApprovalSettings(
            approvals["allow_approvals_on_earlier_commits"],
            approvals["request_reviews"],
            tuple(approvals["bots"]),
            approvals["allow_contributors"],
        ),
        membership=MembershipSource(membership["source"], membership["roster"]),
        signing_keys=tuple(
            SigningKey(
                k["keyid"],
                k["public_key"],
                _timestamp(k.get("not_before")),
                _timestamp(k.get("not_after")),
                k["revoked"],
            )
            for k in data.get("signing", {}).get("keys", [])
        ),
        change_request_dir=data.get("change_requests", {}).get("directory", "change-requests"),
        source_path=display_path,
    )
