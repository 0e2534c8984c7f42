"""The JSON schemas in `schemas/`: loading, validation with located messages, defaults.

The schemas are the single source of truth for the file formats: they validate, they document
(`description`), they carry the hint a person needs when a value is refused (`x-hint`), and
their `default`s are what the code uses when a key is left out.

Reading them is the core's one file access, and it reads static package data only (the
schemas shipped inside the wheel, or the checkout's schemas/), never user input.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.locations import LocatedDocument
from promotion_bot.core.globs import glob_to_regex
from promotion_bot.core.patterns import PatternError, compile_pattern

SCHEMA_NAMES = (
    "change-request",
    "policy",
    "pr-snapshot",
    "evidence",
    "promotion-record",
    "record-event",
    "governance-record",
    "baseline-record",
    "baseline",
)


def schemas_dir() -> Path:
    """The installed copy (inside the wheel) or the source checkout's top-level schemas/."""
    package = Path(__file__).resolve().parents[2]  # promotion_bot/
    packaged = package / "schemas"
    if packaged.is_dir():
        return packaged
    return package.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = schemas_dir() / f"{name}.schema.json"
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"schema {name!r} is missing at {path}; reinstall promotion-bot"
        ) from None
    return schema


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    registry: Registry[Any] = Registry().with_resources(
        (load_schema(other)["$id"], Resource.from_contents(load_schema(other)))
        for other in SCHEMA_NAMES
        if (schemas_dir() / f"{other}.schema.json").is_file()
    )
    base_class = jsonschema.validators.validator_for(schema)
    # `pattern` with RE2: the schemas' patterns run on pull-request content (a model
    # identifier of 60 characters made the backtracking `re` take minutes)
    validator_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base_class, {"pattern": _linear_pattern}
    )
    validator: jsonschema.protocols.Validator = validator_class(
        schema, registry=registry, format_checker=_format_checker(base_class.FORMAT_CHECKER)
    )
    return validator


def _format_checker(base: jsonschema.FormatChecker) -> jsonschema.FormatChecker:
    """The draft's formats, with `regex` meaning what the bot compiles (RE2, multi-line) and
    `glob` a policy glob: a pattern that cannot work is refused when the document loads."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    checker.checks("regex", raises=PatternError)(_is_linear_regex)
    checker.checks("glob", raises=PatternError)(_is_glob)
    return checker


def _is_linear_regex(instance: object) -> bool:
    if isinstance(instance, str):
        compile_pattern(instance, multiline=True)
    return True


def _is_glob(instance: object) -> bool:
    if isinstance(instance, str):
        glob_to_regex(instance)
    return True


def _linear_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterable[ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def validate_document(name: str, document: LocatedDocument) -> list[Problem]:
    """Every schema violation in `document`, located and explained, in file order."""
    problems: list[Problem] = []
    for error in _validator(name).iter_errors(document.data):
        problems.extend(_explain(error, document))
    return sorted(_unique(problems), key=lambda p: (p.line or 0, p.column or 0, p.message))


def validate_data(name: str, data: Any, display_path: str) -> list[Problem]:
    """Validate data that did not come from YAML (JSON documents); located by field path."""
    document = LocatedDocument(path=display_path, data=data)
    problems = []
    for error in _validator(name).iter_errors(data):
        for problem in _explain(error, document):
            problems.append(
                Problem(
                    file=display_path,
                    message=problem.message,
                    field=problem.field,
                    hint=problem.hint,
                )
            )
    return _unique(problems)


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result


def _explain(error: ValidationError, document: LocatedDocument) -> list[Problem]:
    path = list(error.absolute_path)
    expected: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    hint = schema.get("x-hint")
    keyword = error.validator

    if keyword == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        problems = []
        for key in error.instance:
            if key in allowed:
                continue
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            key_hint = f"did you mean {guess[0]!r}?" if guess else None
            if allowed:
                listing = f"allowed keys: {', '.join(allowed)}"
                key_hint = f"{key_hint} {listing}" if key_hint else listing
            problems.append(
                document.problem([*path, key], f"unknown key {key!r}", hint=key_hint, key=True)
            )
        return problems
    if keyword == "required":
        present: Any = error.instance or {}
        missing = [name for name in expected if name not in present]
        return [
            document.problem(path, f"missing required key {name!r}", hint=hint) for name in missing
        ]
    if keyword == "not" and hint and path:
        if expected == {}:  # {"not": {}}: the key itself may not be here
            return [
                document.problem(path, f"{path[-1]!r} is not allowed here", hint=hint, key=True)
            ]
        return [document.problem(path, f"{_show(error.instance)} is not allowed", hint=hint)]
    if keyword == "type":
        message, type_hint = _type_message(error, document, path, hint)
        return [document.problem(path, message, hint=type_hint)]
    if keyword == "enum":
        allowed_values = [str(value) for value in expected]
        guess = difflib.get_close_matches(str(error.instance), allowed_values, n=1)
        enum_hint = f"did you mean {guess[0]!r}? " if guess else ""
        return [
            document.problem(
                path,
                f"{_show(error.instance)} is not one of: {', '.join(allowed_values)}",
                hint=(enum_hint + "use one of the listed values").strip(),
            )
        ]
    if keyword == "const":
        return [document.problem(path, f"must be {_show(error.validator_value)}", hint=hint)]
    if keyword in ("oneOf", "anyOf") and not hint:
        deepest = jsonschema.exceptions.best_match(error.context or [])
        if deepest is not None:
            return _explain(deepest, document)
    if keyword == "pattern":
        return [
            document.problem(
                path, f"{_show(error.instance)} is not in the required form", hint=hint
            )
        ]
    if keyword == "format":
        cause = error.cause
        why = f": {getattr(cause, 'reason', cause)}" if isinstance(cause, PatternError) else ""
        return [
            document.problem(
                path,
                f"{_show(error.instance)} is not a valid {error.validator_value}{why}",
                hint=hint,
            )
        ]
    if keyword == "uniqueItems":
        return [document.problem(path, "has duplicate entries", hint="list each entry once")]
    return [document.problem(path, _plain_message(error), hint=hint)]


def _type_message(
    error: ValidationError, document: LocatedDocument, path: Sequence[str | int], hint: str | None
) -> tuple[str, str | None]:
    expected: Any = error.validator_value
    expected_text = expected if isinstance(expected, str) else " or ".join(expected)
    location = document.locate(path)
    wants_string = expected == "string" or (isinstance(expected, list) and "string" in expected)
    instance = error.instance
    read_as = _yaml_reading(instance)
    if wants_string and location.plain and location.source is not None and read_as:
        return (
            f"{location.source} is read by YAML as {read_as}, not a string",
            f'quote it: "{location.source}"',
        )
    article = "an" if expected_text[:1] in "aeiou" else "a"
    return f"{_show(instance)} is not {article} {expected_text}", hint


def _yaml_reading(instance: Any) -> str | None:
    if isinstance(instance, bool):
        return f"the boolean {str(instance).lower()}"
    if isinstance(instance, int | float):
        return f"the number {instance}"
    if isinstance(instance, dt.datetime | dt.date):
        return "a date"
    if instance is None:
        return "null (empty)"
    return None


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _plain_message(error: ValidationError) -> str:
    keyword = error.validator
    value = error.validator_value
    if keyword == "minItems":
        return "must not be empty" if value == 1 else f"needs at least {value} entries"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"is shorter than {value} characters"
    if keyword == "maxLength":
        return f"is longer than {value} characters"
    if keyword == "minProperties":
        return "must not be empty"
    if keyword in ("minimum", "maximum"):
        word = "at least" if keyword == "minimum" else "at most"
        return f"must be {word} {value}"
    return error.message


def with_defaults(name: str, data: Any) -> Any:
    """A copy of `data` with the schema's `default`s filled in for keys left out."""
    schema = load_schema(name)
    result = copy.deepcopy(data)
    _fill(schema, result, schema)
    return result


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        merged.update(_resolve(target, root))
    for key, value in schema.items():
        if key == "properties" and "properties" in merged:
            combined = dict(merged["properties"])
            for prop, sub in value.items():
                combined[prop] = {**combined.get(prop, {}), **sub}
            merged["properties"] = combined
        elif key != "$ref":
            merged[key] = value
    return merged


def _optional_object_with_defaults(schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    """An object that may be left out but whose keys have defaults (e.g. policy `rollback`)."""
    properties = schema.get("properties", {})
    return (
        schema.get("type") == "object"
        and not schema.get("required")
        and any("default" in _resolve(sub, root) for sub in properties.values())
    )


def _fill(schema: Mapping[str, Any], instance: Any, root: Mapping[str, Any]) -> None:
    resolved = _resolve(schema, root)
    if isinstance(instance, dict):
        properties = resolved.get("properties", {})
        for key, sub in properties.items():
            sub_resolved = _resolve(sub, root)
            if key not in instance and "default" in sub_resolved:
                instance[key] = copy.deepcopy(sub_resolved["default"])
            elif key not in instance and _optional_object_with_defaults(sub_resolved, root):
                instance[key] = {}
            if key in instance:
                _fill(sub, instance[key], root)
        extra = resolved.get("additionalProperties")
        if isinstance(extra, Mapping):
            for key, value in instance.items():
                if key not in properties:
                    _fill(extra, value, root)
    elif isinstance(instance, list) and isinstance(resolved.get("items"), Mapping):
        for item in instance:
            _fill(resolved["items"], item, root)


def field_description(name: str, pointer: Sequence[str]) -> str | None:
    """The `description` of a schema location, for help texts (e.g. ("properties", "target"))."""
    node: Any = load_schema(name)
    for part in pointer:
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, Mapping):
        description = node.get("description")
        return description if isinstance(description, str) else None
    return None


__all__ = [
    "SCHEMA_NAMES",
    "field_description",
    "load_schema",
    "schemas_dir",
    "validate_data",
    "validate_document",
    "with_defaults",
]
