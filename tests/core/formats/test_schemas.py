"""Every schema in schemas/ is a valid JSON Schema, documents itself and is used by the code."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from promotion_bot.core.formats.schemas import SCHEMA_NAMES, schemas_dir, with_defaults

SCHEMA_FILES = sorted(schemas_dir().glob("*.schema.json"))


def test_schemas_folder_is_found() -> None:
    assert SCHEMA_FILES, f"no schemas in {schemas_dir()}"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_schema_is_valid_against_its_meta_schema(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert schema.get("description"), f"{path.name} must describe itself"
    assert path.name.removesuffix(".schema.json") in SCHEMA_NAMES


def test_policy_defaults_follow_the_promotion_workflow() -> None:
    data = {"change_types": {name: {"paths": ["x/**"], "required_checks": []}
                             for name in ("ruleset", "model", "prompt", "template")}}
    filled = with_defaults("policy", data)
    for name in ("ruleset", "model", "prompt", "template"):
        assert filled["change_types"][name]["required_roles"] == ["reviewer", "administrator"]
    assert filled["rollback"]["required_roles"] == ["administrator"]
    assert filled["governance"]["required_roles"] == ["administrator"]
    assert ".promotion/**" in filled["governance"]["paths"]
    assert filled["approvals"]["allow_approvals_on_earlier_commits"] is False
