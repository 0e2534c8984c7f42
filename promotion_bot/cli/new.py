"""`promotion-bot new`: scaffold a change request with the artifact hashes filled in."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import click
import yaml

from promotion_bot.adapters import git
from promotion_bot.adapters.working_tree import (
    ChangeRequestIndex,
    RepositoryPaths,
    change_id_order,
    change_request_files,
    promoted_versions,
    read_policy,
    repository_problems,
)
from promotion_bot.cli.options import governed_root, repo_option
from promotion_bot.core.digests import sha256_file
from promotion_bot.core.errors import ConfigError, GitError, InputError, RejectedError
from promotion_bot.core.formats.documents import load_change_request
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import CHANGE_TYPES, Artifact, ChangeRequest, ModelPin, PromptRef


class _Quoted(str):
    """A string always written in double quotes (versions: 1.10 must stay 1.10)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'),
)


@click.command()
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--type",
    "change_type",
    type=click.Choice(CHANGE_TYPES),
    required=True,
    help="What kind of artifact moves.",
)
@click.option("--title", required=True, help="One line for people: what this promotion does.")
@click.option(
    "--proposed",
    "proposed_version",
    required=True,
    help="The version this promotion makes current, e.g. 1.4.2.",
)
@click.option(
    "--current",
    "current_version",
    default=None,
    help="The version promoted now (default: derived from the change requests merged "
    "on HEAD; none for a first promotion).",
)
@click.option(
    "--target",
    default=None,
    help="The governed item whose version moves (default: the change type).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME=IDENTIFIER",
    help="A pinned model (change type model); repeat for several.",
)
@click.option(
    "--rollback-plan",
    default=None,
    help="How to return to the current version (default: revert the PR).",
)
@click.option(
    "--id", "change_id", default=None, help="The change_id (default: the next free CR-<year>-NNNN)."
)
@click.option("--stdout", "to_stdout", is_flag=True, help="Print instead of writing the file.")
@repo_option()
def new(
    artifacts: tuple[Path, ...],
    change_type: str,
    title: str,
    proposed_version: str,
    current_version: str | None,
    target: str | None,
    models: tuple[str, ...],
    rollback_plan: str | None,
    change_id: str | None,
    to_stdout: bool,
    repo: Path | None,
) -> int:
    """Write a new change request for ARTIFACTS, with their SHA-256 computed.

    \b
    Example:
      promotion-bot new --type ruleset --target routing-rules \\
        --title "Route GDPR requests to the privacy queue" --proposed 1.4.2 \\
        configs/routing_tables/routing_rules_v1.4.2.json

    The file is written to change-requests/<change_id>.yaml and validated at once.
    """
    root = governed_root(repo)
    policy = read_policy(root)
    if policy.value is None:
        raise ConfigError(
            f"the policy cannot be used ({len(policy.problems)} problem(s)); "
            "run: promotion-bot validate .promotion/policy.yaml",
            policy.problems,
        )
    cr_dir = policy.value.change_request_dir
    existing = change_request_files(root, cr_dir)
    chosen_id = change_id or _next_change_id(existing, dt.date.today().year)
    chosen_target = target or change_type
    relative = f"{cr_dir}/{chosen_id}.yaml"
    if (root / relative).exists() and not to_stdout:
        raise RejectedError(f"{relative} already exists; choose another --id")
    paths = [_repo_relative(root, path) for path in artifacts]
    tracked = RepositoryPaths.scan(root)
    for path in paths:
        problem = tracked.problem(path)
        if problem:
            raise ConfigError(f"{path}: {problem}")
    if current_version is None:
        current_version = _derived_current(root, cr_dir, chosen_target)
    cr = ChangeRequest(
        change_id=chosen_id,
        change_type=change_type,
        target=chosen_target,
        title=title,
        proposed_version=proposed_version,
        current_version=current_version,
        artifacts=tuple(Artifact(path, sha256_file(root / path)) for path in paths),
        rollback_plan=rollback_plan or _default_rollback_plan(chosen_target, current_version),
        models=tuple(_model(spec) for spec in models),
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
    if to_stdout:
        click.echo(text, nl=False)
        return 0
    destination = root / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text, encoding="utf-8")
    click.echo(
        f"wrote {relative} ({change_type} {chosen_target}: "
        f"{current_version or 'first promotion'} -> {proposed_version})"
    )
    click.echo(f"next: git add {relative} {' '.join(paths)} && promotion-bot check")
    return 0


def render_change_request(cr: ChangeRequest) -> str:
    data: dict[str, Any] = cr.as_data()
    data["proposed_version"] = _Quoted(cr.proposed_version)
    if cr.current_version is not None:
        data["current_version"] = _Quoted(cr.current_version)
    for prompt in data.get("prompts", []):
        prompt["version"] = _Quoted(prompt["version"])
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _next_change_id(existing: list[str], year: int) -> str:
    numbers = [
        change_id_order(Path(path).stem)[1]
        for path in existing
        if re.fullmatch(rf"CR-{year}-[0-9]{{4,6}}", Path(path).stem)
    ]
    return f"CR-{year}-{max(numbers, default=0) + 1:04d}"


def _repo_relative(root: Path, path: Path) -> str:
    absolute = path if path.is_absolute() else Path.cwd() / path
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
