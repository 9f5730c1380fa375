"""Every name a pipeline defines or uses, with the exact span of the name in the source.

The language server answers hover, go to definition, find references, rename, document
symbols and completion from this one index. Names are steps, keys (step outputs and
inputs), and named retry and breaker policies. A node's span can be wider than its name
(`input topic: str`, a quoted YAML scalar, a policy statement); `Locator` narrows it to the
name itself, so a rename edits only the name.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from mmoc_runtime.template import Placeholder

from .. import ir
from ..analysis import AnyStep, parsed_template, walk_expr
from ..source import Span

Kind = Literal["step", "key", "retry", "breaker"]


@dataclass(frozen=True)
class Occurrence:
    kind: Kind
    name: str
    span: Span  # the name itself: one line, end column exclusive
    definition: bool = False


class Locator:
    """Offsets and lines of a source text, to narrow a node's span to a name inside it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        self.starts.extend(m.end() for m in re.finditer("\n", text))

    def offset(self, line: int, column: int) -> int:
        if line - 1 >= len(self.starts):
            return len(self.text)
        return self.starts[line - 1] + column - 1

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def span_at(self, file: str, start: int, length: int) -> Span:
        line, column = self.position(start)
        return Span(file=file, line=line, column=column, end_line=line,
                    end_column=column + length)

    def narrowed(self, span: Span | None, name: str, *, before: int = 0) -> Span | None:
        """The first whole-word `name` within `span` (or, with `before`, within that many
        characters before it: a YAML mapping's key stands before the mapping's span)."""
        if span is None or not name:
            return None
        if not before and span.line == span.end_line \
                and span.end_column - span.column == len(name):
            return span  # a token's span is the name already (most are)
        start = self.offset(span.line, span.column)
        end = self.offset(span.end_line, span.end_column)
        pattern = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
        if before:
            matches = list(pattern.finditer(self.text, max(0, start - before), start))
            if matches:
                return self.span_at(span.file, matches[-1].start(), len(name))
        found = pattern.search(self.text, start, max(end, start))
        return self.span_at(span.file, found.start(), len(name)) if found else None


@dataclass
class Index:
    occurrences: list[Occurrence] = field(default_factory=list)
    # Keys whose producer has no span of their own (`step a = ...` makes `a_output`): where
    # go to definition lands, never renamed.
    implicit_keys: dict[str, Span] = field(default_factory=dict)

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 1-based (line, column), the column just after a name
        counting (a cursor at the end of a word is on it)."""
        for occ in self.occurrences:
            s = occ.span
            if s.line == line and s.column <= column <= s.end_column:
                return occ
        return None

    def of(self, kind: Kind, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.kind == kind and o.name == name]

    def definitions(self, kind: Kind, name: str) -> list[Span]:
        found = [o.span for o in self.of(kind, name) if o.definition]
        if not found and kind == "key" and name in self.implicit_keys:
            found.append(self.implicit_keys[name])
        return found

    def names(self, kind: Kind) -> list[str]:
        return list(dict.fromkeys(o.name for o in self.occurrences
                                  if o.kind == kind and o.definition))


def build_index(p: ir.Pipeline, text: str, yaml: bool) -> Index:
    index = Index()
    loc = Locator(text)
    add = _Adder(index, loc)
    for inp in p.inputs:
        add("key", inp.name, inp.span, definition=True)
    for policy_kind, policies in (("retry", p.retry_policies), ("breaker", p.breaker_policies)):
        for policy in policies:
            if policy.name is not None:
                add(policy_kind, policy.name, policy.span, definition=True,  # type: ignore[arg-type]
                    before=200 if yaml else 0)
    for setting, kind in ((p.defaults.retry, "retry"), (p.defaults.breaker, "breaker")):
        if isinstance(setting, ir.PolicyRef):
            add(kind, setting.name, setting.span)  # type: ignore[arg-type]
    for step in p.all_steps():
        _step(add, index, step)
    for out in p.outputs:
        add("key", out.name, out.span)
    index.occurrences.sort(key=lambda o: (o.span.line, o.span.column))
    return index


class _Adder:
    def __init__(self, index: Index, loc: Locator) -> None:
        self.index = index
        self.loc = loc

    def __call__(self, kind: Kind, name: str, span: Span | None, *, definition: bool = False,
                 before: int = 0) -> None:
        exact = self.loc.narrowed(span, name, before=before)
        if exact is not None:
            self.index.occurrences.append(Occurrence(kind, name, exact, definition))


def _step(add: _Adder, index: Index, step: AnyStep) -> None:
    add("step", step.name, step.name_span or step.span, definition=True)
    key = step.output_key
    if key is not None:
        if step.output_key_span is not None and step.output_key_span != step.name_span:
            add("key", key, step.output_key_span, definition=True)
        elif step.name_span is not None:
            index.implicit_keys.setdefault(key, step.name_span)
    for ident in step.after:
        add("step", ident.name, ident.span)
    if step.when is not None:
        for node in walk_expr(step.when):
            if isinstance(node, ir.KeyExpr):
                add("key", node.name, node.span)
    if isinstance(step, ir.LlmStep):
        for text in (step.prompt, step.system):
            if text is not None:
                for name, span in _placeholders(text):
                    add("key", name, span)
        for setting, kind in ((step.retry, "retry"), (step.breaker, "breaker")):
            if isinstance(setting, ir.PolicyRef):
                add(kind, setting.name, setting.span)  # type: ignore[arg-type]
    elif isinstance(step, ir.TransformStep):
        for ident in step.reads:
            add("key", ident.name, ident.span)


def _placeholders(text: ir.Text) -> Iterator[tuple[str, Span]]:
    """Each `{key}` of a prompt with the span of `key`, where the front end kept positions."""
    positions = text.positions
    if not positions or text.span is None:
        return
    for part in parsed_template(text.value).parts:
        if not isinstance(part, Placeholder):
            continue
        inner = text.value.find(part.name, part.start, part.end)
        if inner < 0:
            continue
        line, column = positions[inner]
        end_line, end_column = positions[inner + len(part.name) - 1]
        if end_line == line and end_column - column + 1 == len(part.name):
            yield part.name, Span(file=text.span.file, line=line, column=column,
                                  end_line=line, end_column=end_column + 1)
