"""Positioned YAML loading for the YAML front end.

PyYAML's `compose` gives a node tree whose every node carries `start_mark`/`end_mark`; this
module turns that tree into spans, Python values and `Text` positions, and reports YAML syntax
problems as diagnostics. Only the safe loader is ever used: no tag can build a Python object.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostic
from .source import Span, offset_to_line_col

STR_TAG = "tag:yaml.org,2002:str"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"


# libyaml's composer builds the same nodes with the same marks about eight times faster; the
# pure-Python one (always there) words errors better, so it re-reads any file libyaml refuses.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def compose(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """The document's node tree, or a syntax diagnostic. Never raises."""
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER), []
        except (yaml.YAMLError, RecursionError, ValueError):
            pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        span = Span.point(file, mark.line + 1, mark.column + 1) if mark else Span.point(file, 1, 1)
        return None, [Diagnostic("MMO002", f"YAML syntax error: {message}", span)]
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry a position of their own
        line, column = _reader_position(text, exc)
        return None, [
            Diagnostic("MMO002", f"YAML syntax error: {exc}", Span.point(file, line, column))
        ]
    except RecursionError:
        return None, [
            Diagnostic("MMO002", "YAML syntax error: nesting is too deep", Span.point(file, 1, 1))
        ]


def _reader_position(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return offset_to_line_col(text, position)
    return 1, 1


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


def flatten_merges(node: MappingNode) -> str | None:
    """Apply `<<` merge keys in place, as the safe loader would; an error message if bad."""
    try:
        yaml.SafeLoader("").flatten_mapping(node)
    except yaml.YAMLError as exc:
        return str(getattr(exc, "problem", None) or exc)
    return None


class JsonValueError(ValueError):
    pass


def to_value(node: Node) -> Any:
    """The JSON-like Python value of a node (str, int, float, bool, None, list, dict).

    Raises JsonValueError for anything else (timestamps, binary, sets, recursive aliases)."""
    return _to_value(node, set())


def _to_value(node: Node, active: set[int]) -> Any:
    if id(node) in active:
        raise JsonValueError("a recursive alias")
    if isinstance(node, ScalarNode):
        if node.tag not in (STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG):
            raise JsonValueError(f"{kind_name(node)} value")
        try:
            return yaml.SafeLoader("").construct_object(node)
        except yaml.YAMLError as exc:
            raise JsonValueError(str(exc)) from None
    active = active | {id(node)}
    if isinstance(node, SequenceNode):
        return [_to_value(item, active) for item in node.value]
    if isinstance(node, MappingNode):
        problem = flatten_merges(node)
        if problem:
            raise JsonValueError(problem)
        out: dict[str, Any] = {}
        for key, value in node.value:
            if not is_str(key):
                raise JsonValueError(f"{kind_name(key)} as a mapping key")
            out[key.value] = _to_value(value, active)
        return out
    raise JsonValueError("an unknown node")


def scalar_value(node: ScalarNode) -> Any:
    """The Python value of a scalar of a JSON-like tag (call only for those tags)."""
    return yaml.SafeLoader("").construct_object(node)


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
