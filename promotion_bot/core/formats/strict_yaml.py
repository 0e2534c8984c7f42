"""The strict YAML loader: every YAML file the bot reads goes through `load_yaml`.

PyYAML's `safe_load` is YAML 1.1: `1.10` becomes the float 1.1, `no` becomes False, `0755`
becomes 493, duplicate keys silently keep the last value and aliases can expand into
billions of nodes. Governance files must not be read differently by a person and by the bot,
so this loader refuses every construct whose meaning is surprising, and records where each
value sits so that later validation can point at a file, line and column.

Rules: safe loading only; UTF-8 only (no BOM, no control or bidirectional characters); no
tabs; a size bound; one document; no anchors, aliases or tags; mapping keys are strings and
unique; plain scalars resolve as YAML 1.2 core (null, true/false, decimal numbers) and the
YAML 1.1 forms that would be read differently elsewhere (yes/no/on/off, 0755, 1:30) are errors
that say "quote it".
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from promotion_bot.core.errors import InputError, Problem
from promotion_bot.core.formats.locations import JsonPath, LocatedDocument, Location

MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 64  # int() refuses more than 4,300 digits; no governance number needs 65

_BIDI_AND_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f\ufeff]"
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_YAML11_BOOL = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_INT_HEX_OCT = re.compile(r"^(?:0x[0-9a-fA-F]+|0o[0-7]+)$")
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_UNDERSCORE_NUMBER = re.compile(r"^[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?$")
# Every pattern above can only match a text starting with one of these characters (or the empty
# text): any other plain scalar is a string without trying them.
_MAY_BE_TYPED = frozenset("~nNtTfFyYoO0123456789+-.")


class YamlDocument(LocatedDocument):
    """A document the strict loader read: the data, and where every value and key came from."""


class _StrictComposer(Composer):
    """PyYAML's composer refusing anchors, aliases and tags. It resolves no implicit types:
    that is done afterwards by `_resolve_plain`, which knows the source text."""

    display_path: str

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        mark = event.start_mark
        if isinstance(event, AliasEvent):
            raise _located(
                self.display_path,
                mark,
                f"alias *{event.anchor} is not allowed",
                "write the value out in full; anchors and aliases are refused so that a file "
                "cannot expand into a huge document",
            )
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            if event.anchor is not None:
                raise _located(
                    self.display_path,
                    mark,
                    f"anchor &{event.anchor} is not allowed",
                    "remove the anchor and write the value out in full",
                )
            if event.tag not in (None, "!"):
                raise _located(
                    self.display_path,
                    mark,
                    f"tag {event.tag} is not allowed",
                    "remove the tag; quote a value to make it a string",
                )
        return super().compose_node(parent, index)


class _StrictLoader(Reader, Scanner, Parser, _StrictComposer, BaseResolver):
    """The pure-Python reader, scanner and parser: the reference, and every error message."""

    def __init__(self, stream: str, display_path: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.display_path = display_path


_CStrictLoader: Any = None
_CParser: Any = None
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser does it all
    pass
else:

    class _CStrictLoaderClass(_StrictComposer, CParser, BaseResolver):
        """libyaml's scanner and parser (several times quicker) feeding the same composer."""

        def __init__(self, stream: str, display_path: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            BaseResolver.__init__(self)
            self.display_path = display_path

    _CStrictLoader = _CStrictLoaderClass
    _CParser = CParser

# Where libyaml accepts what PyYAML refuses or places an empty value elsewhere (found by
# differential testing, tests/core/formats/test_strict_yaml.py): a comment right after a block
# scalar's header (`|#`), a text that does not end with a line break, and a `?` (an explicit
# key, or inside a plain scalar of a flow collection, `[a?b]`, which YAML 1.1 refuses). Such
# texts take the pure-Python path; `_from_events` reads a text whose every `?` libyaml found
# inside a quoted scalar or a comment (`_question_marks_are_inert`).
_LIBYAML_DIFFERS = re.compile(r"\?|[|>][-+0-9]{0,2}#")
_LIBYAML_DIFFERS_BUT_FOR_QUESTION_MARKS = re.compile(r"[|>][-+0-9]{0,2}#")
_LINE_BREAKS = "\n\r\x85\u2028\u2029"
_QUOTES = ("'", '"')


def _compose(text: str, display_path: str, libyaml: bool) -> Node | None:
    """The document's node tree, through libyaml where it is available and `libyaml` allows.
    Any error there is reported by the pure-Python parser, so messages and locations never
    depend on libyaml."""
    if libyaml and _CStrictLoader is not None and not _LIBYAML_DIFFERS.search(text):
        loader = _CStrictLoader(text, display_path)
        try:
            node: Node | None = loader.get_single_node()
            return node
        except (yaml.YAMLError, InputError, RecursionError):
            pass
        finally:
            loader.dispose()
    return _compose_pure(text, display_path)


def _compose_pure(text: str, display_path: str) -> Node | None:
    loader = _StrictLoader(text, display_path)
    try:
        node: Node | None = loader.get_single_node()
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "not valid YAML"
        if "expected a single document" in str(exc.context or ""):
            message = "more than one YAML document in the file"
        raise _located(display_path, mark, message, "fix the YAML syntax") from None
    except yaml.YAMLError as exc:
        raise _located(display_path, None, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise _located(display_path, None, "nesting is too deep") from None
    finally:
        loader.dispose()
    return node


def _located(path: str, mark: Any, message: str, hint: str | None = None) -> InputError:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    problem = Problem(file=path, line=line, column=column, message=message, hint=hint)
    return InputError(problem.render(), [problem])


def load_yaml_bytes(
    raw: bytes, display_path: str, *, max_bytes: int = MAX_YAML_BYTES
) -> YamlDocument:
    """Strictly load YAML from bytes (e.g. a blob read from git at the base commit)."""
    if len(raw) > max_bytes:
        problem = Problem(
            file=display_path,
            message=f"file is larger than {max_bytes} bytes",
            hint="governance YAML files are small; split the file or remove generated content",
        )
        raise InputError(problem.render(), [problem])
    text = _decode_utf8(raw, display_path)
    _reject_bad_characters(text, display_path)
    libyaml = (
        _CParser is not None
        and text.endswith("\n")
        and not _LIBYAML_DIFFERS_BUT_FOR_QUESTION_MARKS.search(text)
    )
    if libyaml:
        try:
            read = _from_events(text, display_path)
        except _ReadByThePurePythonParser:
            libyaml = False
        else:
            if read is not None:
                return read
    node = _compose(text, display_path, libyaml)
    document = YamlDocument(path=display_path, data=None)
    if node is None:
        document.values[()] = Location(1, 1)
        return document
    document.data = _construct(node, (), document, depth=0)
    return document


class _LeftToTheComposer(Exception):
    """A construct `_from_events` does not read: the composer reads it (and refuses it)."""


class _ReadByThePurePythonParser(Exception):
    """What libyaml may read differently from PyYAML, seen in its events: a `?` outside quoted
    scalars and comments, an empty value in a flow mapping (`{a: }`, placed at the `}` where
    PyYAML places it after the `:`), a tag (in a flow collection, libyaml ends `!` at the `,`
    of `[!, a]`, PyYAML reads the tag `!,`). The pure-Python parser reads the text."""


def _from_events(text: str, display_path: str) -> YamlDocument | None:
    """The document built straight from libyaml's events, without the node tree (half the
    time of a change request): for a document the rules accept, the same data and locations
    as composing and constructing. Anything else (a syntax error, an anchor, an alias, a key
    that is not a string, a duplicate or merge key, deep nesting, a refused scalar) returns
    None, and the composer reads the text again, refuses it and says why.

    What libyaml may read differently raises `_ReadByThePurePythonParser`: a text with a `?` is
    read here only when libyaml found each inside a quoted scalar or a comment, where both
    parsers read a `?` as any other character."""
    parser = _CParser(text)
    document = YamlDocument(path=display_path, data=None)
    question_marks = "?" in text
    scalars: list[Any] = []  # libyaml's events: their marks are always set

    def get_and_keep_scalars() -> Any:
        event = parser.get_event()
        if isinstance(event, ScalarEvent):
            scalars.append(event)
        return event

    try:
        get = get_and_keep_scalars if question_marks else parser.get_event
        get()  # the stream's start
        if not isinstance(get(), DocumentStartEvent):
            return None  # an empty stream: the composer's case
        document.data = _event_value(get, get(), (), document, 0)
        if not isinstance(get(), DocumentEndEvent) or not isinstance(get(), StreamEndEvent):
            return None
    except (yaml.YAMLError, InputError, RecursionError, _LeftToTheComposer):
        return None
    finally:
        parser.dispose()
    if question_marks and not _question_marks_are_inert(text, scalars):
        raise _ReadByThePurePythonParser
    return document


def _question_marks_are_inert(text: str, scalars: list[Any]) -> bool:
    """Whether every `?` of `text` lies inside a quoted scalar or a comment, as libyaml read
    it (`scalars`: every scalar of the document, in order). Up to the first `?` both parsers
    read the text alike; one inside quotes or a comment is read by both as any other
    character, so they agree up to the next. A directive line (`%`) is not judged here."""
    if text.startswith("%") or any(f"{line_break}%" in text for line_break in _LINE_BREAKS):
        return False
    spans = [(event.start_mark.index, event.end_mark.index, event.style) for event in scalars]
    starts = [start for start, _end, _style in spans]
    for start, end, style in spans:
        if style in _QUOTES and not (
            end - start >= 2 and text[start] == style and text[end - 1] == style
        ):
            return False  # the marks do not count what the text holds: trust nothing
    at = text.find("?")
    while at >= 0:
        before = bisect.bisect_right(starts, at) - 1
        quoted = before >= 0 and spans[before][2] in _QUOTES and at < spans[before][1] - 1
        if not quoted and not _in_comment(text, at, spans, starts):
            return False
        at = text.find("?", at + 1)
    return True


def _in_comment(
    text: str, at: int, spans: list[tuple[int, int, str | None]], starts: list[int]
) -> bool:
    """Whether a `#` earlier on the line of `at` starts a comment: after a space or at the
    line's start, outside every scalar."""
    line_start = max(text.rfind(mark, 0, at) for mark in _LINE_BREAKS) + 1
    hash_at = text.find("#", line_start, at)
    while hash_at >= 0:
        before = bisect.bisect_right(starts, hash_at) - 1
        in_scalar = before >= 0 and hash_at < spans[before][1]
        if not in_scalar and (hash_at == line_start or text[hash_at - 1] == " "):
            return True
        hash_at = text.find("#", hash_at + 1, at)
    return False


def _event_value(
    get: Any, event: Any, path: JsonPath, document: YamlDocument, depth: int
) -> Any:
    """`_construct` of the node that starts with `event`, reading the rest of its events."""
    if depth > MAX_DEPTH or isinstance(event, AliasEvent):
        raise _LeftToTheComposer
    if event.anchor is not None:
        raise _LeftToTheComposer
    if event.tag is not None:
        raise _ReadByThePurePythonParser
    mark = event.start_mark
    if isinstance(event, ScalarEvent):
        _check_unicode(event, document)
        plain = not event.style
        value = _resolve_plain(event, document) if plain else event.value
        document.values[path] = Location(mark.line + 1, mark.column + 1, event.value, plain)
        return value
    if isinstance(event, SequenceStartEvent):
        document.values[path] = Location(mark.line + 1, mark.column + 1)
        items: list[Any] = []
        event = get()
        while not isinstance(event, SequenceEndEvent):
            items.append(_event_value(get, event, (*path, len(items)), document, depth + 1))
            event = get()
        return items
    if not isinstance(event, MappingStartEvent):
        raise _LeftToTheComposer
    document.values[path] = Location(mark.line + 1, mark.column + 1)
    result: dict[str, Any] = {}
    flow = event.flow_style
    key = get()
    while not isinstance(key, MappingEndEvent):
        if not isinstance(key, ScalarEvent) or key.anchor is not None:
            raise _LeftToTheComposer
        if key.tag is not None:
            raise _ReadByThePurePythonParser
        name = key.value
        _check_unicode(key, document)
        if not key.style and not isinstance(_resolve_plain(key, document), str):
            raise _LeftToTheComposer
        if name == "<<" or name in result:
            raise _LeftToTheComposer
        child: JsonPath = (*path, name)
        at: Any = key.start_mark
        document.keys[child] = Location(at.line + 1, at.column + 1, name)
        value = get()
        if flow and isinstance(value, ScalarEvent) and not value.style and not value.value:
            raise _ReadByThePurePythonParser
        result[name] = _event_value(get, value, child, document, depth + 1)
        key = get()
    return result


def _decode_utf8(raw: bytes, display_path: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        problem = Problem(
            file=display_path,
            line=1,
            column=1,
            message="file starts with a byte order mark",
            hint="save the file as UTF-8 without BOM",
        )
        raise InputError(problem.render(), [problem])
    try:
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        problem = Problem(
            file=display_path,
            line=line,
            column=column,
            message=f"not UTF-8 (byte 0x{raw[exc.start]:02x})",
            hint="save the file as UTF-8",
        )
        raise InputError(problem.render(), [problem]) from None


def _reject_bad_characters(text: str, display_path: str) -> None:
    for line_number, line in enumerate(text.split("\n"), start=1):
        tab = line.find("\t")
        if tab >= 0:
            problem = Problem(
                file=display_path,
                line=line_number,
                column=tab + 1,
                message="tab character",
                hint="use spaces; in a quoted string write \\t",
            )
            raise InputError(problem.render(), [problem])
        bad = _BIDI_AND_CONTROL.search(line.rstrip("\r"))
        if bad:
            problem = Problem(
                file=display_path,
                line=line_number,
                column=bad.start() + 1,
                message=f"control or bidirectional character U+{ord(bad.group()):04X}",
                hint="remove it; such characters can hide what a file says",
            )
            raise InputError(problem.render(), [problem])


def _construct(node: Node, path: JsonPath, document: YamlDocument, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _located(document.path, node.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(node, MappingNode):
        return _construct_mapping(node, path, document, depth)
    location = Location(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, SequenceNode):
        document.values[path] = location
        return [
            _construct(item, (*path, index), document, depth + 1)
            for index, item in enumerate(node.value)
        ]
    assert isinstance(node, ScalarNode)
    _check_unicode(node, document)
    plain = not node.style  # None from PyYAML's parser, "" from libyaml's
    value = _resolve_plain(node, document) if plain else node.value
    document.values[path] = Location(location.line, location.column, node.value, plain)
    return value


def _construct_mapping(
    node: MappingNode, path: JsonPath, document: YamlDocument, depth: int
) -> dict[str, Any]:
    document.values[path] = Location(node.start_mark.line + 1, node.start_mark.column + 1)
    result: dict[str, Any] = {}
    first_seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _located(
                document.path,
                key_node.start_mark,
                "mapping key is not a string",
                "keys must be plain names",
            )
        key = key_node.value
        _check_unicode(key_node, document)
        if not key_node.style and not isinstance(_resolve_plain(key_node, document), str):
            raise _located(
                document.path,
                key_node.start_mark,
                f"mapping key {key!r} is not a string",
                f'quote it: "{key}"',
            )
        if key == "<<":
            raise _located(
                document.path,
                key_node.start_mark,
                "merge keys (<<) are not allowed",
                "write the entries out in full",
            )
        if key in first_seen:
            raise _located(
                document.path,
                key_node.start_mark,
                f"duplicate key {key!r} (first at line {first_seen[key]})",
                "keep one of them; YAML would silently use the last",
            )
        first_seen[key] = key_node.start_mark.line + 1
        child: JsonPath = (*path, key)
        document.keys[child] = Location(
            key_node.start_mark.line + 1, key_node.start_mark.column + 1, key
        )
        result[key] = _construct(value_node, child, document, depth + 1)
    return result


def _check_unicode(node: ScalarNode | ScalarEvent, document: YamlDocument) -> None:
    """An escape such as "\\ud800" makes a string that cannot be written out again."""
    try:
        node.value.encode("utf-8")
    except UnicodeEncodeError:
        raise _located(
            document.path,
            node.start_mark,
            "the string holds an unpaired surrogate escape (not valid Unicode)",
            "write the character itself, or a \\U escape of a real code point",
        ) from None


def _resolve_plain(node: ScalarNode | ScalarEvent, document: YamlDocument) -> Any:
    """YAML 1.2 core types for unquoted scalars; YAML 1.1-only readings are refused."""
    text: str = node.value
    if text and text[0] not in _MAY_BE_TYPED:
        return text
    if len(text) > MAX_NUMBER_CHARS and (
        _INT.match(text) or _INT_HEX_OCT.match(text) or _FLOAT.match(text)
    ):
        raise _located(
            document.path,
            node.start_mark,
            f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})",
            "quote it if it is text",
        )
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _YAML11_BOOL.match(text):
        raise _ambiguous(
            node,
            document,
            "is a boolean in YAML 1.1 but a string in YAML 1.2",
            "write true or false, or",
        )
    if _LEADING_ZERO.match(text):
        raise _ambiguous(node, document, "has a leading zero, which YAML 1.1 reads as octal")
    if _SEXAGESIMAL.match(text):
        raise _ambiguous(node, document, "is a base-60 number in YAML 1.1")
    if _UNDERSCORE_NUMBER.match(text):
        raise _ambiguous(node, document, "is a number with underscores in YAML 1.1")
    if _INT.match(text):
        return int(text)
    if _INT_HEX_OCT.match(text):
        return int(text, 0)
    if _FLOAT.match(text) or _SPECIAL_FLOAT.match(text):
        return float(
            text.replace(".inf", "inf")
            .replace(".Inf", "inf")
            .replace(".INF", "inf")
            .replace(".nan", "nan")
            .replace(".NaN", "nan")
            .replace(".NAN", "nan")
        )
    if _TIMESTAMP.match(text):
        try:
            return _timestamp(text)
        except ValueError:
            return text
    return text


def _timestamp(text: str) -> dt.date | dt.datetime:
    if len(text) <= 10:
        year, month, day = (int(part) for part in text.split("-"))
        return dt.date(year, month, day)
    return dt.datetime.fromisoformat(text.replace("t", "T").replace(" ", "T", 1))


def _ambiguous(
    node: ScalarNode | ScalarEvent, document: YamlDocument, why: str, alternative: str = ""
) -> InputError:
    hint = f'{alternative} quote it: "{node.value}"'.strip()
    return _located(document.path, node.start_mark, f"{node.value} {why}", hint)
