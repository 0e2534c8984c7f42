"""Where this promotion-bot came from (pip's direct_url.json) and the workflows it ships."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promotion_bot.adapters import distribution
from promotion_bot.adapters.distribution import (
    InstalledSource,
    github_repository,
    installed_source,
    read_workflow_templates,
)
from tests.conftest import EXAMPLE

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("url, expected", [
    ("https://github.com/acme/promotion-bot", "acme/promotion-bot"),
    ("https://github.com/acme/promotion-bot.git", "acme/promotion-bot"),
    ("git+https://github.com/acme/promotion-bot", "acme/promotion-bot"),
    ("git@github.com:acme/intake-routing.git", "acme/intake-routing"),
    ("ssh://git@github.com/acme/intake-routing.git", "acme/intake-routing"),
    ("https://gitlab.com/acme/promotion-bot", None),
    ("https://github.com.evil.example/acme/promotion-bot", None),
    ("file:///work/promotion-bot", None),
])
def test_github_repository_reads_only_github_urls(url: str, expected: str | None) -> None:
    assert github_repository(url) == expected


class FakeDistribution:
    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


@pytest.mark.parametrize("direct_url, expected", [
    ({"url": "https://github.com/acme/promotion-bot",
      "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": SHA}},
     InstalledSource("acme/promotion-bot", SHA)),
    ({"url": "file:///work/promotion-bot", "dir_info": {"editable": True}},
     InstalledSource(None, None)),
    (None, InstalledSource(None, None)),  # a wheel from an index records nothing
    ({"url": "https://example.com/x", "vcs_info": {"vcs": "hg", "commit_id": "1"}},
     InstalledSource(None, None)),
])
def test_installed_source_is_the_commit_pip_recorded(
        monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None,
        expected: InstalledSource) -> None:
    monkeypatch.setattr(distribution, "distribution", lambda name: FakeDistribution(direct_url))
    assert installed_source() == expected


def test_the_shipped_workflow_templates_are_the_example_callers() -> None:
    folder = EXAMPLE / ".github" / "workflows"
    assert read_workflow_templates() == {
        path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.yml"))}
