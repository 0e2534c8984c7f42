"""How a command reaches GitHub (repository, API URL, timeouts, pacing), without PyGithub:
commands that may stay offline (rollback --dry-run) name their settings before deciding to
connect. `promotion_bot.adapters.github.client_for` turns them into a client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GitHubSettings:
    repository: str | None = None  # OWNER/NAME; None: GITHUB_REPOSITORY (or the event's)
    api_url: str | None = None  # None: GITHUB_API_URL, else api.github.com
    timeout: int = 15
    retries: int = 3
    pace: float = 0.25
