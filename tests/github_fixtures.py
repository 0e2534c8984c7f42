"""The GitHub reference data the tests use, vendored in tests/fixtures/github (see its README).

The folder lies inside the repository; nothing points elsewhere, so a fresh clone has all it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GITHUB_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github"


def webhook_payload(event: str, name: str) -> dict[str, Any]:
    path = GITHUB_FIXTURES / "github-webhooks" / event / name
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload
