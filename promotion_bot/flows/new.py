"""The `new` use case: a change request for some artifacts, with their SHA-256 computed,
validated as `validate` would before it is written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
from promotion_bot.core.builtin_checks import CONFIG_SUFFIXES, model_identifiers, pin_problem
from promotion_bot.core.errors import ConfigError, GitError, InputError, Problem, RejectedError
from promotion_bot.core.formats.change_request_yaml import render_change_request
from promotion_bot.core.formats.documents import load_change_request
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import Artifact, ChangeRequest, ModelPin, Policy, PromptRef
from promotion_bot.core.paths import path_problem


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
    staged: list[str] = field(default_factory=list)  # artifacts `new` added to git
    models_from: list[str] = field(default_factory=list)  # configs the models were read from


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
    chosen_id = request.change_id or _next_change_id(
        [*existing, *_ids_on_every_branch(root, cr_dir)], request.today.year
    )
    change_type, proposed_version = request.change_type, request.proposed_version
    chosen_target = request.target or change_type
    relative = f"{cr_dir}/{chosen_id}.yaml"
    if (root / relative).exists() and request.write:
        raise RejectedError(f"{relative} already exists; choose another --id")
    paths = [_repo_relative(root, request.cwd, path) for path in request.artifacts]
    tracked, staged = _tracked_artifacts(root, paths, stage=request.write)
    current_version = request.current_version
    if current_version is None:
        current_version = _derived_current(root, cr_dir, chosen_target)
    models, models_from = _models(request, paths, policy.value)
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
        models=models,
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
        # the change request was never written: name the option or argument, not its lines
        raise InputError(
            "the change request would not be valid; fix the options above",
            [_as_option_problem(problem, relative, cr) for problem in problems],
        )
    if request.write:
        destination = root / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return NewResult(cr, relative, text, request.write, paths, staged, models_from)


def _ids_on_every_branch(root: Path, cr_dir: str) -> list[str]:
    """Change request files on every branch and remote-tracking branch git knows: parallel
    branches must not all take the same next number."""
    try:
        return sorted(git.files_added_on_any_ref(root, cr_dir))
    except GitError:
        return []  # a repository without commits


def _tracked_artifacts(
    root: Path, paths: Sequence[str], *, stage: bool
) -> tuple[RepositoryPaths, list[str]]:
    """The repository's tracked files, after adding the artifacts that are written but not yet
    added to git (when the change request is written; with --stdout nothing is changed)."""
    tracked = RepositoryPaths.scan(root)
    untracked = [
        path
        for path in paths
        if path not in tracked.tracked
        and not path_problem(path)
        and (root / path).is_file()
        and not (root / path).is_symlink()
        and not any(p.casefold() == path.casefold() for p in tracked.tracked)
    ]
    if untracked and not stage:
        raise ConfigError(
            f"{', '.join(untracked)}: not added to git yet; run git add -- "
            f"{' '.join(untracked)} (without --stdout, new adds it for you)"
        )
    if untracked:
        git.stage(root, untracked)
        tracked = RepositoryPaths.scan(root)
    for path in paths:
        problem = tracked.problem(path)
        if problem:
            raise ConfigError(f"{path}: {problem}")
    return tracked, untracked


def _models(
    request: NewRequest, paths: Sequence[str], policy: Policy
) -> tuple[tuple[ModelPin, ...], list[str]]:
    """--model as given; else, for a model change, the identifiers in its configurations (read
    as the policy's pinned-models check reads them). An identifier that is not pinned is
    reported at its line in the configuration, where it has to be fixed."""
    if request.models:
        return tuple(_model(spec) for spec in request.models), []
    if request.change_type != "model":
        return (), []
    settings = _pinned_models_settings(policy)
    models: list[ModelPin] = []
    sources: list[str] = []
    problems: list[Problem] = []
    for path in paths:
        if not path.endswith(CONFIG_SUFFIXES):
            continue
        found, findings = model_identifiers(path, (request.root / path).read_bytes(), settings)
        problems += [
            Problem(file=f.file, line=f.line, column=f.column, message=f.message) for f in findings
        ]
        for number, (value, line) in enumerate(found, start=1):
            why = (
                pin_problem(value)
                if isinstance(value, str)
                else f"model identifier is not a string: {value!r}"
            )
            if why:
                problems.append(
                    Problem(
                        file=path,
                        line=line,
                        message=why,
                        hint="pin it in the configuration, then run promotion-bot new again",
                    )
                )
                continue
            name = _model_name(path, number)
            models.append(ModelPin(name, str(value)))
            sources.append(path)
    if problems:
        raise InputError("the model configuration is not pinned", problems)
    return tuple(dict.fromkeys(models)), sorted(set(sources))


def _pinned_models_settings(policy: Policy) -> Mapping[str, Any]:
    """The `with:` of the pinned-models check the model change type requires (or none)."""
    rule = policy.change_types.get("model")
    for name in rule.required_checks if rule else ():
        spec = policy.checks.get(name)
        if spec is not None and spec.builtin == "pinned-models":
            return spec.settings
    return {}


def _model_name(path: str, number: int) -> str:
    """A change request model name from its configuration's file name (classifier.yaml ->
    classifier; a second model in the same file -> classifier-2)."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", PurePosixPath(path).stem.lower()).strip("-._")
    stem = stem or "model"
    return stem if number == 1 else f"{stem}-{number}"


# change request fields -> the option or argument of `new` that sets them
_OPTIONS = {
    "change_id": "--id",
    "change_type": "--type",
    "target": "--target",
    "title": "--title",
    "proposed_version": "--proposed",
    "current_version": "--current",
    "rollback_plan": "--rollback-plan",
    "models": "--model",
}


def _as_option_problem(problem: Problem, relative: str, cr: ChangeRequest) -> Problem:
    """A problem located in the change request `new` did not write, told as the option (or
    artifact argument) to fix."""
    if problem.file != relative:
        return problem
    field_path = problem.field or ""
    top = re.split(r"[.\[]", field_path, maxsplit=1)[0]
    missing = re.match(r"missing required key '(\w+)'", problem.message)
    if not top and missing:
        top = missing.group(1)
    index = re.match(r"^[a-z_]+\[(\d+)\]", field_path)
    if top == "artifacts" and index and int(index.group(1)) < len(cr.artifacts):
        where = f"artifact {cr.artifacts[int(index.group(1))].path}"
    elif top == "prompts" and index and int(index.group(1)) < len(cr.prompts):
        where = f"prompt {cr.prompts[int(index.group(1))].path}"
    elif top == "models" and index and int(index.group(1)) < len(cr.models):
        model = cr.models[int(index.group(1))]
        where = f"--model {model.name}={model.identifier}"
    elif top in _OPTIONS:
        where = _OPTIONS[top]
    else:
        where = f"{relative} (not written)"
    return Problem(file=where, message=problem.message, hint=problem.hint)


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
