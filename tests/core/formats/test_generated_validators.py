"""The schema validators shipped as generated code (promotion_bot/core/formats/validators/):
exactly what the generator writes from schemas/ now, used only while the schemas are the ones
they were generated from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot.core.formats import schemas, validator_code
from promotion_bot.core.formats.strict_yaml import load_yaml_bytes

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "governed-repo"
EXAMPLE_POLICY = EXAMPLE / ".promotion" / "policy.yaml"


def _clear_caches() -> None:
    for cached in (schemas.load_schema, schemas.fast_validator, schemas._validator):
        cached.cache_clear()


@pytest.mark.parametrize("name", schemas.SCHEMA_NAMES)
def test_the_shipped_validator_is_what_the_generator_writes_from_the_schema(name: str) -> None:
    path = validator_code.module_path(name)
    assert path.is_file(), f"no {path}: run python -m promotion_bot.core.formats.validator_code"
    assert path.read_text(encoding="utf-8") == validator_code.generated_module(name), (
        f"{path} is not what schemas/{name}.schema.json gives now: "
        "run python -m promotion_bot.core.formats.validator_code and commit the result"
    )


@pytest.mark.parametrize("name", schemas.SCHEMA_NAMES)
def test_every_schema_is_checked_by_its_shipped_module(name: str) -> None:
    validate = schemas.fast_validator(name)
    assert validate is not None
    generated = getattr(validate, "func", validate)
    assert generated.__module__ == f"promotion_bot.core.formats.validators.{name.replace('-', '_')}"
    compiled = generated.__globals__.get("REGEX_PATTERNS", {})
    assert all(type(p.pattern).__name__ == "LinearPattern" for p in compiled.values())


@pytest.fixture
def edited_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of schemas/ that promotion-bot reads instead of its own."""
    copy = tmp_path / "schemas"
    shutil.copytree(schemas.schemas_dir(), copy)
    monkeypatch.setattr(schemas, "schemas_dir", lambda: copy)
    _clear_caches()
    yield copy
    monkeypatch.undo()
    _clear_caches()


@pytest.mark.parametrize(
    ("name", "document", "forbidden"),
    [
        ("change-request", EXAMPLE / "change-requests" / "CR-2026-0001.yaml", "title"),
        ("policy", EXAMPLE / ".promotion" / "policy.yaml", "version"),
    ],
)
def test_a_schema_edited_without_regenerating_is_not_checked_by_the_stale_module(
    name: str, document: Path, forbidden: str, edited_schemas: Path
) -> None:
    # a valid document, and a schema edit that refuses it (one of its keys may no longer be
    # given): the shipped module, generated before the edit, would still accept it
    data = load_yaml_bytes(document.read_bytes(), document.name).data
    assert forbidden in data and schemas.fast_rejection(name, data) is None
    path = edited_schemas / f"{name}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    original = schema["properties"][forbidden]
    schema["properties"][forbidden] = {"allOf": [original, {"not": {}}]}
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    _clear_caches()
    assert schemas.fast_rejection(name, data) is not None
    problems = schemas.validate_data(name, data, document.name)
    assert [p.field for p in problems] == [forbidden]


def test_a_valid_policy_is_checked_by_its_shipped_module_without_jsonschema() -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from promotion_bot.core.formats.documents import load_policy\n"
        "from promotion_bot.core.formats.schemas import fast_validator\n"
        f"loaded = load_policy(Path({str(EXAMPLE_POLICY)!r}).read_bytes(), 'policy.yaml')\n"
        "assert loaded.value is not None, loaded.problems\n"
        "print('jsonschema' in sys.modules, fast_validator('policy').func.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "promotion_bot.core.formats.validators.policy"]
