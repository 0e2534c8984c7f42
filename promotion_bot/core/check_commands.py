"""What a command check receives: its argument lists and environment, from the change requests
that require it. Pure: the check runner (promotion_bot.adapters.check_runner) runs the result.

A check's `run` may name the change being promoted with placeholders, and every command check
gets the same facts as environment variables (docs/checks.md, "What a command check
receives"). Placeholders are substituted into the argument list after it was split, never into
a shell command line: a path is one argument (or, for {artifacts}, one argument per path), so
spaces, quotes, `;`, `$(...)` or a leading `-` in a path are data. The environment variables
carry the same values; a check that needs a shell reads them as "$PROMOTION_ARTIFACT".

`for_each` chooses how often the command runs: once with everything (the default), once per
change request, or once per artifact. `artifact_paths` keeps only the artifacts under those
globs.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promotion_bot.core.globs import match_any
from promotion_bot.core.models import ChangeRequest, CheckSpec

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# expand to one argument per item: they must be an argument of their own
LIST_PLACEHOLDERS = ("artifacts", "change_requests")
# one value per change request: they need for_each (change_request or artifact)
CHANGE_REQUEST_PLACEHOLDERS = (
    "change_request",
    "change_id",
    "change_type",
    "target",
    "proposed_version",
    "current_version",
)
ARTIFACT_PLACEHOLDER = "artifact"
PLACEHOLDERS = (*LIST_PLACEHOLDERS, ARTIFACT_PLACEHOLDER, *CHANGE_REQUEST_PLACEHOLDERS)
FOR_EACH = ("change_request", "artifact")
ENV_PREFIX = "PROMOTION_"


@dataclass(frozen=True)
class Invocation:
    """One run of a command check: the argument list, the extra environment, and what it is
    about (shown in the log and the evidence when a check runs more than once)."""

    argv: tuple[str, ...]
    environment: Mapping[str, str]
    subject: str  # "" (once), a change_id, or an artifact path
    artifacts: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The invocations of a check, or why there is nothing to run (which fails the check)."""

    invocations: tuple[Invocation, ...]
    nothing: str | None = None


def command_label(argv: Sequence[str]) -> str:
    """A check's command as people read it: quoted like a shell would need it, with its
    placeholders left as they are written in the policy ({artifacts}, not '{artifacts}')."""
    return " ".join(arg if PLACEHOLDER.fullmatch(arg) else shlex.quote(arg) for arg in argv)


def placeholders_in(argv: Sequence[str]) -> set[str]:
    return {name for arg in argv for name in PLACEHOLDER.findall(arg)}


def run_problems(argv: Sequence[str], for_each: str | None) -> list[tuple[int | None, str, str]]:
    """What is wrong with the placeholders of a check's `run` as (argument index, message,
    hint); the index is None for the command as a whole. The policy loader locates them."""
    problems: list[tuple[int | None, str, str]] = []
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    for index, arg in enumerate(argv):
        for name in PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                problems.append(
                    (index, f"unknown placeholder {{{name}}}", f"the placeholders are {known}")
                )
            elif name in LIST_PLACEHOLDERS and arg != "{" + name + "}":
                problems.append(
                    (
                        index,
                        f"{{{name}}} becomes one argument per item, so it must be an argument "
                        f"of its own, not part of {arg!r}",
                        f"write {{{name}}} alone, or use for_each and a singular placeholder",
                    )
                )
            elif name == ARTIFACT_PLACEHOLDER and for_each != "artifact":
                problems.append(
                    (
                        index,
                        "{artifact} names one artifact: the check must run once per artifact",
                        "add for_each: artifact, or use {artifacts} for all at once",
                    )
                )
            elif name in CHANGE_REQUEST_PLACEHOLDERS and for_each is None:
                problems.append(
                    (
                        index,
                        f"{{{name}}} names one change request, but a pull request may add "
                        "several: the check must run once per change request",
                        "add for_each: change_request (or for_each: artifact)",
                    )
                )
    return problems


def plan_invocations(spec: CheckSpec, change_requests: Sequence[ChangeRequest]) -> Plan:
    """The invocations of command check `spec` for the change requests that require it."""
    assert spec.run is not None
    crs = sorted(change_requests, key=lambda cr: cr.change_id)
    wanted = placeholders_in(spec.run)
    uses_artifacts = bool(wanted & {"artifacts", ARTIFACT_PLACEHOLDER})
    scopes: list[tuple[tuple[ChangeRequest, ...], tuple[str, ...], str]] = []
    if spec.for_each == "artifact":
        for cr in crs:
            for path in _artifacts(spec, [cr]):
                scopes.append(((cr,), (path,), path))
    elif spec.for_each == "change_request":
        for cr in crs:
            paths = _artifacts(spec, [cr])
            if paths or not uses_artifacts:
                scopes.append(((cr,), paths, cr.change_id))
    else:
        paths = _artifacts(spec, crs)
        if paths or not uses_artifacts:
            scopes.append((tuple(crs), paths, ""))
    if not scopes:
        return Plan((), _nothing(spec, crs))
    return Plan(tuple(_invocation(spec.run, *scope) for scope in scopes))


def _artifacts(spec: CheckSpec, crs: Sequence[ChangeRequest]) -> tuple[str, ...]:
    paths = [artifact.path for cr in crs for artifact in cr.artifacts]
    if spec.artifact_paths:
        paths = [path for path in paths if match_any(spec.artifact_paths, path)]
    return tuple(dict.fromkeys(paths))


def _nothing(spec: CheckSpec, crs: Sequence[ChangeRequest]) -> str:
    scope = f" under {', '.join(spec.artifact_paths)}" if spec.artifact_paths else ""
    ids = ", ".join(cr.change_id for cr in crs) or "no change request"
    return (
        f"nothing to check: {ids} declare no artifact{scope} for this check; fix the check's "
        "artifact_paths in the policy"
    )


def _invocation(
    template: Sequence[str],
    crs: tuple[ChangeRequest, ...],
    artifacts: tuple[str, ...],
    subject: str,
) -> Invocation:
    single = crs[0] if len(crs) == 1 else None
    values: dict[str, str] = {}
    if single is not None:
        values = {
            "change_request": single.source_path,
            "change_id": single.change_id,
            "change_type": single.change_type,
            "target": single.target,
            "proposed_version": single.proposed_version,
            "current_version": single.current_version or "",
        }
    if len(artifacts) == 1 and subject == artifacts[0]:
        values[ARTIFACT_PLACEHOLDER] = artifacts[0]
    lists = {
        "artifacts": [_as_argument(path) for path in artifacts],
        "change_requests": [_as_argument(cr.source_path) for cr in crs],
    }
    argv: list[str] = []
    for arg in template:
        if arg in ("{artifacts}", "{change_requests}"):
            argv.extend(lists[arg[1:-1]])
            continue
        argv.append(_substitute(arg, values))
    return Invocation(tuple(argv), _environment(crs, artifacts, values), subject, artifacts)


def _substitute(arg: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:  # the policy loader refuses these; never run them half-filled
            raise ValueError(f"placeholder {{{name}}} has no value here")
        text = values[name]
        # a whole argument that is a path: never let it read as an option
        if match.group(0) == arg and name in ("artifact", "change_request"):
            return _as_argument(text)
        return text

    return PLACEHOLDER.sub(value, arg)


def _as_argument(path: str) -> str:
    """A repository-relative path as a command argument: ./-x rather than -x (an option)."""
    return f"./{path}" if path.startswith("-") else path


def _environment(
    crs: Sequence[ChangeRequest], artifacts: Sequence[str], values: Mapping[str, str]
) -> dict[str, str]:
    environment = {
        "PROMOTION_ARTIFACTS": "\n".join(artifacts),
        "PROMOTION_ARTIFACTS_JSON": json.dumps(list(artifacts)),
        "PROMOTION_CHANGE_REQUESTS": "\n".join(cr.source_path for cr in crs),
    }
    for name, value in values.items():
        environment[f"{ENV_PREFIX}{name.upper()}"] = value
    return environment


__all__ = [
    "FOR_EACH",
    "PLACEHOLDERS",
    "Invocation",
    "Plan",
    "command_label",
    "placeholders_in",
    "plan_invocations",
    "run_problems",
]
