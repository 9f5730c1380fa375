"""Positioned YAML nodes for the YAML front end.

`yaml_compose.compose` gives a node tree whose every node carries `start_mark`/`end_mark`;
this module turns that tree into spans, Python values and `Text` positions. Only the safe
loader's constructors are ever used: no tag can build a Python object.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ...limits import MAX_NESTING, MAX_NUMBER_TEXT, number_too_large, too_large_reason
from ...source import Span

STR_TAG = "tag:yaml.org,2002:str"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"


def span_of(node: Node, file: str) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(
        file=file,
        line=start.line + 1,
        column=start.column + 1,
        end_line=end.line + 1,
        end_column=end.column + 1,
    )


def kind_name(node: Node) -> str:
    """How a node's type reads in a message."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        STR_TAG: "a string",
        INT_TAG: "an integer",
        FLOAT_TAG: "a number",
        BOOL_TAG: "a boolean",
        NULL_TAG: "null",
    }.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]}")


def is_str(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == STR_TAG


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_TAG = "tag:yaml.org,2002:value"


def flatten_merges(node: MappingNode) -> str | None:
    """Apply `<<` merge keys in place; an error message if a merge names anything but mappings.

    As YAML's merge-key spec says, a mapping's own keys win over merged ones, and a mapping
    earlier in `<<: [*a, *b]` wins over a later one. Merged mappings are flattened first, in a
    loop, so a chain of merges of any length costs no recursion, and a merged mapping keeps one
    entry per key, so merging one mapping many times copies its entries once.
    """
    order: list[MappingNode] = []  # every merged mapping before the mappings that merge it
    started: set[int] = set()
    stack: list[tuple[MappingNode, bool]] = [(node, False)]
    while stack:
        mapping, sources_done = stack.pop()
        if sources_done:
            order.append(mapping)
            continue
        if id(mapping) in started:
            continue  # flattened already, or a merge cycle (it merges no further)
        started.add(id(mapping))
        stack.append((mapping, True))
        for key, value in mapping.value:
            if key.tag == MERGE_TAG:
                sources = _merge_sources(value)
                if isinstance(sources, str):
                    return sources
                stack.extend((source, False) for source in reversed(sources))
    for mapping in order:
        _flatten_one(mapping)
    return None


def _merge_sources(value: Node) -> list[MappingNode] | str:
    """The mappings a `<<` value names, or why it names none."""
    if isinstance(value, MappingNode):
        return [value]
    if isinstance(value, SequenceNode):
        for item in value.value:
            if not isinstance(item, MappingNode):
                return f"expected a mapping for merging, but found {kind_name(item)}"
        return list(value.value)
    return f"expected a mapping or list of mappings for merging, but found {kind_name(value)}"


def _flatten_one(mapping: MappingNode) -> None:
    """Replace the `<<` entries of a mapping whose merged mappings are flat already."""
    merged: dict[object, tuple[Node, Node]] = {}
    own: list[tuple[Node, Node]] = []
    for key, value in mapping.value:
        if key.tag != MERGE_TAG:
            if key.tag == VALUE_TAG:  # `=`, as the safe loader reads it
                key.tag = STR_TAG
            own.append((key, value))
            continue
        sources = _merge_sources(value)
        assert isinstance(sources, list)  # checked before any mapping was changed
        for source in sources:
            for entry in source.value:
                if entry[0].tag != MERGE_TAG:  # left only in a merge cycle
                    merged.setdefault(_key_identity(entry[0]), entry)
    if len(own) == len(mapping.value):
        return  # nothing to merge: the entries stay as written
    for entry in own:
        merged[_key_identity(entry[0])] = entry
    mapping.value = list(merged.values())


def _key_identity(key: Node) -> object:
    return (key.tag, key.value) if isinstance(key, ScalarNode) else id(key)


class JsonValueError(ValueError):
    pass


class NodeLimitError(ValueError):
    """A node passes one of the limits in `limits`: the code to report, why, and where."""

    def __init__(self, code: str, reason: str, node: Node) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.node = node


_JSON_TAGS = (STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG)


def to_value(node: Node) -> Any:
    """The JSON-like Python value of a node (str, int, float, bool, None, list, dict).

    Raises JsonValueError for anything else (timestamps, binary, sets, recursive aliases),
    and NodeLimitError for a number too large (MMO010) or lists and mappings nested more
    than MAX_NESTING levels (MMO011), with the node at fault."""
    return _to_value(node, set(), 0)


def _to_value(node: Node, active: set[int], depth: int) -> Any:
    if id(node) in active:
        raise JsonValueError("a recursive alias")
    if isinstance(node, ScalarNode):
        if node.tag not in _JSON_TAGS:
            raise JsonValueError(f"{kind_name(node)} value")
        try:
            return number_value(node) if node.tag in (INT_TAG, FLOAT_TAG) else scalar_value(node)
        except yaml.YAMLError as exc:
            raise JsonValueError(str(exc)) from None
    if depth >= MAX_NESTING:
        raise NodeLimitError(
            "MMO011", f"lists and mappings nest more than {MAX_NESTING} levels deep here", node
        )
    active = active | {id(node)}
    if isinstance(node, SequenceNode):
        return [_to_value(item, active, depth + 1) for item in node.value]
    if isinstance(node, MappingNode):
        problem = flatten_merges(node)
        if problem:
            raise JsonValueError(problem)
        out: dict[str, Any] = {}
        for key, value in node.value:
            if not is_str(key):
                raise JsonValueError(f"{kind_name(key)} as a mapping key")
            out[key.value] = _to_value(value, active, depth + 1)
        return out
    raise JsonValueError("an unknown node")


# One set of the safe loader's constructors for every scalar: a loader made per scalar cost
# most of the time of reading a large value. A scalar's constructor keeps no state.
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def scalar_value(node: ScalarNode) -> Any:
    """The Python value of a scalar of a JSON-like tag (call only for those tags)."""
    return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)


_INFINITY = re.compile(r"[-+]?\.(?:inf|Inf|INF)")


def number_value(node: ScalarNode) -> int | float:
    """The value of an int or float scalar.

    NodeLimitError (MMO010) when it is beyond MAX_NUMBER, before Python converts a long one
    (int() refuses more than 4,300 digits; YAML's base-60 `1:2:3` costs quadratic time). A
    number written as YAML's `.inf` is let through: the range checks name it."""
    if node.tag == INT_TAG and len(node.value) > MAX_NUMBER_TEXT:
        raise NodeLimitError("MMO010", too_large_reason(node.value), node)
    value = scalar_value(node)
    if number_too_large(value) and not _INFINITY.fullmatch(node.value):
        raise NodeLimitError("MMO010", too_large_reason(node.value), node)
    return value  # type: ignore[no-any-return]


# ---- durations ---------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds for `500ms`, `2s`, `1.5m`, `1h`; None if the text is not a duration."""
    found = _DURATION.match(text)
    if not found:
        return None
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]


# ---- positions of characters inside a string scalar ---------------------------------------

_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}


def text_positions(node: ScalarNode, lines: list[str]) -> tuple[tuple[int, int], ...] | None:
    """(line, column) of each character of the scalar's value, 1-based; None when unsure.

    Handled: plain, single- and double-quoted scalars on one line, and block literals (`|`).
    Every result is verified against the value, so a wrong guess gives None, never bad data.
    """
    try:
        if node.style == "|":
            found = _literal_positions(node, lines)
        elif node.start_mark.line != node.end_mark.line:
            return None
        else:
            found = _inline_positions(node, lines[node.start_mark.line])
    except IndexError:
        return None
    if found is None or len(found) != len(node.value):
        return None
    return tuple(found)


def _inline_positions(node: ScalarNode, line_text: str) -> list[tuple[int, int]] | None:
    line = node.start_mark.line + 1
    start, end = node.start_mark.column, node.end_mark.column
    raw = line_text[start:end]
    if node.style in (None, ""):
        return [(line, start + i + 1) for i in range(len(raw))] if raw == node.value else None
    if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in "'\"":
        return None
    body, first_column = raw[1:-1], start + 2
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(body):
        out.append((line, first_column + i))
        if node.style == "'" and body.startswith("''", i):
            i += 2
        elif node.style == '"' and body[i] == "\\":
            i += _ESCAPE_LENGTH.get(body[i + 1 : i + 2], 2)
        else:
            i += 1
    return out


def _literal_positions(node: ScalarNode, lines: list[str]) -> list[tuple[int, int]] | None:
    header_line = node.start_mark.line
    header = lines[header_line][node.start_mark.column :].split("#", 1)[0].strip()
    digits = [c for c in header if c.isdigit()]
    value_lines = node.value.split("\n")
    indent: int | None = None
    if digits:
        indent = _parent_indent(lines[header_line]) + int(digits[0])
    out: list[tuple[int, int]] = []
    for k, value_line in enumerate(value_lines):
        source_index = header_line + 1 + k
        if value_line and indent is None:
            source = lines[source_index]
            indent = len(source) - len(source.lstrip(" "))
        column0 = indent or 0
        if value_line and lines[source_index][column0 : column0 + len(value_line)] != value_line:
            return None
        for j in range(len(value_line)):
            out.append((source_index + 1, column0 + j + 1))
        if k < len(value_lines) - 1:
            out.append((source_index + 1, column0 + len(value_line) + 1))
    return out


def _parent_indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
