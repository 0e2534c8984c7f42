"""The `new` use case: a change request for some artifacts, with their SHA-256 computed,
validated as `validate` would before it is written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.adapters import git
from promotion_bot.adapters.files import sha256_file
from promotion_bot.adapters.working_tree import (
    ChangeRequestIndex,
    RepositoryPaths,
    change_id_order,
    change_request_files,
    promoted_versions,
    read_policy,
    repository_problems,
)
from promotion_bot.core.errors import ConfigError, GitError, InputError, RejectedError
from promotion_bot.core.formats.change_request_yaml import render_change_request
from promotion_bot.core.formats.documents import load_change_request
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import Artifact, ChangeRequest, ModelPin, PromptRef


@dataclass(frozen=True)
class NewRequest:
    root: Path
    artifacts: Sequence[Path]  # as given: relative to cwd, or to root
    change_type: str
    title: str
    proposed_version: str
    current_version: str | None  # None: derived from the change requests merged on HEAD
    target: str | None  # None: the change type
    models: Sequence[str]  # NAME=IDENTIFIER
    rollback_plan: str | None
    change_id: str | None  # None: the next free CR-<year>-NNNN
    write: bool  # False: only return the text
    cwd: Path
    today: dt.date


@dataclass(frozen=True)
class NewResult:
    change_request: ChangeRequest
    path: str  # relative to the governed root
    text: str
    written: bool
    artifact_paths: list[str]


def new_change_request(request: NewRequest) -> NewResult:
    root = request.root
    policy = read_policy(root)
    if policy.value is None:
        raise ConfigError(
            f"the policy cannot be used ({len(policy.problems)} problem(s)); "
            "run: promotion-bot validate .promotion/policy.yaml",
            policy.problems,
        )
    cr_dir = policy.value.change_request_dir
    existing = change_request_files(root, cr_dir)
    chosen_id = request.change_id or _next_change_id(existing, request.today.year)
    change_type, proposed_version = request.change_type, request.proposed_version
    chosen_target = request.target or change_type
    relative = f"{cr_dir}/{chosen_id}.yaml"
    if (root / relative).exists() and request.write:
        raise RejectedError(f"{relative} already exists; choose another --id")
    paths = [_repo_relative(root, request.cwd, path) for path in request.artifacts]
    tracked = RepositoryPaths.scan(root)
    for path in paths:
        problem = tracked.problem(path)
        if problem:
            raise ConfigError(f"{path}: {problem}")
    current_version = request.current_version
    if current_version is None:
        current_version = _derived_current(root, cr_dir, chosen_target)
    cr = ChangeRequest(
        change_id=chosen_id,
        change_type=change_type,
        target=chosen_target,
        title=request.title,
        proposed_version=proposed_version,
        current_version=current_version,
        artifacts=tuple(Artifact(path, sha256_file(root / path)) for path in paths),
        rollback_plan=(
            request.rollback_plan or _default_rollback_plan(chosen_target, current_version)
        ),
        models=tuple(_model(spec) for spec in request.models),
        prompts=_prompts(
            change_type, paths, proposed_version, root, policy.value.change_types.get("prompt")
        ),
    )
    text = render_change_request(cr)
    loaded = load_change_request(text.encode(), relative)
    problems = list(loaded.problems)
    if loaded.value is not None:
        others = [
            c
            for c in (load_change_request((root / p).read_bytes(), p).value for p in existing)
            if c is not None
        ]
        index = ChangeRequestIndex.build([*others, loaded.value])
        problems += repository_problems(loaded, index, policy.value, tracked, root)
    if problems:
        raise InputError("the change request would not be valid; fix the options above", problems)
    if request.write:
        destination = root / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return NewResult(cr, relative, text, request.write, paths)


def _next_change_id(existing: list[str], year: int) -> str:
    numbers = [
        change_id_order(Path(path).stem)[1]
        for path in existing
        if re.fullmatch(rf"CR-{year}-[0-9]{{4,6}}", Path(path).stem)
    ]
    return f"CR-{year}-{max(numbers, default=0) + 1:04d}"


def _repo_relative(root: Path, cwd: Path, path: Path) -> str:
    absolute = path if path.is_absolute() else cwd / path
    if not absolute.exists() and (root / path).exists():
        absolute = root / path
    if not absolute.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ConfigError(f"{path} is outside the governed repository {root}") from None


def _derived_current(root: Path, cr_dir: str, target: str) -> str | None:
    try:
        head = git.rev_parse(root, "HEAD")
    except GitError:
        return None  # a repository without commits: this is the first promotion
    prefix = git.prefix_in_toplevel(root)
    return promoted_versions(root, head, f"{prefix}{cr_dir}" if prefix else cr_dir).get(target)


def _default_rollback_plan(target: str, current: str | None) -> str:
    if current is None:
        return f"First promotion of {target}: revert the pull request to remove it."
    return (
        f"Revert the pull request (promotion-bot rollback); {target} {current} is still "
        "in the repository and becomes current again."
    )


def _model(spec: str) -> ModelPin:
    name, separator, identifier = spec.partition("=")
    if not separator or not name or not identifier:
        raise ConfigError(
            f"--model {spec!r}: write NAME=IDENTIFIER, e.g. "
            "classifier=ollama/qwen2.5:7b-instruct@sha256:<64 hex>"
        )
    return ModelPin(name, identifier)


def _prompts(
    change_type: str, paths: list[str], version: str, root: Path, rule: Any
) -> tuple[PromptRef, ...]:
    if change_type != "prompt":
        return ()
    prompt_paths = [p for p in paths if rule is None or match_any(rule.paths, p)]
    return tuple(PromptRef(p, version, sha256_file(root / p)) for p in prompt_paths)
