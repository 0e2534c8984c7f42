"""What promotion-bot ships and where this copy came from.

The caller workflows an adopting repository copies are the files of
`examples/governed-repo/.github/workflows/` (which the tests audit and `docs/adopting.md` shows
verbatim), packaged into the wheel with the example (`promotion_bot/example/.github/workflows`).
They name promotion-bot's repository as `OWNER/promotion-bot` and its commit as forty zeros;
`promotion-bot init` fills both in, from the answers or from where this copy was installed from
(pip's direct_url.json).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from promotion_bot.core.errors import ConfigError


def templates_dir() -> Path:
    """The installed copy (inside the wheel) or the source checkout's example workflows."""
    package = Path(__file__).resolve().parents[1]  # promotion_bot/
    packaged = package / "example" / ".github" / "workflows"
    if packaged.is_dir():
        return packaged
    return package.parent / "examples" / "governed-repo" / ".github" / "workflows"


def read_workflow_templates() -> dict[str, str]:
    """File name -> text of every caller workflow template, sorted by name."""
    folder = templates_dir()
    files = sorted(folder.glob("*.yml")) if folder.is_dir() else []
    if not files:
        raise ConfigError(f"the workflow templates are missing at {folder}; "
                          "reinstall promotion-bot")
    return {path.name: path.read_text(encoding="utf-8") for path in files}


@dataclass(frozen=True)
class InstalledSource:
    """Where this promotion-bot was installed from, when pip recorded a GitHub commit."""

    repository: str | None  # OWNER/NAME on GitHub
    commit: str | None  # the full SHA


_GITHUB_URL = re.compile(
    r"^(?:git\+)?(?:https://|ssh://git@|git@)github\.com[/:]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)"
    r"(?:\.git)?/?$")


def installed_source() -> InstalledSource:
    """The repository and commit pip installed promotion-bot from (PEP 610's direct_url.json:
    `pip install git+https://github.com/OWNER/promotion-bot@SHA`, pre-commit, the action); both
    None for a wheel from an index or a local folder."""
    try:
        raw = distribution("promotion-bot").read_text("direct_url.json")
    except PackageNotFoundError:
        return InstalledSource(None, None)
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return InstalledSource(None, None)
    vcs = data.get("vcs_info") if isinstance(data, dict) else None
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git":
        return InstalledSource(None, None)
    commit = vcs.get("commit_id")
    repository = github_repository(str(data.get("url", "")))
    return InstalledSource(repository, commit if isinstance(commit, str) else None)


def github_repository(url: str) -> str | None:
    """OWNER/NAME of a GitHub clone or web URL; None for anything else."""
    match = _GITHUB_URL.match(url.strip())
    return match.group(1) if match else None
