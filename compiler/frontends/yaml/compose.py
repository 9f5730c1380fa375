"""Composing a YAML document into positioned nodes, within the limits of `limits`.

PyYAML's composer calls itself once per nesting level, and builds an alias as one more
reference to the node it names, so a deep document ends in RecursionError and a few hundred
bytes of aliases ("billion laughs") become billions of nodes for whoever walks the tree. This
composer reads the same events in a loop and builds the same nodes with the same marks, and
stops with a diagnostic where the document nests more than MAX_YAML_NESTING levels (MMO011)
or where its aliases would repeat more than MAX_ALIAS_EXPANSION nodes in all (MMO013). Every
later walk over the nodes is then bounded by the size of the source plus that budget.

Only the safe loader's resolver is used: no tag can build a Python object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ...diagnostics.model import Diagnostic
from ...limits import MAX_ALIAS_EXPANSION, MAX_YAML_NESTING
from ...source import Span, offset_to_line_col

# libyaml's parser gives the same events with the same marks about eight times faster; the
# pure-Python one (always there) words errors better, so it re-reads any file libyaml refuses.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def compose(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """The document's node tree, or a diagnostic (syntax or a limit). Never raises."""
    if _FAST_LOADER is not None:
        try:
            return _Composer(_FAST_LOADER(text), file).document(), []
        except _LimitPassed as exc:
            return None, [exc.diagnostic]
        except (yaml.YAMLError, ValueError):  # ValueError: libyaml cannot encode a surrogate
            pass
    try:
        return _Composer(yaml.SafeLoader(text), file).document(), []
    except _LimitPassed as exc:
        return None, [exc.diagnostic]
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


def _reader_position(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return offset_to_line_col(text, position)
    return 1, 1


class _LimitPassed(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class _Open:
    """A sequence or mapping whose end event has not come yet."""

    node: SequenceNode | MappingNode
    anchor: str | None
    size: int = 1  # nodes it stands for so far, what its aliases name counted in full
    key: Node | None = None  # a mapping's key waiting for its value

    def add(self, node: Node, size: int) -> None:
        self.size += size
        if isinstance(self.node, SequenceNode):
            self.node.value.append(node)
        elif self.key is None:
            self.key = node
        else:
            self.node.value.append((self.key, node))
            self.key = None


class _Composer:
    """PyYAML's `Composer.get_single_node`, as a loop over the loader's events."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[str, int] = {}  # an anchor's size, once its node is complete
        self.repeated = 0  # nodes repeated by aliases so far

    def document(self) -> Node | None:
        try:
            loader = self.loader
            loader.get_event()  # stream start
            if loader.check_event(StreamEndEvent):
                return None
            loader.get_event()  # document start
            root = self.root()
            loader.get_event()  # document end
            if not loader.check_event(StreamEndEvent):
                event = loader.get_event()
                raise ComposerError(
                    "expected a single document in the stream",
                    root.start_mark,
                    "but found another document",
                    event.start_mark,
                )
            return root
        finally:
            self.loader.dispose()

    def root(self) -> Node:
        stack: list[_Open] = []
        while True:
            event: Any = self.loader.get_event()
            if isinstance(event, (SequenceStartEvent, MappingStartEvent)):
                if len(stack) >= MAX_YAML_NESTING:
                    self.too_deep(event)
                stack.append(self.start(event))
                continue
            if isinstance(event, AliasEvent):
                node, size = self.alias(event)
            elif isinstance(event, ScalarEvent):
                node, size = self.scalar(event), 1
            else:  # the end of the innermost open sequence or mapping
                done = stack.pop()
                done.node.end_mark = event.end_mark
                node, size = done.node, done.size
                if done.anchor is not None:
                    self.sizes[done.anchor] = size
            if not stack:
                return node
            stack[-1].add(node, size)

    def check_anchor(self, event: Any) -> None:
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self.anchors[anchor].start_mark,
                "second occurrence",
                event.start_mark,
            )

    def scalar(self, event: Any) -> ScalarNode:
        self.check_anchor(event)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
            self.sizes[event.anchor] = 1
        return node

    def start(self, event: Any) -> _Open:
        self.check_anchor(event)
        kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return _Open(node, event.anchor)

    def alias(self, event: Any) -> tuple[Node, int]:
        anchor = event.anchor
        if anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {anchor!r}", event.start_mark)
        # An alias of a node still open (a recursive alias) repeats nothing more: whoever
        # walks the tree stops at the cycle.
        size = self.sizes.get(anchor, 1)
        self.repeated += size
        if self.repeated > MAX_ALIAS_EXPANSION:
            mark = event.start_mark
            raise _LimitPassed(
                Diagnostic(
                    "MMO013",
                    f"YAML aliases repeat more than {MAX_ALIAS_EXPANSION:,} nodes in this "
                    f"document: `*{anchor}` repeats {size:,}, bringing the total to "
                    f"{self.repeated:,}",
                    Span.point(self.file, mark.line + 1, mark.column + 1, len(anchor) + 1),
                    label="this alias repeats too much",
                    help="write the repeated values out, or use aliases of large values less",
                )
            )
        return self.anchors[anchor], size

    def too_deep(self, event: Any) -> None:
        mark = event.start_mark
        raise _LimitPassed(
            Diagnostic(
                "MMO011",
                f"the YAML document nests more than {MAX_YAML_NESTING} levels deep here",
                Span.point(self.file, mark.line + 1, mark.column + 1),
                label=f"level {MAX_YAML_NESTING + 1}",
                help="no pipeline needs this much nesting: flatten the structure",
            )
        )
