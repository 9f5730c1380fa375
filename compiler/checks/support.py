"""Small helpers shared by the check families: spans, "did you mean", number tests."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from .. import ir
from ..analysis import AnyStep
from ..source import Span

# The cutoff difflib uses for suggestions; 0.6 (its default) suggests too eagerly for short names.
SUGGEST_CUTOFF = 0.7
TYPO_CUTOFF = 0.8


# "Did you mean" compares the word with every candidate, at a cost that grows with both
# lengths; thousands of misses among thousands of names would make a check quadratic. Within
# `suggestion_budget()` (every run of the checks) the searches together may compare at most
# this many (word character, candidate character) pairs, under half a second of difflib;
# once it is spent, misses get no suggestion. Real pipelines use a fraction of a percent.
SUGGEST_BUDGET = 5_000_000


class _Budget:
    def __init__(self, pairs: int) -> None:
        self.left = pairs


_BUDGET: ContextVar[_Budget | None] = ContextVar("mmoc_suggest_budget", default=None)


@contextlib.contextmanager
def suggestion_budget(pairs: int | None = None) -> Iterator[None]:
    """Bound the total work of `suggest` calls made in this block (default SUGGEST_BUDGET)."""
    token = _BUDGET.set(_Budget(SUGGEST_BUDGET if pairs is None else pairs))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def suggest(word: str, candidates: Iterable[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """The closest candidate to `word`, or None. Call only on a miss: it is linear per call.

    Under a `suggestion_budget`, a search the budget cannot pay for finds nothing and spends
    the rest, so later calls return None at once (without even reading `candidates`)."""
    budget = _BUDGET.get()
    if budget is not None and budget.left <= 0:
        return None
    unique = list(dict.fromkeys(candidates))
    if budget is not None:
        cost = (len(word) + 1) * sum(len(c) + 1 for c in unique)
        budget.left -= cost
        if budget.left < 0:
            return None
    matches = difflib.get_close_matches(word, unique, n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """A `help` line suggesting the closest candidate, or None."""
    found = suggest(word, candidates, cutoff)
    return f"did you mean `{found}`?" if found else None


def listing(names: Iterable[str], limit: int = 10) -> str:
    """`a, b, c` for a help line, and `a, b, ... (and 990 more)` past `limit` names: a list
    of every user-defined name in each of thousands of diagnostics would be quadratic."""
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... (and {len(items) - limit} more)"










def first_span(*candidates: Span | ir.Node | None) -> Span | None:
    """The first span found among spans and nodes (a node gives its own span)."""
    for c in candidates:
        if c is None:
            continue
        span = c if isinstance(c, Span) else c.span
        if span is not None:
            return span
    return None


def name_span(step: AnyStep) -> Span | None:
    return step.name_span or step.span


def value_span(node: ir.Node, field: str, fallback: Span | None) -> Span | None:
    """Where the value of `node.<field>` was written, else `fallback` (a check reports a bad
    number at the number itself when the front end recorded where it was)."""
    for name, span in node.field_spans:
        if name == field:
            return span
    return fallback


def key_span(step: AnyStep) -> Span | None:
    return step.output_key_span or step.name_span or step.span


def text_span(text: ir.Text, start: int, end: int, fallback: Span | None) -> Span | None:
    """The span of `text.value[start:end]`, exact when the front end recorded positions."""
    positions = text.positions
    known = text.span or fallback
    file = known.file if known is not None else None
    if positions and file is not None and 0 <= start < end <= len(positions):
        line, col = positions[start]
        end_line, end_col = positions[end - 1]
        return Span(file=file, line=line, column=col, end_line=end_line, end_column=end_col + 1)
    return text.span or fallback


def is_number(value: object) -> bool:
    """An int or float, but not a bool (YAML `true` must not pass as 1)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def fmt_value(value: object) -> str:
    """A value as a message shows it: strings quoted, 2.0 as 2, 1e7 as 10000000."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class StepContext:
    """A step and the group it belongs to (None for top-level steps)."""

    step: AnyStep
    group: ir.GroupStep | None


def step_contexts(p: ir.Pipeline) -> list[StepContext]:
    out: list[StepContext] = []
    for step in p.steps:
        out.append(StepContext(step, None))
        if isinstance(step, ir.GroupStep):
            out.extend(StepContext(m, step) for m in step.steps)
    return out
