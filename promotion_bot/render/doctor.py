"""`promotion-bot doctor` for people and machines. Pure."""

from __future__ import annotations

from typing import Any

from promotion_bot.core.doctor import Diagnosis


def render_text(diagnosis: Diagnosis, api_url: str) -> str:
    lines = [f"promotion-bot doctor: {diagnosis.repository} ({api_url})"]
    group = None
    for item in diagnosis.items:
        if item.group != group:
            group = item.group
            lines += ["", group]
        mark = "[ok]  " if item.holds else "[FAIL]"
        lines.append(f"  {mark} {item.name}: {item.detail}")
        if not item.holds:
            lines.append(f"         fix: {item.fix}")
    total = len(diagnosis.items)
    failing = len(diagnosis.failing)
    lines.append("")
    if failing:
        lines.append(f"NOT READY: {failing} of {total} items do not hold; fix them as shown "
                     "(docs/adopting.md) and run doctor again")
    else:
        lines.append(f"ready: all {total} items hold")
    return "\n".join(lines)


def as_data(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "repository": diagnosis.repository,
        "app": diagnosis.app,
        "healthy": diagnosis.healthy,
        "items": [{"group": item.group, "name": item.name, "holds": item.holds,
                   "detail": item.detail, "fix": item.fix or None}
                  for item in diagnosis.items],
    }
