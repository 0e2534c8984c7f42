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
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.locations import LocatedDocument
from promotion_bot.core.globs import glob_to_regex
from promotion_bot.core.patterns import LinearPattern, PatternError, compile_pattern

if TYPE_CHECKING:  # jsonschema is imported when a document fails (for the located report)
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

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
def _validator(name: str) -> Validator:
    """jsonschema's validator: the reference, and the located report of every violation."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schema = load_schema(name)
    # the other schemas without their `$schema`: jsonschema would validate a `$ref` into a
    # resource that names its dialect with that dialect's own class, whose `pattern` is the
    # backtracking `re` (a record's change request would escape RE2)
    registry: Registry[Any] = Registry().with_resources(
        (
            load_schema(other)["$id"],
            Resource.from_contents(
                {k: v for k, v in load_schema(other).items() if k != "$schema"},
                default_specification=DRAFT202012,
            ),
        )
        for other in _available_schemas()
    )
    base_class = jsonschema.validators.validator_for(schema)
    # `pattern` with RE2: the schemas' patterns run on pull-request content (a model
    # identifier of 60 characters made the backtracking `re` take minutes)
    validator_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base_class, {"pattern": _linear_pattern}
    )
    checker = jsonschema.FormatChecker(formats=())
    for format_name, check in FORMATS.items():
        checker.checks(format_name, raises=PatternError)(check)
    validator: Validator = validator_class(schema, registry=registry, format_checker=checker)
    return validator


def _available_schemas() -> list[str]:
    return [n for n in SCHEMA_NAMES if (schemas_dir() / f"{n}.schema.json").is_file()]


def _is_linear_regex(instance: object) -> bool:
    """`regex` means what the bot compiles (RE2, multi-line): one that cannot work is refused
    when the document loads."""
    if isinstance(instance, str):
        compile_pattern(instance, multiline=True)
    return True


def _is_glob(instance: object) -> bool:
    """`glob` is a policy glob."""
    if isinstance(instance, str):
        glob_to_regex(instance)
    return True


def _any_value(instance: object) -> bool:
    return True


# The formats the schemas use, checked alike by both validators (never by whatever optional
# packages happen to be installed). A `date-time` is checked by the code that parses it
# (records, snapshots, keys), which reports it with its own located message.
FORMATS: dict[str, Callable[[object], bool]] = {
    "regex": _is_linear_regex,
    "glob": _is_glob,
    "date-time": _any_value,
}


def _linear_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterable[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not compile_pattern(pattern).found_in(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# --- the compiled fast path -----------------------------------------------------------------

# Keywords the compiled validator checks exactly as JSON Schema 2020-12 does (annotations
# included). A schema using any other keyword is validated by jsonschema alone.
FAST_PATH_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "default",
        "examples", "x-hint", "type", "enum", "const", "properties", "required",
        "additionalProperties", "propertyNames", "minProperties", "maxProperties", "items",
        "minItems", "maxItems", "uniqueItems", "contains", "minLength", "maxLength", "pattern",
        "format", "minimum", "maximum", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    }
)  # fmt: skip

# Schemas compiled at run time when their generated module is missing or stale (a schema edited
# without regenerating): the documents read in bulk (one per change request, per record), where
# compiling (tens of milliseconds) pays for itself after a few documents. The others are then
# checked by jsonschema alone.
FAST_PATH_SCHEMAS = ("change-request", "pr-snapshot", "promotion-record")


def unsupported_keywords(node: Any, inside_names: bool = False) -> set[str]:
    """Keywords of a schema that the compiled validator does not check (FAST_PATH_KEYWORDS)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_names and key not in FAST_PATH_KEYWORDS:
                found.add(key)
            if key in ("default", "examples", "const", "enum") and not inside_names:
                continue  # values, not schemas
            if key == "items" and isinstance(value, list):
                found.add("items (as a list)")
            found |= unsupported_keywords(
                value, inside_names=not inside_names and key in ("properties", "$defs")
            )
    elif isinstance(node, list):
        for item in node:
            found |= unsupported_keywords(item)
    return found


def schema_patterns(node: Any, inside_names: bool = False) -> set[str]:
    """Every `pattern` of a schema."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_names and key == "pattern" and isinstance(value, str):
                found.add(value)
            elif inside_names or key not in ("default", "examples", "const", "enum"):
                found |= schema_patterns(
                    value, inside_names=not inside_names and key in ("properties", "$defs")
                )
    elif isinstance(node, list):
        for item in node:
            found |= schema_patterns(item)
    return found


def _ref_siblings_in_all_of(node: Any) -> Any:
    """`{"$ref": X, ...}` as `{"allOf": [{"$ref": X}, {...}]}`: fastjsonschema implements
    drafts where `$ref` hides its siblings, 2020-12 applies them."""
    if isinstance(node, dict):
        converted = {key: _ref_siblings_in_all_of(value) for key, value in node.items()}
        if "$ref" in converted and len(converted) > 1:
            ref = converted.pop("$ref")
            return {"allOf": [{"$ref": ref}, converted]}
        return converted
    if isinstance(node, list):
        return [_ref_siblings_in_all_of(item) for item in node]
    return node


FastValidator = Callable[[Any], Any]


def _returning_false(check: Callable[[object], bool]) -> Callable[[object], bool]:
    def conforms(instance: object) -> bool:
        try:
            return check(instance)
        except PatternError:
            return False

    return conforms


# the formats as the compiled code calls them: a bool, never an exception
_FAST_FORMATS = {name: _returning_false(check) for name, check in FORMATS.items()}


@dataclass(frozen=True)
class CompileInputs:
    """What fastjsonschema compiles for one schema (at run time, or into a generated module)."""

    definition: Any
    handlers: dict[str, Callable[[str], Any]]
    used: set[str]  # the schemas the definition refers to, filled while compiling

    def keyword_arguments(self) -> dict[str, Any]:
        return {
            "handlers": self.handlers,
            "formats": _FAST_FORMATS,
            "use_default": False,  # never fill defaults into the caller's data
        }


def compile_inputs(name: str) -> CompileInputs:
    store = {load_schema(n)["$id"]: n for n in _available_schemas()}
    used = {name}

    def local(uri: str) -> Any:
        if uri not in store:  # never the network
            raise ConfigError(f"schema {name!r} refers to {uri}, which is not in {schemas_dir()}")
        used.add(store[uri])
        return _ref_siblings_in_all_of(load_schema(store[uri]))

    handlers: dict[str, Callable[[str], Any]] = {"https": local, "http": local}
    return CompileInputs(_ref_siblings_in_all_of(load_schema(name)), handlers, used)


def schema_digests(names: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each schema file as shipped: a generated validator is used only for the
    schema files it was generated from."""
    return {
        name: hashlib.sha256((schemas_dir() / f"{name}.schema.json").read_bytes()).hexdigest()
        for name in sorted(names)
    }


@cache
def fast_validator(name: str) -> FastValidator | None:
    """The compiled validator (fastjsonschema) of a schema, or None where it cannot be exact:
    the generated module shipped in promotion_bot/core/formats/validators/ when it was generated
    from the schema files as they are, else (for FAST_PATH_SCHEMAS) one compiled now.

    Its `pattern`s are matched by RE2 as jsonschema's are: the generated code keeps its
    compiled expressions in REGEX_PATTERNS, keyed by the schema's pattern, and each is
    replaced by the RE2 form (linear time, and the same `$`). Anything else there (a newer
    fastjsonschema) leaves the schema to jsonschema alone."""
    shipped = _shipped_validator(name)
    if shipped is not None:
        return shipped
    return compiled_validator(name) if name in FAST_PATH_SCHEMAS else None


def _shipped_validator(name: str) -> FastValidator | None:
    import importlib

    try:
        module = importlib.import_module(
            f"promotion_bot.core.formats.validators.{name.replace('-', '_')}"
        )
    except ImportError:
        return None
    digests: dict[str, str] = getattr(module, "SCHEMA_SHA256", {})
    try:
        if not digests or schema_digests(digests) != digests:
            return None  # a schema changed since: regenerate (validator_code)
    except OSError:
        return None
    patterns = set().union(*(schema_patterns(load_schema(other)) for other in digests))
    generated: Any = getattr(module, "validate", None)
    if generated is None or not _linear_patterns(generated, patterns):
        return None
    validate: FastValidator = functools.partial(generated, custom_formats=_FAST_FORMATS)
    return validate


def compiled_validator(name: str) -> FastValidator | None:
    """The schema compiled by fastjsonschema now (tens of milliseconds), or None where the
    compiled code would not be exact."""
    import fastjsonschema

    if unsupported_keywords(load_schema(name)):
        return None
    inputs = compile_inputs(name)
    validate: FastValidator = fastjsonschema.compile(
        inputs.definition, **inputs.keyword_arguments()
    )
    if any(unsupported_keywords(load_schema(other)) for other in inputs.used):
        return None
    patterns = set().union(*(schema_patterns(load_schema(other)) for other in inputs.used))
    generated = getattr(validate, "func", validate)  # a partial when there are formats
    return validate if _linear_patterns(generated, patterns) else None


def _linear_patterns(generated: Any, patterns: set[str]) -> bool:
    """Replace the generated code's compiled expressions by RE2 ones; False when they are not
    exactly the schemas' patterns (not the generated code this module knows)."""
    compiled = getattr(generated, "__globals__", {}).get("REGEX_PATTERNS")
    if not isinstance(compiled, dict) or not set(compiled) <= patterns:
        return False
    for pattern, current in compiled.items():
        if not isinstance(current, _Found):
            compiled[pattern] = _Found(pattern)
    return True


class _Found:
    """An RE2 pattern answering the generated code's `.search(text)` with a bool; compiled
    when first used (a run meets a few of a schema's patterns)."""

    def __init__(self, pattern: str) -> None:
        self.source = pattern

    @cached_property
    def pattern(self) -> LinearPattern:
        return compile_pattern(self.source)

    def search(self, text: str) -> bool:
        return self.pattern.found_in(text)


def fast_rejection(name: str, data: Any) -> tuple[list[str | int], str] | None:
    """None when `data` is valid; else (the path, the message) of the first violation found.
    Schemas without a compiled validator are checked by jsonschema here."""
    validate = fast_validator(name)
    if validate is None:
        error = next(iter(_validator(name).iter_errors(data)), None)
        return None if error is None else (list(error.absolute_path), error.message)
    from fastjsonschema import JsonSchemaValueException

    try:
        validate(data)
    except JsonSchemaValueException as error:
        return list(error.path[1:]), error.message
    return None


def validate_document(name: str, document: LocatedDocument) -> list[Problem]:
    """Every schema violation in `document`, located and explained, in file order."""
    rejected = fast_rejection(name, document.data)
    if rejected is None:
        return []
    problems: list[Problem] = []
    for error in _validator(name).iter_errors(document.data):
        problems.extend(_explain(error, document))
    if not problems:
        problems.append(_disagreement(name, document, rejected))
    return sorted(_unique(problems), key=lambda p: (p.line or 0, p.column or 0, p.message))


def validate_data(name: str, data: Any, display_path: str) -> list[Problem]:
    """Validate data that did not come from YAML (JSON documents); located by field path."""
    rejected = fast_rejection(name, data)
    if rejected is None:
        return []
    document = LocatedDocument(path=display_path, data=data)
    problems = []
    for error in _validator(name).iter_errors(data):
        problems.extend(_explain(error, document))
    if not problems:
        problems.append(_disagreement(name, document, rejected))
    return _unique(
        Problem(file=display_path, message=p.message, field=p.field, hint=p.hint)
        for p in problems
    )


def _disagreement(
    name: str, document: LocatedDocument, rejected: tuple[list[str | int], str]
) -> Problem:
    # the two validators are tested to agree; should they ever not, the stricter one wins
    path, message = rejected
    return document.problem(path, f"does not match the {name} schema: {message}")


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result


def _explain(error: ValidationError, document: LocatedDocument) -> list[Problem]:
    import difflib  # the "did you mean" of a refused document only

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
        from jsonschema.exceptions import best_match

        deepest = best_match(error.context or [])
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
