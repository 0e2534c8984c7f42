"""The built-in checks a policy can require: pure functions of the head's files and the CRs.

Each built-in reads files only through a `FileView` (the check runner gives it the head commit;
tests give it a dict), returns a `BuiltinResult` and never raises for bad input: a file it cannot
read or parse is a finding, and a check that finds nothing to check fails (nothing passes by
default). Settings come from the policy's `with:` (see docs/checks.md).

- template-policy   prohibited-content patterns; every hit as file:line with the rule broken
- pinned-models     model identifiers in configs are pinned and recorded in the change request
- prompt-hashes     prompts are listed with version and sha256; optional version marker
- sha256-manifest   a sha256sum-style manifest matches the files (and lists every pack file)
- no-regression     metrics of an evaluation on head compared with the same metrics on base
                    (the commands run in checks.py; the comparison is `compare_metrics` here)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from promotion_bot.core.check_results import Finding
from promotion_bot.core.errors import InputError
from promotion_bot.core.formats.bounded_json import JsonError, parse_json
from promotion_bot.core.formats.strict_yaml import YamlDocument, load_yaml_bytes
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import ChangeRequest, PromptRef
from promotion_bot.core.paths import path_problem
from promotion_bot.core.patterns import LinearPattern, PatternError, compile_pattern

# The same rules as the change-request schema's model identifier (a test keeps them equal).
FLOATING_TAG = r"(?i)(^|[:/@-])(latest|stable|current|newest|default|main|master|nightly|preview)$"
PINNED = (
    r"(@sha256:[0-9a-f]{64}$)|([:@-]v?[0-9]+(\.[0-9]+)+([-.+_][0-9A-Za-z.]+)*$)"
    r"|([:@-][0-9]{4}-?[0-9]{2}-?[0-9]{2}$)|(:[0-9A-Za-z._-]*[0-9]+(\.[0-9]+)+[0-9A-Za-z._-]*$)"
)
HIGHER = "higher_is_better"
LOWER = "lower_is_better"
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


class FileView(Protocol):
    """Read-only view of the files of one commit, relative to the governed repository root."""

    def paths(self) -> frozenset[str]: ...

    def read(self, path: str) -> bytes | None: ...

    def sha256(self, path: str) -> str | None: ...

    def prefetch(self, paths: Sequence[str]) -> None:
        """A hint: these files will be read (lets a git-backed view read them in one batch)."""


@dataclass(frozen=True)
class MemoryFiles:
    """A `FileView` over a dict (tests, and small trees read in one batch)."""

    files: Mapping[str, bytes]

    def paths(self) -> frozenset[str]:
        return frozenset(self.files)

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def sha256(self, path: str) -> str | None:
        data = self.files.get(path)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def prefetch(self, paths: Sequence[str]) -> None:
        return None


@dataclass(frozen=True)
class BuiltinResult:
    passed: bool
    summary: str
    findings: tuple[Finding, ...] = ()
    checked: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    timed_out: bool = False

    def output_text(self) -> str:
        """What the check's log file holds: what was checked, every finding, the verdict."""
        lines = [f"checked: {path}" for path in self.checked]
        lines += [finding.render() for finding in self.findings]
        lines.append(("passed: " if self.passed else "failed: ") + self.summary)
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RecordedPrompt:
    """A prompt version recorded by a change request merged on the base branch."""

    change_id: str
    prompt: PromptRef


def _never() -> bool:
    return False


@dataclass(frozen=True)
class BuiltinInput:
    settings: Mapping[str, Any]
    change_requests: tuple[ChangeRequest, ...]  # the branch's CRs that require this check
    governed_paths: tuple[str, ...]  # paths of their change types: the default scope
    files: FileView
    recorded_prompts: tuple[RecordedPrompt, ...] = ()
    # the check's timeout, as the runner's clock sees it: asked before every file read and
    # every pattern hit, so a built-in stops like a command check does (a thread cannot be
    # killed, so the built-in stops itself)
    expired: Callable[[], bool] = _never


class BuiltinTimeout(Exception):
    """Raised inside a built-in when its time is up; run_builtin turns it into a result."""


@dataclass(frozen=True)
class _DeadlineFiles:
    """A FileView that stops the built-in once its time is up."""

    files: FileView
    expired: Callable[[], bool]

    def _check(self) -> None:
        if self.expired():
            raise BuiltinTimeout

    def paths(self) -> frozenset[str]:
        self._check()
        return self.files.paths()

    def read(self, path: str) -> bytes | None:
        self._check()
        return self.files.read(path)

    def sha256(self, path: str) -> str | None:
        self._check()
        return self.files.sha256(path)

    def prefetch(self, paths: Sequence[str]) -> None:
        self._check()
        self.files.prefetch(paths)


def _result(findings: list[Finding], checked: list[str], what: str) -> BuiltinResult:
    if findings:
        count = len(findings)
        return BuiltinResult(
            False,
            f"{count} problem{'s' if count != 1 else ''} ({what} checked)",
            tuple(findings),
            tuple(checked),
        )
    return BuiltinResult(True, what, (), tuple(checked))


def _nothing(what: str, scope: Sequence[str]) -> BuiltinResult:
    return BuiltinResult(
        False,
        f"nothing to check: no {what} under {', '.join(scope) or '(no paths)'}; "
        "fix the check's paths in the policy",
    )


def _scope(settings: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = settings.get(key)
    return tuple(value) if value else default


def _text(files: FileView, path: str) -> tuple[str | None, Finding | None]:
    raw = files.read(path)
    if raw is None:
        return None, Finding(path, "missing in the head commit", rule="missing")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, Finding(
            path, "not UTF-8 text; its content cannot be checked", line, None, "encoding"
        )


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


# --- template-policy -------------------------------------------------------------------------


def template_policy(given: BuiltinInput) -> BuiltinResult:
    scope = _scope(given.settings, "paths", given.governed_paths)
    rules = [
        (str(rule["rule"]), str(rule["pattern"]), str(rule.get("message") or rule["rule"]))
        for rule in given.settings.get("prohibited", [])
    ]
    if not rules:
        return BuiltinResult(False, "no prohibited patterns configured (with.prohibited)")
    compiled: list[tuple[str, LinearPattern, str]] = []
    findings: list[Finding] = []
    for name, pattern, message in rules:
        try:
            compiled.append((name, compile_pattern(pattern, multiline=True), message))
        except PatternError as error:
            findings.append(
                Finding(".promotion/policy.yaml", f"pattern of rule {name}: {error}", rule=name)
            )
    excluded = tuple(given.settings.get("exclude") or ())
    files = sorted(
        p for p in given.files.paths() if match_any(scope, p) and not match_any(excluded, p)
    )
    if not files:
        return _nothing("templates", scope)
    given.files.prefetch(files)
    for path in files:
        text, problem = _text(given.files, path)
        if problem or text is None:
            findings.append(problem or Finding(path, "unreadable"))
            continue
        for name, regex, message in compiled:
            for match in regex.finditer(text):
                if given.expired():
                    raise BuiltinTimeout
                line, column = _line_column(text, match.start())
                findings.append(
                    Finding(path, f"{message} (found {match.group()!r})", line, column, name)
                )
    findings.sort(key=lambda f: (f.file, f.line or 0, f.column or 0))
    count = len(files)
    return _result(findings, files, f"{count} template{'s' if count != 1 else ''}")


# --- pinned-models ---------------------------------------------------------------------------


def pin_problem(identifier: str) -> str | None:
    """Why a model identifier is not pinned (floating tag, or no version/digest), or None."""
    if compile_pattern(FLOATING_TAG).search(identifier):
        return (
            f"{identifier} is a floating tag; pin a version or a digest, e.g. "
            "name:7b-instruct@sha256:<64 hex> or gpt-4o-2024-08-06"
        )
    if not compile_pattern(PINNED).search(identifier):
        return (
            f"{identifier} names no version or digest; pin it, e.g. provider/model:1.2.3, "
            "model-2024-08-06 or model@sha256:<64 hex>"
        )
    return None


@dataclass(frozen=True)
class _Identifier:
    file: str
    value: Any
    line: int | None


def _walk(
    data: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield (*path, str(key)), value
            yield from _walk(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk(value, (*path, index))


@dataclass(frozen=True)
class SplitModelKeys:
    """A model named by one key and versioned by another in the same mapping
    (`model: gpt-4o`, `model_version: "2024-08-06"`): the identifier is name:version
    (name@version for a digest, sha256:...)."""

    name: str
    version: str


def split_identifier(name: Any, version: Any) -> str | None:
    """The identifier a name key and a version key make; None when either is not a string."""
    if not isinstance(name, str) or not isinstance(version, str) or not version:
        return None
    joiner = "@" if version.startswith("sha256:") else ":"
    return f"{name}{joiner}{version}"


def _config_identifiers(
    path: str, raw: bytes, keys: Sequence[str], split: Sequence[SplitModelKeys] = ()
) -> tuple[list[_Identifier], list[Finding]]:
    text = raw.decode("utf-8", "replace")
    document: YamlDocument | None = None
    try:
        if path.endswith(".json"):
            data = parse_json(raw)
        else:
            document = load_yaml_bytes(raw, path)
            data = document.data
    except InputError as error:
        return [], [
            Finding(p.file, p.message, p.line, p.column, "unreadable") for p in error.problems
        ]
    except JsonError as error:
        return [], [
            Finding(path, f"invalid JSON: {error.message}", error.line, error.column, "unreadable")
        ]

    def line_of(key_path: tuple[str | int, ...], value: Any) -> int | None:
        if document is not None:
            return document.locate(key_path).line
        offset = text.find(json.dumps(value)) if isinstance(value, str) else -1
        return _line_column(text, offset)[0] if offset >= 0 else None

    found = []
    findings = []
    for key_path, value in _walk(data):
        if key_path[-1] in keys:
            found.append(_Identifier(path, value, line_of(key_path, value)))
    for mapping_path, mapping in _mappings(data):
        for pair in split:
            if pair.name not in mapping:
                continue
            name = mapping[pair.name]
            if pair.version not in mapping:
                findings.append(
                    Finding(
                        path,
                        f"model {name!r} has no {pair.version}: pin its version next to it",
                        line_of((*mapping_path, pair.name), name),
                        rule="unpinned",
                    )
                )
                continue
            version = mapping[pair.version]
            where = line_of((*mapping_path, pair.version), version)
            identifier = split_identifier(name, version)
            if identifier is None:
                findings.append(
                    Finding(
                        path,
                        f"{pair.name} and {pair.version} must be non-empty strings, not "
                        f"{name!r} and {version!r}",
                        where,
                        rule="unpinned",
                    )
                )
                continue
            found.append(_Identifier(path, identifier, where))
    return found, findings


def _mappings(
    data: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """Every mapping in a document, with its key path."""
    if isinstance(data, Mapping):
        yield path, data
        for key, value in data.items():
            yield from _mappings(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _mappings(value, (*path, index))


def _model_keys(settings: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[SplitModelKeys, ...]]:
    keys = tuple(settings.get("keys") or ("identifier",))
    split = tuple(
        SplitModelKeys(str(pair["name"]), str(pair["version"]))
        for pair in settings.get("name_version_keys") or ()
    )
    return keys, split


def model_identifiers(
    path: str, raw: bytes, settings: Mapping[str, Any]
) -> tuple[list[tuple[Any, int | None]], list[Finding]]:
    """The model identifiers in one configuration, as pinned-models with these `with:`
    settings reads them: (value, line) pairs, and findings for what cannot be read."""
    keys, split = _model_keys(settings)
    found, findings = _config_identifiers(path, raw, keys, split)
    return [(item.value, item.line) for item in found], findings


def pinned_models(given: BuiltinInput) -> BuiltinResult:
    scope = _scope(given.settings, "files", given.governed_paths)
    keys, split = _model_keys(given.settings)
    files = sorted(
        p for p in given.files.paths() if match_any(scope, p) and p.endswith(CONFIG_SUFFIXES)
    )
    findings: list[Finding] = []
    identifiers: list[_Identifier] = []
    given.files.prefetch(files)
    for path in files:
        raw = given.files.read(path) or b""
        found, problems = _config_identifiers(path, raw, keys, split)
        identifiers += found
        findings += problems
    for item in identifiers:
        if not isinstance(item.value, str):
            findings.append(
                Finding(
                    item.file,
                    f"model identifier is not a string: {item.value!r}",
                    item.line,
                    rule="unpinned",
                )
            )
            continue
        problem = pin_problem(item.value)
        if problem:
            findings.append(Finding(item.file, problem, item.line, rule="unpinned"))
    findings += _recorded(given.change_requests, identifiers, scope)
    if not identifiers and not findings and not any(cr.models for cr in given.change_requests):
        named = [*keys, *(f"{pair.name}+{pair.version}" for pair in split)]
        return _nothing(f"model identifiers (keys {', '.join(named)})", scope)
    count = len(identifiers)
    return _result(findings, files, f"{count} model identifier{'s' if count != 1 else ''}")


def _recorded(
    crs: Sequence[ChangeRequest], identifiers: Sequence[_Identifier], scope: tuple[str, ...]
) -> list[Finding]:
    """Identifiers in a CR's artifacts are listed in its `models`, and every listed pin is used."""
    findings = []
    used = {item.value for item in identifiers}
    for cr in crs:
        pins = {model.identifier for model in cr.models}
        declared = {artifact.path for artifact in cr.artifacts}
        for item in identifiers:
            if item.file in declared and isinstance(item.value, str) and item.value not in pins:
                findings.append(
                    Finding(
                        item.file,
                        f"model identifier {item.value} is not recorded in {cr.change_id}: add "
                        f"it under models: (name and identifier) in {cr.source_path}",
                        item.line,
                        rule="not-recorded",
                    )
                )
        for index, model in enumerate(cr.models):
            problem = pin_problem(model.identifier)
            if problem:
                findings.append(
                    Finding(cr.source_path, f"models[{index}]: {problem}", rule="unpinned")
                )
            elif model.identifier not in used:
                findings.append(
                    Finding(
                        cr.source_path,
                        f"models[{index}] {model.name}: {model.identifier} is not used by any "
                        f"model configuration under {', '.join(scope)}",
                        rule="not-used",
                    )
                )
    return findings


# --- prompt-hashes ---------------------------------------------------------------------------


def prompt_hashes(given: BuiltinInput) -> BuiltinResult:
    scope = _scope(given.settings, "paths", given.governed_paths)
    marker_text = given.settings.get("version_marker")
    marker = compile_pattern(str(marker_text), multiline=True) if marker_text else None
    findings: list[Finding] = []
    checked: list[str] = []
    given.files.prefetch([p.path for cr in given.change_requests for p in cr.prompts])
    for cr in given.change_requests:
        listed = {prompt.path for prompt in cr.prompts}
        for artifact in cr.artifacts:
            if match_any(scope, artifact.path) and artifact.path not in listed:
                findings.append(
                    Finding(
                        cr.source_path,
                        f"{artifact.path} is a prompt artifact but is not listed under prompts: "
                        "(path, version, sha256)",
                        rule="unversioned",
                    )
                )
        for prompt in cr.prompts:
            checked.append(prompt.path)
            findings += _prompt_findings(cr, prompt, given, marker)
    for entry in given.settings.get("config_versions") or ():
        reference = ConfigPromptVersion(str(entry["file"]), str(entry["key"]), str(entry["prompt"]))
        checked.append(f"{reference.file} ({reference.key})")
        findings += _config_version_findings(reference, given)
    if not checked:
        return _nothing("prompts declared by the change requests", scope)
    count = len(checked)
    return _result(findings, checked, f"{count} prompt{'s' if count != 1 else ''}")


@dataclass(frozen=True)
class ConfigPromptVersion:
    """A config file that records which version of a prompt the application uses."""

    file: str
    key: str  # dotted path to the version in the YAML or JSON file
    prompt: str  # the prompt file the version is of


def _config_version_findings(reference: ConfigPromptVersion, given: BuiltinInput) -> list[Finding]:
    """The version the config names must be one a change request recorded for the prompt
    (the branch's or a merged one), with the content the prompt file has at head."""
    value, line, problem = _config_value(given.files, reference.file, reference.key)
    if problem is not None:
        return [problem]
    if not isinstance(value, str) or not value:
        return [
            Finding(
                reference.file,
                f"{reference.key} must be a version string, not {value!r}",
                line,
                rule="config-version",
            )
        ]
    recorded = [
        (cr.change_id, prompt)
        for cr in given.change_requests
        for prompt in cr.prompts
        if prompt.path == reference.prompt
    ] + [
        (item.change_id, item.prompt)
        for item in given.recorded_prompts
        if item.prompt.path == reference.prompt
    ]
    matching = [(change_id, prompt) for change_id, prompt in recorded if prompt.version == value]
    if not matching:
        versions = sorted({prompt.version for _, prompt in recorded})
        return [
            Finding(
                reference.file,
                f"{reference.key} is {value}, but no change request records {reference.prompt} "
                f"at version {value} (recorded: {', '.join(versions) or 'none'})",
                line,
                rule="config-version",
            )
        ]
    actual = given.files.sha256(reference.prompt)
    if actual is None:
        return [
            Finding(
                reference.prompt,
                f"missing in the head commit, but {reference.file} names version {value} of it",
                rule="missing",
            )
        ]
    if all(prompt.sha256 != actual for _, prompt in matching):
        change_id, prompt = matching[-1]
        return [
            Finding(
                reference.file,
                f"{reference.key} is {value}, but {reference.prompt} at head is not the content "
                f"{change_id} recorded for {value} (sha256 {actual[:12]}…, recorded "
                f"{prompt.sha256[:12]}…): the config and the prompt file disagree",
                line,
                rule="config-version",
            )
        ]
    return []


def _config_value(
    files: FileView, path: str, key: str
) -> tuple[Any, int | None, Finding | None]:
    """The value at dotted `key` in a YAML or JSON file, its line, or a finding."""
    raw = files.read(path)
    if raw is None:
        return None, None, Finding(path, "missing in the head commit", rule="missing")
    document: YamlDocument | None = None
    try:
        if path.endswith(".json"):
            data = parse_json(raw)
        else:
            document = load_yaml_bytes(raw, path)
            data = document.data
    except InputError as error:
        first = error.problems[0] if error.problems else None
        return None, None, Finding(
            path,
            first.message if first else str(error),
            first.line if first else None,
            first.column if first else None,
            "unreadable",
        )
    except JsonError as error:
        return None, None, Finding(
            path, f"invalid JSON: {error.message}", error.line, error.column, "unreadable"
        )
    value: Any = data
    parts: list[str | int] = []
    for part in key.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
            parts.append(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
            parts.append(int(part))
        else:
            return None, None, Finding(path, f"has no key {key}", rule="config-version")
    line = document.locate(parts).line if document is not None else None
    return value, line, None


def _prompt_findings(
    cr: ChangeRequest, prompt: PromptRef, given: BuiltinInput, marker: LinearPattern | None
) -> list[Finding]:
    findings = []
    actual = given.files.sha256(prompt.path)
    if actual is None:
        return [
            Finding(
                prompt.path,
                f"listed in {cr.change_id} prompts but missing in the head commit",
                rule="missing",
            )
        ]
    if actual != prompt.sha256:
        findings.append(
            Finding(
                prompt.path,
                f"sha256 is {actual}, {cr.change_id} records {prompt.sha256}",
                rule="hash-mismatch",
            )
        )
    for recorded in given.recorded_prompts:
        earlier = recorded.prompt
        if (
            earlier.path == prompt.path
            and earlier.version == prompt.version
            and (earlier.sha256 != actual)
        ):
            findings.append(
                Finding(
                    prompt.path,
                    f"version {prompt.version} was recorded by {recorded.change_id} with "
                    "other content; a changed prompt needs a new version",
                    rule="version-reused",
                )
            )
    if marker is not None:
        findings += _marker_findings(prompt, given.files, marker)
    return findings


def _marker_findings(prompt: PromptRef, files: FileView, marker: LinearPattern) -> list[Finding]:
    text, problem = _text(files, prompt.path)
    if problem or text is None:
        return [problem] if problem else []
    match = marker.search(text)
    if match is None:
        return [
            Finding(
                prompt.path,
                f"no version marker (pattern {marker.pattern})",
                1,
                rule="version-marker",
            )
        ]
    written = match.groupdict().get("version") or match.group(0)
    if written != prompt.version:
        line, column = _line_column(text, match.start())
        return [
            Finding(
                prompt.path,
                f"the prompt says version {written}, the change request records {prompt.version}",
                line,
                column,
                "version-marker",
            )
        ]
    return []


# --- sha256-manifest -------------------------------------------------------------------------


def sha256_manifest(given: BuiltinInput) -> BuiltinResult:
    manifest = str(given.settings.get("manifest", ""))
    raw = given.files.read(manifest) if manifest else None
    if raw is None:
        return BuiltinResult(
            False,
            f"manifest {manifest or '(with.manifest not set)'} is missing",
            (Finding(manifest or "?", "missing in the head commit", rule="missing"),),
        )
    text = raw.decode("utf-8", "replace")
    findings: list[Finding] = []
    listed: dict[str, int] = {}
    given.files.prefetch(
        [m.group(2) for m in map(_MANIFEST_LINE.match, text.splitlines()) if m is not None]
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line)
        if match is None:
            findings.append(
                Finding(manifest, "not a '<sha256>  <path>' line", number, rule="syntax")
            )
            continue
        expected, path = match.group(1).lower(), match.group(2)
        findings += _manifest_entry(manifest, number, path, expected, listed, given.files)
    for path in sorted(given.files.paths()):
        required = _scope(given.settings, "paths", ())
        if required and match_any(required, path) and path not in listed and path != manifest:
            findings.append(Finding(path, f"not listed in {manifest}", rule="unlisted"))
    if not listed:
        return BuiltinResult(False, f"{manifest} lists no files", tuple(findings))
    return _result(findings, sorted(listed), f"{len(listed)} files of {manifest}")


def _manifest_entry(
    manifest: str, number: int, path: str, expected: str, listed: dict[str, int], files: FileView
) -> list[Finding]:
    problem = path_problem(path)
    if problem:
        return [Finding(manifest, f"{path}: {problem}", number, rule="path")]
    if path in listed:
        return [
            Finding(
                manifest,
                f"{path} is listed twice (first on line {listed[path]})",
                number,
                rule="duplicate",
            )
        ]
    listed[path] = number
    actual = files.sha256(path)
    if actual is None:
        return [Finding(manifest, f"{path} is listed but missing", number, rule="missing")]
    if actual != expected:
        return [
            Finding(
                manifest,
                f"{path}: sha256 is {actual}, the manifest says {expected}",
                number,
                rule="mismatch",
            )
        ]
    return []


# --- no-regression ---------------------------------------------------------------------------


def read_metrics(
    raw: bytes | None, label: str, names: Sequence[str]
) -> tuple[dict[str, float], list[Finding]]:
    """The named metrics from a JSON metrics file, in one of the shapes evaluations write
    (docs/checks.md, "The metrics file"):

        {"accuracy": 0.91, "pii_guard": 1}                       a flat mapping
        {"metrics": {"accuracy": 0.91}, ...}                     the same under "metrics"
        [{"name": "accuracy", "value": 0.91}, ...]               a list of named metrics
        {"metrics": [{"name": "accuracy", "value": 0.91}], ...}  the same under "metrics"

    In a list, `metric` may stand for `name` and `score` for `value`. Missing, duplicated or
    non-numeric values are findings (never a pass)."""
    if raw is None:
        return {}, [Finding(label, "the evaluation wrote no metrics file", rule="no-metrics")]
    try:
        data = parse_json(raw)
    except JsonError as error:
        return {}, [Finding(label, f"not a JSON metrics file: {error.message}", rule="no-metrics")]
    if isinstance(data, dict) and isinstance(data.get("metrics"), dict | list):
        data = data["metrics"]
    findings: list[Finding] = []
    if isinstance(data, list):
        data, findings = _named_metrics(data, label)
    if not isinstance(data, dict):
        return {}, [
            Finding(
                label,
                "the metrics file is neither a JSON object of metrics nor a list of "
                '{"name": ..., "value": ...}',
                rule="no-metrics",
            )
        ]
    values: dict[str, float] = {}
    for name in names:
        value = data.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            shown = "missing" if name not in data else f"not a number ({value!r})"
            findings.append(Finding(label, f"metric {name} is {shown}", rule="no-metrics"))
        else:
            values[name] = float(value)
    return values, findings


def _named_metrics(items: list[Any], label: str) -> tuple[dict[str, Any], list[Finding]]:
    """A list of {"name"|"metric": ..., "value"|"score": ...} as a mapping; a malformed or
    repeated entry is a finding (and a repeated metric is not used: which one would count?)."""
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    findings = []
    for index, item in enumerate(items):
        name = item.get("name", item.get("metric")) if isinstance(item, dict) else None
        has_value = isinstance(item, dict) and ("value" in item or "score" in item)
        if not isinstance(name, str) or not has_value:
            findings.append(
                Finding(
                    label,
                    f"metrics[{index}] is not {{\"name\": ..., \"value\": ...}}",
                    rule="no-metrics",
                )
            )
            continue
        if name in found:
            repeated.add(name)
            findings.append(
                Finding(label, f"metric {name} is listed twice", rule="no-metrics")
            )
        found[name] = item.get("value", item.get("score"))
    for name in repeated:
        found.pop(name)
    return found, findings


def compare_metrics(
    directions: Mapping[str, str],
    base: Mapping[str, float],
    head: Mapping[str, float],
    head_label: str = "head metrics",
) -> BuiltinResult:
    """Every metric must be at least as good on head as on base, in its direction."""
    rows: list[dict[str, Any]] = []
    findings = []
    for name, direction in directions.items():
        if name not in base or name not in head:
            rows.append(
                {
                    "name": name,
                    "direction": direction,
                    "base": base.get(name),
                    "head": head.get(name),
                    "result": "missing",
                }
            )
            continue
        before, after = base[name], head[name]
        worse = after < before if direction == HIGHER else after > before
        rows.append(
            {
                "name": name,
                "direction": direction,
                "base": before,
                "head": after,
                "result": "worse" if worse else "ok",
            }
        )
        if worse:
            wanted = "higher" if direction == HIGHER else "lower"
            findings.append(
                Finding(
                    head_label,
                    f"{name} regressed: {_number(before)} on base, "
                    f"{_number(after)} on head ({wanted} is better)",
                    rule="regression",
                )
            )
    missing = [row["name"] for row in rows if row["result"] == "missing"]
    details = {"metrics": rows}
    if findings or missing:
        named = [f.message.split(" regressed")[0] for f in findings]
        parts = [f"regression in {', '.join(named)}"] if named else []
        parts += [f"cannot compare {', '.join(missing)}"] if missing else []
        return BuiltinResult(False, "; ".join(parts), tuple(findings), details=details)
    return BuiltinResult(True, f"no regression in {len(rows)} metrics", details=details)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


BUILTINS: dict[str, Callable[[BuiltinInput], BuiltinResult]] = {
    "template-policy": template_policy,
    "pinned-models": pinned_models,
    "prompt-hashes": prompt_hashes,
    "sha256-manifest": sha256_manifest,
}
COMMAND_BUILTINS = ("no-regression",)


def run_builtin(name: str, given: BuiltinInput, timeout: float | None = None) -> BuiltinResult:
    """Run one built-in; when `given.expired()` turns true it stops and fails as timed out."""
    function = BUILTINS.get(name)
    if function is None:
        return BuiltinResult(False, f"unknown built-in check {name!r}")
    bounded = replace(given, files=_DeadlineFiles(given.files, given.expired))
    try:
        return function(bounded)
    except BuiltinTimeout:
        limit = f" after {timeout:g} s" if timeout is not None else ""
        return BuiltinResult(
            False, f"timed out{limit}; the built-in check was stopped", timed_out=True
        )


__all__ = [
    "BUILTINS",
    "COMMAND_BUILTINS",
    "BuiltinInput",
    "BuiltinResult",
    "BuiltinTimeout",
    "FileView",
    "Finding",
    "MemoryFiles",
    "RecordedPrompt",
    "compare_metrics",
    "model_identifiers",
    "pin_problem",
    "pinned_models",
    "prompt_hashes",
    "read_metrics",
    "run_builtin",
    "sha256_manifest",
    "template_policy",
]
