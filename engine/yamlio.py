"""Safe YAML reading that remembers where every value came from.

Plan files are edited by hand, so every problem must point at a file,
line and column. Reading happens in two steps: PyYAML composes a tree of
nodes (each with its start mark), then this module builds plain Python
values from that tree itself, keeping the tree for :meth:`locate`.

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults:

- ``yes``, ``no``, ``on``, ``off``, ``y`` and ``n`` stay strings, so a
  territory rule on ``country: NO`` means Norway;
- only ``true``/``false`` (also ``True``, ``TRUE``, ``False``,
  ``FALSE``) are booleans, and only ``null``, ``Null``, ``NULL``, ``~``
  or nothing is null;
- integers are decimal, ``0o`` octal or ``0x`` hexadecimal, with no
  ``_`` separators and no sexagesimal ``1:30``;
- other numbers become the exact :class:`~decimal.Decimal` of their
  text (``0.1`` is ``Decimal("0.1")``), and ``.inf`` and ``.nan`` are
  refused, since money is never infinite;
- dates are not resolved: ``2026-02-01`` stays a string, and so does an
  impossible ``2026-02-30``, for the schema check to report later.

Mapping keys are always strings: the text of the key as written, so
``2026: x`` gives the key ``"2026"``. A key written twice in one mapping
is an error. Merge keys (``<<: *defaults``) are supported as in YAML 1.1:
keys written in the mapping win over merged ones, and of several merged
mappings the first listed wins. Each alias gives its own copy of the
anchored value, so changing one place in the data never changes another.
Only the standard tags are accepted.

The libyaml parser is used when PyYAML was built with it; the node tree
is composed in Python even then, because libyaml's composer recurses on
the C stack and brought the interpreter down on deeply nested input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from yaml.composer import Composer, ComposerError
from yaml.error import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from engine.errors import JsonPath, Location, YamlSyntaxError

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

logger = logging.getLogger(__name__)

MAX_NODES = 100_000
"""Most values one document may hold once its aliases are expanded."""

MAX_DEPTH = 100
"""Deepest nesting of mappings and lists a document may use."""

_CORE = "tag:yaml.org,2002:"
STR = _CORE + "str"
INT = _CORE + "int"
FLOAT = _CORE + "float"
BOOL = _CORE + "bool"
NULL = _CORE + "null"
MAP = _CORE + "map"
SEQ = _CORE + "seq"
MERGE = _CORE + "merge"

_NULL_RE = re.compile(r"(?:null|Null|NULL|~|)\Z")
_BOOL_RE = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_INT_RE = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"
)
_SPECIAL_FLOAT_RE = re.compile(
    r"(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_MERGE_RE = re.compile(r"<<\Z")

_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class CoreSchemaResolver(BaseResolver):
    """Resolves plain scalars by the YAML 1.2 core schema.

    The table is this class's own, so PyYAML's shared YAML 1.1 table is
    left as it is for any other code in the process.
    """

    yaml_implicit_resolvers: dict = {}


def _register_core_schema() -> None:
    digits = list("-+0123456789")
    # Integers are tried before numbers with a fraction, so "12" is 12.
    for tag, regexp, first in (
        (NULL, _NULL_RE, ["~", "n", "N", ""]),
        (BOOL, _BOOL_RE, list("tTfF")),
        (INT, _INT_RE, digits),
        (FLOAT, _FLOAT_RE, digits + ["."]),
        (FLOAT, _SPECIAL_FLOAT_RE, ["-", "+", "."]),
        (MERGE, _MERGE_RE, ["<"]),
    ):
        CoreSchemaResolver.add_implicit_resolver(tag, regexp, first)


_register_core_schema()


class _DepthLimitedComposer(Composer):
    """PyYAML's composer, refusing nesting deeper than ``MAX_DEPTH``."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            problem = f"the document nests deeper than {MAX_DEPTH} levels"
            raise ComposerError(None, None, problem, mark)

        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PythonLoader(
    _DepthLimitedComposer, Reader, Scanner, Parser, CoreSchemaResolver
):
    reports_byte_offsets = False

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _DepthLimitedComposer.__init__(self)
        CoreSchemaResolver.__init__(self)


if CParser is not None:

    class _LibyamlLoader(_DepthLimitedComposer, CParser, CoreSchemaResolver):
        # libyaml counts a reader error's position in bytes of UTF-8.
        reports_byte_offsets = True

        def __init__(self, text: str):
            CParser.__init__(self, text)
            _DepthLimitedComposer.__init__(self)
            CoreSchemaResolver.__init__(self)

    _LOADER: type = _LibyamlLoader
else:
    _LOADER = _PythonLoader


@dataclass
class YamlDocument:
    """One YAML document: its plain data and the nodes it was built from.

    ``data`` holds dicts (in file order), lists, str, int, Decimal, bool
    and None. ``root_node`` is the composed node tree, ``None`` for an
    empty file.
    """

    path: str
    data: Any
    root_node: Node | None = field(default=None, repr=False, compare=False)

    def locate(self, path: JsonPath) -> Location:
        """Where the value at ``path`` is written.

        A path that goes deeper than the document (a missing key, an
        index past the end of a list) gives the deepest value that
        exists on the way, so a missing key points at its parent. A
        value reached through an alias or a merge key is located where
        it is written, under its anchor.
        """
        node, _, _ = self._walk(path)
        return self._location(node, path)

    def locate_key(self, path: JsonPath) -> Location:
        """Where the key that ends ``path`` is written.

        For a list index, or a path deeper than the document, this is
        the same place as :meth:`locate` gives.
        """
        node, key_node, reached = self._walk(path)
        if reached and key_node is not None:
            node = key_node
        return self._location(node, path)

    def _walk(self, path: JsonPath) -> tuple[Node | None, Node | None, bool]:
        builder = _Builder(self.path)
        node, key_node = self.root_node, None
        for part in path:
            step = _child(builder, node, part)
            if step is None:
                return node, key_node, False
            key_node, node = step
        return node, key_node, True

    def _location(self, node: Node | None, path: JsonPath) -> Location:
        if node is None:
            return Location(self.path, 1, 1, tuple(path))
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, tuple(path))


def _child(
    builder: _Builder, node: Node | None, part: str | int
) -> tuple[Node | None, Node] | None:
    """The (key node, value node) one step below ``node``, if it exists."""
    if isinstance(node, MappingNode):
        return builder.entries(node, ()).get(str(part))

    is_index = isinstance(part, int) and not isinstance(part, bool)
    if isinstance(node, SequenceNode) and is_index:
        if 0 <= part < len(node.value):
            return None, node.value[part]
    return None


def load_yaml(path: str | Path) -> YamlDocument:
    """Read a YAML file holding one document.

    Raises :class:`YamlSyntaxError` for anything that is not well-formed
    UTF-8 YAML within this module's rules; errors opening the file
    (``OSError``) are left to the caller.
    """
    name = str(path)
    text = _decode(Path(path).read_bytes(), name)
    return load_yaml_text(text, name)


def load_yaml_text(text: str, name: str = "<string>") -> YamlDocument:
    """Read YAML text holding one document; empty text gives data None."""
    documents = load_yaml_documents(text, name)
    if not documents:
        return YamlDocument(name, None)

    if len(documents) > 1:
        second = documents[1].locate(())
        raise YamlSyntaxError(
            f"The file holds {len(documents)} documents separated by "
            "'---', but only one is expected here.",
            second,
        )
    return documents[0]


def load_yaml_documents(text: str, name: str) -> list[YamlDocument]:
    """Read every document of a YAML stream, in order."""
    nodes = _compose_all(text, name)
    documents = [
        YamlDocument(name, _Builder(name).build(node), node) for node in nodes
    ]
    logger.debug("Read %d YAML document(s) from %s", len(documents), name)
    return documents


def _compose_all(text: str, name: str) -> list[Node]:
    loader = None
    try:
        loader = _LOADER(text)
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        return nodes
    except MarkedYAMLError as exc:
        raise _from_marked_error(exc, text, name) from exc
    except ReaderError as exc:
        raise _from_reader_error(exc, text, name, loader) from exc
    except UnicodeEncodeError as exc:
        # A lone surrogate in a str cannot be handed to libyaml.
        location = _location_of_offset(text, exc.start, name)
        message = "The text holds a character that is not valid Unicode."
        raise YamlSyntaxError(message, location) from exc


# Building plain values ------------------------------------------------


class _BadScalar(ValueError):
    """A scalar whose text does not fit its tag."""


def _parse_null(text: str) -> None:
    if not _NULL_RE.match(text):
        raise _BadScalar(
            f"'{text}' is not a null value; write null, ~ or nothing."
        )
    return None


def _parse_bool(text: str) -> bool:
    if not _BOOL_RE.match(text):
        raise _BadScalar(f"'{text}' is not a boolean; write true or false.")
    return text.lower() == "true"


def _parse_int(text: str) -> int:
    if not _INT_RE.match(text):
        raise _BadScalar(f"'{text}' is not an integer.")
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _parse_decimal(text: str) -> Decimal:
    if _SPECIAL_FLOAT_RE.match(text):
        raise _BadScalar(
            f"'{text}' is not allowed: an amount, rate or quota must be a "
            "finite number. Write the number, or quote the text if a "
            "string is meant."
        )
    if not _FLOAT_RE.match(text):
        raise _BadScalar(f"'{text}' is not a number.")
    return Decimal(text)


def _as_text(text: str) -> str:
    return text


_SCALAR_PARSERS: dict[str, Callable[[str], Any]] = {
    STR: _as_text,
    NULL: _parse_null,
    BOOL: _parse_bool,
    INT: _parse_int,
    FLOAT: _parse_decimal,
    # A plain "<<" is a merge key only in key position; as a value it
    # is the text it shows.
    MERGE: _as_text,
}

_KIND_NAMES = {
    ScalarNode: "scalar",
    SequenceNode: "list",
    MappingNode: "mapping",
}


class _Builder:
    """Turns one document's node tree into plain values.

    Counts the values it builds, since aliases can make a short file
    expand beyond any size, and catches aliases that contain themselves.
    """

    def __init__(self, name: str):
        self.name = name
        self.count = 0
        self._open: set[int] = set()
        self._merging: set[int] = set()
        self._entries: dict[int, dict[str, tuple[Node, Node]]] = {}

    def build(self, node: Node | None) -> Any:
        if node is None:
            return None
        return self._value(node, ())

    def _value(self, node: Node, path: JsonPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(
                f"The document holds more than {MAX_NODES:,} values once "
                "its aliases are expanded. Files this large are refused "
                "because nested aliases can make a small file grow "
                "without bound.",
                node,
                path,
            )

        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._open:
            raise self.error(
                "An alias refers to a collection that contains it, so the "
                "value would repeat forever.",
                node,
                path,
            )

        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._mapping(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        parse = _SCALAR_PARSERS.get(node.tag)
        if parse is None:
            raise self._tag_error(node, path)
        try:
            return parse(node.value)
        except _BadScalar as exc:
            raise self.error(str(exc), node, path) from None

    def _sequence(self, node: SequenceNode, path: JsonPath) -> list[Any]:
        self._check_collection_tag(node, SEQ, path)
        return [
            self._value(item, path + (index,))
            for index, item in enumerate(node.value)
        ]

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        return {
            key: self._value(value_node, path + (key,))
            for key, (_, value_node) in self.entries(node, path).items()
        }

    def entries(
        self, node: MappingNode, path: JsonPath
    ) -> dict[str, tuple[Node, Node]]:
        """Key text to (key node, value node), with merge keys applied."""
        known = self._entries.get(id(node))
        if known is not None:
            return known
        self._check_collection_tag(node, MAP, path)
        if id(node) in self._merging:
            raise self.error(
                "A merge key ('<<') refers to a mapping that contains it.",
                node,
                path,
            )

        self._merging.add(id(node))
        try:
            own, merged = self._own_and_merged(node, path)
        finally:
            self._merging.discard(id(node))

        # Merged keys come first, as in PyYAML; a key written here wins.
        result = {key: own.get(key, pair) for key, pair in merged.items()}
        result.update(own)
        self._entries[id(node)] = result
        return result

    def _own_and_merged(
        self, node: MappingNode, path: JsonPath
    ) -> tuple[dict[str, tuple[Node, Node]], dict[str, tuple[Node, Node]]]:
        seen: dict[str, Node] = {}
        own: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            text = self._key_text(key_node, path)
            if text in seen:
                raise self._duplicate_key(text, seen[text], key_node, path)
            seen[text] = key_node

            if key_node.tag != MERGE:
                own[text] = (key_node, value_node)
                continue
            for source in self._merge_sources(value_node, path):
                for key, pair in self.entries(source, path).items():
                    merged.setdefault(key, pair)
        return own, merged

    def _merge_sources(
        self, node: Node, path: JsonPath
    ) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        items = node.value if isinstance(node, SequenceNode) else [node]
        for item in items:
            if not isinstance(item, MappingNode):
                kind = _KIND_NAMES[type(item)]
                raise self.error(
                    "A merge key ('<<') takes a mapping or a list of "
                    f"mappings, such as '<<: *defaults'; found a {kind}.",
                    item,
                    path,
                )
        return items

    def _key_text(self, node: Node, path: JsonPath) -> str:
        if not isinstance(node, ScalarNode):
            kind = _KIND_NAMES[type(node)]
            raise self.error(
                f"A mapping key must be a plain value, not a {kind}.",
                node,
                path,
            )
        if node.tag not in _SCALAR_PARSERS:
            raise self._tag_error(node, path)
        return node.value

    def _check_collection_tag(
        self, node: Node, expected: str, path: JsonPath
    ) -> None:
        if node.tag != expected:
            raise self._tag_error(node, path)

    def _tag_error(self, node: Node, path: JsonPath) -> YamlSyntaxError:
        tag = _short_tag(node.tag)
        core = node.tag in _SCALAR_PARSERS or node.tag in (MAP, SEQ)
        if core and node.tag != MERGE:
            kind = _KIND_NAMES[type(node)]
            message = f"The tag '{tag}' cannot mark a {kind}."
        else:
            message = (
                f"The tag '{tag}' is not allowed. Only the standard tags "
                "!!str, !!int, !!float, !!bool, !!null, !!map and !!seq "
                "may be used."
            )
        return self.error(message, node, path)

    def _duplicate_key(
        self, text: str, first: Node, again: Node, path: JsonPath
    ) -> YamlSyntaxError:
        first_line = first.start_mark.line + 1
        again_line = again.start_mark.line + 1
        return self.error(
            f"The key '{text}' appears twice in one mapping, at line "
            f"{first_line} and again at line {again_line}. Keep one of "
            "them.",
            again,
            path,
        )

    def error(
        self, message: str, node: Node, path: JsonPath
    ) -> YamlSyntaxError:
        mark = node.start_mark
        location = Location(self.name, mark.line + 1, mark.column + 1, path)
        return YamlSyntaxError(message, location)


def _short_tag(tag: str) -> str:
    if tag.startswith(_CORE):
        return "!!" + tag[len(_CORE):]
    return tag


# Turning PyYAML's errors into messages --------------------------------


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        location = _location_of_offset(before, len(before), name)
        raise YamlSyntaxError(
            f"The file is not valid UTF-8: byte 0x{raw[exc.start]:02X} "
            "cannot be read as text. Save the file with UTF-8 encoding.",
            location,
        ) from exc


def _from_marked_error(
    exc: MarkedYAMLError, text: str, name: str
) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    message = _sentence(_describe(exc))
    if exc.note:
        message += " " + _sentence(exc.note)
    if mark is None:
        return YamlSyntaxError(message, Location(name))

    line_text = _source_line(text, mark.line)
    if line_text[mark.column : mark.column + 1] == "\t":
        message += " Indent with spaces: YAML does not allow tabs there."
    message += _pointer(line_text, mark.column)
    return YamlSyntaxError(
        message, Location(name, mark.line + 1, mark.column + 1)
    )


def _describe(exc: MarkedYAMLError) -> str:
    """PyYAML's context and problem texts as one clause."""
    problem, context = exc.problem, exc.context
    if not context:
        return problem or "the YAML is not well-formed"
    if not problem:
        return context

    where = ""
    if exc.context_mark is not None:
        where = f" at line {exc.context_mark.line + 1}"
    if "; first occurrence" in context:
        anchor = context.split(";")[0]
        return f"{anchor}, first defined{where}; give each anchor its own name"
    if context.startswith("while"):
        return f"{problem}, {context}{where}"
    return f"{context}{where}, {problem}"


def _from_reader_error(
    exc: ReaderError, text: str, name: str, loader: Any
) -> YamlSyntaxError:
    offset = exc.position
    if loader is not None and loader.reports_byte_offsets:
        encoded = text.encode("utf-8", errors="surrogatepass")
        offset = len(encoded[:offset].decode("utf-8", errors="ignore"))

    character = exc.character
    if isinstance(character, int):
        character = f"U+{character:04X}"
    message = _sentence(f"{exc.reason} (found {character})")
    return YamlSyntaxError(message, _location_of_offset(text, offset, name))


def _location_of_offset(text: str, offset: int, name: str) -> Location:
    before = _LINE_BREAK.split(text[:offset])
    return Location(name, len(before), len(before[-1]) + 1)


def _source_line(text: str, index: int) -> str:
    lines = _LINE_BREAK.split(text)
    return lines[index] if 0 <= index < len(lines) else ""


def _pointer(line_text: str, column: int, width: int = 76) -> str:
    """The offending line with a caret under ``column``, if there is one.

    A long line is cut to ``width`` characters around the column.
    """
    if not line_text.strip():
        return ""
    start = max(0, column - width // 2)
    shown = line_text[start : start + width].rstrip()
    lead = "..." if start else ""
    # Keep the line's own tabs so the caret lines up in any editor.
    before = lead + line_text[start:column]
    pad = "".join(c if c == "\t" else " " for c in before)
    return f"\n    {lead}{shown}\n    {pad}^"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
