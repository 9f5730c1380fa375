"""Helpers that generated `when` conditions call. None of them raises on data.

A condition is compiled to a small function of the values produced so far, for example
`when len(summary) > 100 and not contains(review, "FAIL")` becomes
`compare(">", length(value(ctx, "summary")), 100) and not contains(value(ctx, "review"), "FAIL")`.

Values reaching a condition are mostly model replies (text) or inputs, and a missing key or
an odd type must make the condition false, never crash the run. So: a missing key reads as
None, None has length 0 and contains nothing, ordering against None or across incomparable
types is false, and a number compared with numeric text compares as numbers ("8" > 7).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
OPERATORS: tuple[str, ...] = tuple(_OPERATORS)


def value(ctx: Mapping[str, Any], key: str) -> Any:
    """The value of `key` in the run so far (an input or a step's output), None if absent."""
    return ctx.get(key)


def exists(ctx: Mapping[str, Any], key: str) -> bool:
    """True when `key` is present and not None (the seed's `key_exists:k`)."""
    return ctx.get(key) is not None


def length(v: Any) -> int:
    """len of text or a collection; 0 for None; the length of the text of anything else."""
    if v is None:
        return 0
    try:
        return len(v)
    except TypeError:
        return len(_text(v))


def contains(container: Any, item: Any) -> bool:
    """Substring test for text, membership for list/tuple/set/dict keys; False on None."""
    if container is None or item is None:
        return False
    try:
        if isinstance(container, str):
            return _text(item) in container
        if isinstance(container, (list, tuple, set, frozenset, dict)):
            return item in container
    except TypeError:  # unhashable item against a set or dict
        return False
    return False


def truthy(v: Any) -> bool:
    """Python truth, except that None and whitespace-only text are false."""
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    try:
        return bool(v)
    except Exception:  # noqa: BLE001 - objects whose truth raises (arrays) read as false
        return False


def compare(op: str, a: Any, b: Any) -> bool:
    """`a op b` for == != < <= > >=, False instead of raising.

    Orderings with None are false; == and != keep Python's meaning (None == None is true).
    """
    fn = _OPERATORS.get(op)
    if fn is None:
        raise ValueError(f"unknown comparison {op!r} (expected one of {' '.join(OPERATORS)})")
    a, b = _coerce_numbers(a, b)
    if (a is None or b is None) and op not in ("==", "!="):
        return False
    try:
        return bool(fn(a, b))
    except Exception:  # noqa: BLE001 - incomparable types: a condition never crashes a run
        return False


def _coerce_numbers(a: Any, b: Any) -> tuple[Any, Any]:
    """When one side is a number and the other numeric text, compare them as numbers."""
    if _is_number(a) and isinstance(b, str):
        parsed = _parse_number(b)
        if parsed is not None:
            return a, parsed
    elif _is_number(b) and isinstance(a, str):
        parsed = _parse_number(a)
        if parsed is not None:
            return parsed, b
    return a, b


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _parse_number(text: str) -> int | float | None:
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        parsed = float(stripped)
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(v)
