"""What several commands share: locating the governed repository, output formats, the options
that say how to reach GitHub."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from promotion_bot.adapters import git
from promotion_bot.adapters.github_settings import GitHubSettings
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


def github_options(repository_help: str) -> Callable[[F], F]:
    """--repository, --api-url, --timeout, --retries, --request-pace: how to reach GitHub.
    Credentials come from the environment only (docs/github.md)."""
    options = [
        click.option("--repository", default=None, metavar="OWNER/NAME", help=repository_help),
        click.option("--api-url", default=None,
                     help="GitHub's REST API (default: GITHUB_API_URL, else api.github.com)."),
        click.option("--timeout", type=click.IntRange(min=1), default=15, show_default=True,
                     help="Seconds before one request is abandoned."),
        click.option("--retries", type=click.IntRange(min=0, max=10), default=3,
                     show_default=True,
                     help="Retries of a failed read (5xx, secondary rate limit)."),
        click.option("--request-pace", type=click.FloatRange(min=0), default=0.25,
                     envvar="PROMOTION_BOT_REQUEST_PACE", show_envvar=True, show_default=True,
                     help="Seconds between API requests (writes wait 4x as long), as GitHub "
                          "asks of integrations; 0 for a local GitHub."),
    ]

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def github_settings(repository: str | None, api_url: str | None, timeout: int, retries: int,
                    request_pace: float) -> GitHubSettings:
    return GitHubSettings(repository, api_url, timeout, retries, request_pace)


class RenamedOptions(click.Command):
    """A command whose options were renamed: the old spellings still work for one release,
    hidden from --help, with a note on stderr (e.g. `--ref` -> `--base`)."""

    def __init__(self, *args: Any, renamed: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rename_options(args, self.renamed))


def rename_options(args: Sequence[str], renamed: Mapping[str, str]) -> list[str]:
    """`args` with old option names replaced by the new ones (up to a `--`)."""
    result: list[str] = []
    for position, arg in enumerate(args):
        if arg == "--":
            return [*result, *args[position:]]
        name, equals, value = arg.partition("=")
        if name in renamed:
            new = renamed[name]
            click.echo(
                f"promotion-bot: {name} is now {new}; the old name goes away in the next release",
                err=True,
            )
            arg = f"{new}{equals}{value}"
        result.append(arg)
    return result


def base_option(default: str | None, help_text: str) -> Callable[[F], F]:
    """--base: the main branch (the trusted side) in every command that reads one."""
    return click.option(
        "--base",
        "base",
        default=default,
        show_default=default is not None,
        metavar="REF",
        help=help_text,
    )


def output_option(help_text: str, *, required: bool = False) -> Callable[[F], F]:
    """-o/--output: the file a command writes its document to."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        required=required,
        help=help_text,
    )


def emit(text: str, output: Path | None) -> None:
    """Print `text`, or write it to --output (a path that cannot be written is a usage
    error, never a traceback)."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--output {output}: {error.strerror or error}") from None
