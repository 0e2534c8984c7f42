"""The `status` table: one row per target. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from promotion_bot.core.audit import TargetStatus


def render_text(ref: str, targets: Sequence[TargetStatus]) -> str:
    if not targets:
        return f"nothing promoted on {ref} yet\n"
    rows = [["TARGET", "TYPE", "VERSION", "CHANGE", "COMMIT", "MERGED", "RECORD"]]
    for item in targets:
        record = item.state
        if item.state != "recorded" and item.recorded_version:
            record += f" (last recorded: {item.recorded_version})"
        rows.append(
            [
                item.target,
                item.change_type,
                item.version,
                item.change_id,
                item.commit[:12],
                item.merged_at.strftime("%Y-%m-%d"),
                record,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n"
        for row in rows
    )
