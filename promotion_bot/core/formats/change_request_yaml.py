"""A change request written as YAML that the strict loader reads back to the same values.

Versions are always double-quoted: unquoted, YAML would read 1.10 as the number 1.1.
"""

from __future__ import annotations

from typing import Any

import yaml

from promotion_bot.core.models import ChangeRequest


class _Quoted(str):
    """A string always written in double quotes (versions: 1.10 must stay 1.10)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'),
)


def render_change_request(cr: ChangeRequest) -> str:
    data: dict[str, Any] = cr.as_data()
    data["proposed_version"] = _Quoted(cr.proposed_version)
    if cr.current_version is not None:
        data["current_version"] = _Quoted(cr.current_version)
    for prompt in data.get("prompts", []):
        prompt["version"] = _Quoted(prompt["version"])
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
