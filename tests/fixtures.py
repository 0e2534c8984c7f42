"""Where the published GitHub reference fixtures are (../shared/fixtures beside the checkout).

A missing fixture folder fails the test that needs it, with a message: it is never skipped.
PROMOTION_BOT_FIXTURES overrides the location.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def fixtures_dir() -> Path:
    override = os.environ.get("PROMOTION_BOT_FIXTURES")
    folder = Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    if not folder.is_dir():
        pytest.fail(f"GitHub reference fixtures not found at {folder}; set PROMOTION_BOT_FIXTURES")
    return folder


def webhook_payload(event: str, name: str) -> dict[str, Any]:
    path = fixtures_dir() / "github-webhooks" / event / name
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload
