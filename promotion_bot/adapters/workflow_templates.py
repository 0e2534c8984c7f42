"""The caller workflows an adopting repository copies, as shipped with promotion-bot.

They are the files of `examples/governed-repo/.github/workflows/` (which the tests audit and
`docs/adopting.md` shows verbatim), packaged into the wheel with the example
(`promotion_bot/example/.github/workflows`).
They name promotion-bot's repository as `OWNER/promotion-bot` and its commit as forty zeros;
`promotion-bot init` fills both in.
"""

from __future__ import annotations

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
