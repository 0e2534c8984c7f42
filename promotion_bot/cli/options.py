"""What several commands share: locating the governed repository, output formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from promotion_bot.adapters import git
from promotion_bot.core.errors import ConfigError

FORMATS = ("text", "json")

F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str) -> Callable[[F], F]:
    names = choices or FORMATS
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(names),
        default=names[0],
        show_default=True,
        help="Output for people (text) or machines (json).",
    )


def repo_option() -> Callable[[F], F]:
    return click.option(
        "--repo",
        "repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The governed repository (default: the current directory).",
    )


def governed_root(repo: Path | None) -> Path:
    """The governed repository's root: --repo as given (it may be a subfolder of a git work
    tree, like the bundled example), else the git top level of the current directory."""
    if repo is None:
        return git.toplevel(Path.cwd())
    if not repo.is_dir():
        raise ConfigError(f"--repo {repo}: no such directory")
    git.toplevel(repo)  # raises a clear error when it is not inside a git work tree
    return repo.resolve()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
