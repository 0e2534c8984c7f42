"""Validate JSON against GitHub's published OpenAPI description (the fake's drift guard).

The description is ``tests/fixtures/github/github-openapi/api.github.com.octokit-openapi-23.0.2.json.gz``
(vendored; see that folder's README). A missing file is an error (:class:`FixturesMissingError`),
never a skip.

OpenAPI 3.0 schemas are converted to JSON Schema 2020-12: ``nullable: true`` adds ``null``;
``discriminator``, ``example(s)``, ``readOnly``/``writeOnly``, ``deprecated`` and ``x-*`` keys are
dropped; siblings of ``$ref`` are ignored (as OpenAPI 3.0 says); ``$ref`` to ``#/components/...``
resolves through a ``referencing`` registry holding the converted components. The spec (13 MB) is
loaded and converted once per process.

    validate_response("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, body)
    validate_schema("pull-request", body)
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.github_fixtures import GITHUB_FIXTURES

SPEC_FILE = Path("github-openapi") / "api.github.com.octokit-openapi-23.0.2.json.gz"
SPEC_URI = "https://api.github.com/openapi.octokit-23.0.2.json"
_DROPPED = frozenset(
    {"discriminator", "example", "examples", "xml", "externalDocs", "readOnly", "writeOnly",
     "deprecated", "nullable"}
)
_COMPOSITIONS = ("allOf", "anyOf", "oneOf")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


class FixturesMissingError(FileNotFoundError):
    """The shared OpenAPI fixture is not where it should be."""


class ShapeMismatchError(AssertionError):
    """A JSON document does not match the schema GitHub publishes for it."""


class UndocumentedError(KeyError):
    """The spec has no such operation, status or JSON body."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def spec_path() -> Path:
    return GITHUB_FIXTURES / SPEC_FILE


@functools.cache
def load_spec() -> dict[str, Any]:
    path = spec_path()
    if not path.is_file():
        raise FixturesMissingError(
            f"GitHub's OpenAPI description is missing: {path} does not exist. The fake GitHub is "
            f"validated against it; restore it from git (tests/fixtures/github/README.md names "
            f"its source)."
        )
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    return spec


# ---- OpenAPI 3.0 -> JSON Schema 2020-12 ---------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """Convert one OpenAPI 3.0 schema object (recursively) to JSON Schema 2020-12."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # OpenAPI 3.0: siblings of $ref are ignored
        ref = node["$ref"]
        return {"$ref": SPEC_URI + ref if ref.startswith("#") else ref}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in _COMPOSITIONS:
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in node:
                out[key] = node[bound]
        else:
            out[key] = value
    if node.get("exclusiveMinimum") is True:
        out.pop("minimum", None)
    if node.get("exclusiveMaximum") is True:
        out.pop("maximum", None)
    if node.get("nullable") is True:
        if any(k in out for k in (*_COMPOSITIONS, "not")) or "type" not in out:
            return {"anyOf": [out, {"type": "null"}]}
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _registry() -> Registry[Any]:
    components = load_spec()["components"]
    converted = {"components": {"schemas": {name: to_json_schema(schema)
                                            for name, schema in components["schemas"].items()}}}
    resource: Resource[Any] = Resource.from_contents(converted, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.fullmatch(value):
            raise ValueError(f"not an RFC 3339 date-time: {value!r}")
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and bool(parts.netloc or parts.path)

    return checker


FORMAT_CHECKER = _format_checker()


# ---- operations ---------------------------------------------------------------------------


def operation(method: str, template: str) -> dict[str, Any]:
    """The operation object for ``method`` and OpenAPI path ``template``."""
    paths = load_spec()["paths"]
    op = paths.get(template, {}).get(method.lower())
    if op is None:
        raise UndocumentedError(
            f"{method.upper()} {template} is not in GitHub's OpenAPI description"
        )
    result: dict[str, Any] = op
    return result


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` of a non-schema object (responses, parameters)."""
    spec = load_spec()
    while "$ref" in obj:
        node: Any = spec
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def documented_statuses(method: str, template: str) -> dict[int, bool]:
    """Status -> whether the spec defines a JSON body for it."""
    responses = operation(method, template)["responses"]
    return {int(code): "application/json" in _resolve(resp).get("content", {})
            for code, resp in responses.items() if code.isdigit()}


def response_schema(method: str, template: str, status: int,
                    content_type: str = "application/json") -> dict[str, Any]:
    """The (converted) JSON Schema of a response body; UndocumentedError when there is none."""
    responses = operation(method, template)["responses"]
    response = responses.get(str(status))
    if response is None:
        raise UndocumentedError(
            f"{method.upper()} {template} documents no {status} response "
            f"(documented: {', '.join(sorted(responses))})"
        )
    content = _resolve(response).get("content", {})
    if content_type not in content:
        raise UndocumentedError(
            f"{method.upper()} {template} {status} has no {content_type} body in the spec"
        )
    schema: dict[str, Any] = to_json_schema(content[content_type]["schema"])
    return schema


@functools.cache
def _validator(method: str, template: str, status: int, content_type: str) -> Draft202012Validator:
    schema = response_schema(method, template, status, content_type)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FORMAT_CHECKER)


@functools.cache
def _component_validator(name: str) -> Draft202012Validator:
    if name not in load_spec()["components"]["schemas"]:
        raise UndocumentedError(f"no component schema {name!r} in GitHub's OpenAPI description")
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{quote(name)}"}
    return Draft202012Validator(schema, registry=_registry(), format_checker=FORMAT_CHECKER)


def _describe(error: ValidationError) -> str:
    deepest = best_match(error.context) if error.context else None
    where = error.json_path
    text = f"at {where}: {error.message[:300]}"
    if deepest is not None:
        text += f"\n      closest alternative: at {deepest.json_path}: {deepest.message[:300]}"
    return text


def _check(validator: Draft202012Validator, instance: Any, what: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{what}: {len(errors)} schema violation(s)"]
        lines += [f"  - {_describe(e)}" for e in errors[:15]]
        if len(errors) > 15:
            lines.append(f"  ... and {len(errors) - 15} more")
        raise ShapeMismatchError("\n".join(lines))


def validate_response(method: str, template: str, status: int, body: Any,
                      content_type: str = "application/json") -> None:
    """Raise ShapeMismatchError unless ``body`` matches the documented response schema."""
    validator = _validator(method.upper(), template, status, content_type)
    _check(validator, body, f"{method.upper()} {template} -> {status}")


def validate_schema(name: str, instance: Any) -> None:
    """Validate against ``#/components/schemas/<name>`` (e.g. ``pull-request``)."""
    _check(_component_validator(name), instance, f"components/schemas/{name}")


# ---- concrete paths -> templates ----------------------------------------------------------


def _param_regex(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"(?P<{name}>{'.+' if name in ('path', 'ref', 'basehead') else '[^/]+'})"


@functools.cache
def _template_patterns() -> list[tuple[re.Pattern[str], str, int]]:
    patterns = []
    for template in load_spec()["paths"]:
        regex = re.sub(r"\\\{(\w+)\\\}", _param_regex, re.escape(template))
        literal = len(re.sub(r"\{\w+\}", "", template))
        patterns.append((re.compile(regex), template, literal))
    return patterns


def match_template(method: str, path: str) -> str:
    """The most specific documented template for a concrete path (e.g. /repos/a/b/pulls/1)."""
    path = urlsplit(path).path
    found = [(literal, template) for pattern, template, literal in _template_patterns()
             if pattern.fullmatch(path) and method.lower() in load_spec()["paths"][template]]
    if not found:
        raise UndocumentedError(f"no documented operation for {method.upper()} {path}")
    return max(found)[1]


# ---- recorded exchanges -------------------------------------------------------------------


class Exchange(Protocol):
    """What validate_exchanges needs of a recorded request (tests.github_server.RecordedRequest)."""

    method: str
    path: str
    route: str | None  # the OpenAPI path template it was served under
    status: int | None
    response_body: bytes
    response_headers: dict[str, str]
    fault: bool


# (method, template, status, body) already found to match: the same answers recur across tests
# (a doctor test reads the same settings as the one before it), and a schema's verdict on the
# same bytes cannot change
_MATCHED: set[tuple[str, str, int, bytes]] = set()
# each test's loopback GitHub listens on its own port, which every API URL in an answer names:
# the key leaves the port out, so the same answer served by the next test's server is known
# (a port's digits cannot change a verdict: URLs are checked as URIs, not by length or pattern)
_LOOPBACK_ORIGIN = re.compile(rb"http://127\.0\.0\.1:[0-9]+")


def validate_exchanges(exchanges: Iterable[Exchange]) -> set[tuple[str, str, int]]:
    """Validate every JSON response that has a documented schema; return what was validated.

    Injected faults and requests that matched no route are skipped. A response whose status has
    no documented JSON body (e.g. 204, or a 404 the spec lists without content) is not validated.
    Raises ShapeMismatchError for the first mismatch, naming the request.
    """
    validated: set[tuple[str, str, int]] = set()
    for exchange in exchanges:
        if exchange.fault or exchange.status is None or not exchange.response_body:
            continue
        template = exchange.route
        if template is None:  # not a route of the fake (it answered 404)
            continue
        try:
            documented = documented_statuses(exchange.method, template)
        except UndocumentedError:
            continue
        if not documented.get(exchange.status, False):
            continue
        seen = (exchange.method, template, exchange.status,
                _LOOPBACK_ORIGIN.sub(b"http://127.0.0.1:0", exchange.response_body))
        if seen not in _MATCHED:
            body = json.loads(exchange.response_body)
            try:
                validate_response(exchange.method, template, exchange.status, body)
            except ShapeMismatchError as error:
                raise ShapeMismatchError(f"{exchange.method} {exchange.path}:\n{error}") from None
            _MATCHED.add(seen)
        validated.add((exchange.method, template, exchange.status))
    return validated

