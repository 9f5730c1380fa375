"""Typed, positioned access to YAML nodes, reporting shape problems as diagnostics.

The YAML front end asks this reader for "a string", "a list of names", "a duration" and so on;
every wrong shape becomes one diagnostic (MMO003, MMO004, MMO006, MMO008, MMO107) with the
node's position, and the caller gets None and carries on, so one run reports every problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ... import ir
from ...diagnostics.model import Diagnostic
from ...limits import number_too_large, too_large_reason
from ...source import Span
from .nodes import (
    BOOL_TAG,
    FLOAT_TAG,
    INT_TAG,
    JsonValueError,
    NodeLimitError,
    flatten_merges,
    is_str,
    kind_name,
    number_value,
    parse_duration,
    scalar_value,
    span_of,
    text_positions,
    to_value,
)

Entry = tuple[ScalarNode, Node]  # a mapping entry: key node, value node


class Fields:
    """A YAML mapping's entries by key (later duplicates already reported and dropped)."""

    def __init__(self, node: MappingNode, entries: dict[str, Entry]) -> None:
        self.node = node
        self.entries = entries

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_node(self, key: str) -> ScalarNode | None:
        entry = self.entries.get(key)
        return entry[0] if entry else None

    def __contains__(self, key: str) -> bool:
        return key in self.entries


class Reader:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.diagnostics: list[Diagnostic] = []

    # ---- reporting -----------------------------------------------------------------------

    def span(self, node: Node) -> Span:
        return span_of(node, self.file)

    def start(self, node: Node) -> Span:
        """A one-character span at the node's start: where a missing field would go."""
        mark = node.start_mark
        return Span.point(self.file, mark.line + 1, mark.column + 1)

    def error(self, code: str, message: str, where: Node | Span, help: str | None = None) -> None:
        span = where if isinstance(where, Span) else self.span(where)
        self.diagnostics.append(Diagnostic(code, message, span, help=help))

    def wrong_type(self, node: Node, field: str, what: str, expected: str) -> None:
        self.error("MMO006", f"`{field}` of {what} must be {expected}, not {kind_name(node)}", node)

    # ---- mappings ------------------------------------------------------------------------

    def mapping(self, node: Node, what: str) -> Fields | None:
        if not isinstance(node, MappingNode):
            self.error("MMO003", f"{what} must be a mapping, not {kind_name(node)}", node)
            return None
        seen: set[str] = set()
        for key, _ in node.value:  # duplicates among the keys written here, not merged ones
            if is_str(key) and key.value in seen:
                self.error("MMO107", f"`{key.value}` is given twice in {what}", key)
            if is_str(key):
                seen.add(key.value)
        problem = flatten_merges(node)
        if problem:
            self.error("MMO006", f"bad `<<` merge in {what}: {problem}", node)
        entries: dict[str, Entry] = {}
        for key, value in node.value:
            if not is_str(key):
                if not key.tag.endswith(":merge"):
                    self.error(
                        "MMO006",
                        f"field names in {what} must be strings, not {kind_name(key)}",
                        key,
                    )
                continue
            assert isinstance(key, ScalarNode)
            entries[key.value] = (key, value)
        return Fields(node, entries)

    def known(self, fields: Fields, allowed: Sequence[str], what: str, elsewhere: str = "") -> None:
        """MMO004 for every key not in `allowed`, with a "did you mean"."""
        for key, (key_node, _) in fields.entries.items():
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.6)
            if close:
                help = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
            else:
                help = "known fields: " + ", ".join(allowed)
            self.error("MMO004", f"unknown field `{key}` in {what}{elsewhere}", key_node, help)

    def one_of(self, fields: Fields, names: Sequence[str], what: str) -> tuple[str, Node] | None:
        """The one field given among aliases (`prompt`/`prompt_template`); MMO107 if several."""
        given = [n for n in names if n in fields]
        if not given:
            return None
        if len(given) > 1:
            second = fields.key_node(given[1])
            assert second is not None
            self.error(
                "MMO107",
                f"{what} gives both `{given[0]}` and `{given[1]}`, which mean the same",
                second,
                help=f"keep one of them: {', '.join(f'`{n}`' for n in given)}",
            )
        node = fields.get(given[0])
        assert node is not None
        return given[0], node

    def require(self, fields: Fields, names: Sequence[str], what: str) -> tuple[str, Node] | None:
        found = self.one_of(fields, names, what)
        if found is None:
            spelled = " (or ".join(f"`{n}`" for n in names) + ")" * (len(names) - 1)
            self.error("MMO005", f"{what} has no {spelled}", self.start(fields.node))
        return found

    # ---- scalars -------------------------------------------------------------------------

    def string(self, node: Node, field: str, what: str) -> str | None:
        if not is_str(node):
            self.wrong_type(node, field, what, "a string")
            return None
        assert isinstance(node, ScalarNode)
        return str(node.value)

    def text(self, node: Node, field: str, what: str) -> ir.Text | None:
        value = self.string(node, field, what)
        if value is None:
            return None
        assert isinstance(node, ScalarNode)
        return ir.Text(
            value=value, span=self.span(node), positions=text_positions(node, self.lines)
        )

    def ident(self, node: Node, field: str, what: str) -> ir.Ident | None:
        value = self.string(node, field, what)
        return None if value is None else ir.Ident(name=value, span=self.span(node))

    def model(self, node: Node, field: str, what: str) -> ir.ModelRef | None:
        value = self.string(node, field, what)
        return None if value is None else ir.ModelRef(id=value, span=self.span(node))

    def _number(
        self, node: Node, field: str, what: str, tags: tuple[str, ...], expected: str
    ) -> int | float | None:
        """The node's number when its tag is one of `tags`; else MMO006 (or MMO010) and None."""
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.wrong_type(node, field, what, expected)
            return None
        try:
            return number_value(node)
        except NodeLimitError as exc:
            self.limit(exc, field, what)
            return None

    def integer(self, node: Node, field: str, what: str) -> int | None:
        value = self._number(node, field, what, (INT_TAG,), "a whole number")
        return None if value is None else int(value)

    def number(self, node: Node, field: str, what: str) -> int | float | None:
        return self._number(node, field, what, (INT_TAG, FLOAT_TAG), "a number")

    def duration(self, node: Node, field: str, what: str) -> int | float | None:
        """Plain numbers are seconds; strings like `500ms`, `2s`, `1m`, `1h` are durations."""
        if not is_str(node):
            expected = "a number of seconds or a duration like 2s"
            return self._number(node, field, what, (INT_TAG, FLOAT_TAG), expected)
        assert isinstance(node, ScalarNode)
        seconds = parse_duration(node.value)
        if seconds is None:
            self.error(
                "MMO008",
                f"`{field}` of {what}: {node.value!r} is not a duration",
                node,
                help="write seconds as a number, or a duration such as 500ms, 2s, 1m, 1h",
            )
        elif number_too_large(seconds):
            self.error("MMO010", f"`{field}` of {what}: {too_large_reason(node.value)}", node)
            return None
        return seconds

    def boolean(self, node: Node, field: str, what: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
            return bool(scalar_value(node))
        self.wrong_type(node, field, what, "true or false")
        return None

    def scalar_text(self, node: Node, field: str, what: str) -> str | None:
        """A scalar's text as written (`version: 1.0` is the string "1.0")."""
        if isinstance(node, ScalarNode) and (is_str(node) or node.tag in (INT_TAG, FLOAT_TAG)):
            return str(node.value)
        self.wrong_type(node, field, what, "a string")
        return None

    def value(self, node: Node, field: str, what: str) -> tuple[bool, Any]:
        """Any JSON-like value: (ok, value)."""
        try:
            return True, to_value(node)
        except JsonValueError as exc:
            self.error("MMO006", f"`{field}` of {what} must be JSON-like data, not {exc}", node)
        except NodeLimitError as exc:
            self.limit(exc, field, what)
        return False, None

    def limit(self, exc: NodeLimitError, field: str, what: str) -> None:
        """A number too large or a value nested too deeply, at the node at fault."""
        self.error(exc.code, f"`{field}` of {what}: {exc.reason}", exc.node)

    # ---- lists ---------------------------------------------------------------------------

    def items(self, node: Node, field: str, what: str, single: bool = True) -> list[Node] | None:
        """A list's items; a lone scalar counts as a one-item list when `single`."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if single and isinstance(node, ScalarNode) and is_str(node):
            return [node]
        self.wrong_type(node, field, what, "a list" + (" or a single name" if single else ""))
        return None

    def idents(self, node: Node, field: str, what: str) -> tuple[ir.Ident, ...] | None:
        nodes = self.items(node, field, what)
        if nodes is None:
            return None
        found = [self.ident(n, field, what) for n in nodes]
        return None if any(i is None for i in found) else tuple(i for i in found if i)

    def strings(self, node: Node, field: str, what: str) -> tuple[str, ...] | None:
        found = self.idents(node, field, what)
        return None if found is None else tuple(i.name for i in found)

    def models(self, node: Node, field: str, what: str) -> tuple[ir.ModelRef, ...] | None:
        nodes = self.items(node, field, what)
        if nodes is None:
            return None
        found = [self.model(n, field, what) for n in nodes]
        return None if any(m is None for m in found) else tuple(m for m in found if m)
