"""Lowering of condition expressions and literal values to Python source text.

Everything a user wrote reaches the generated module through `literal()` (which only ever
emits `repr` of plain data) or as a key *string* passed to a `conditions` helper: a key is
never a Python name in a condition, so no source text can become code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .. import ir


class LoweringError(Exception):
    """A fact lowering cannot turn into safe code; it becomes an MMO702 diagnostic."""


def literal(value: Any) -> str:
    """Python source for plain data (JSON-like values, tuples), built only from `repr`.

    Anything else (an object whose repr could be arbitrary text) is refused.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return str.__repr__(value)  # a str subclass's own repr could be anything
    if isinstance(value, int):
        return repr(int(value))  # an int subclass's repr could be anything: normalise first
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LoweringError(f"number {value!r} cannot be written to a generated module")
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        items = [literal(v) for v in value]
        if isinstance(value, tuple):
            return tuple_code(items)
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise LoweringError(f"mapping key {key!r} is not a string")
            parts.append(f"{literal(key)}: {literal(item)}")
        return "{" + ", ".join(parts) + "}"
    raise LoweringError(f"value of type {type(value).__name__} cannot be written as a literal")


def ascii_literal(text: str) -> str:
    """A string literal of printable ASCII only (what `ascii()` gives): one line that no
    character of `text` can break, fit for a comment. Used for the source path."""
    return literal(text).encode("ascii", "backslashreplace").decode("ascii")


def tuple_code(items: Iterable[str]) -> str:
    """A tuple display of code items. A trailing comma only where Python needs one (a single
    item): black would keep any other ("magic trailing comma") and explode a short tuple."""
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


# What fits on one line inside parentheses: black's and ruff's default 88 columns, less the
# 4 of the indentation.
FITS_IN_PARENTHESES = 84


def text_literal(text: str) -> str:
    """A prompt as Python source: one literal, or, for multi-line text too long for one line,
    one literal per line implicitly concatenated in parentheses, so the module reads like the
    prompt. A text that fits stays one literal: ruff format joins a concatenation that fits,
    black does not, so only this choice is a fixed point of both."""
    single = literal(text)
    lines = text.splitlines(keepends=True)
    if len(lines) < 2 or len(single) <= FITS_IN_PARENTHESES:
        return single
    return "(\n" + "\n".join(literal(line) for line in lines) + "\n)"


class ConditionLowerer:
    """Turns an `ir.Expr` into one Python expression over `values` using `conditions.*`.

    `helpers` is the (possibly aliased) module-level name of `mmoc_runtime.conditions`, and
    `values` the condition function's parameter name.
    """

    def __init__(self, helpers: str, values: str = "values") -> None:
        self.h = helpers
        self.values = values

    def condition(self, expr: ir.Expr) -> str:
        """A bool-valued expression: the whole `when`."""
        return self._as_bool(expr)

    def _as_bool(self, expr: ir.Expr) -> str:
        if isinstance(expr, ir.NotExpr):
            return f"not {self._as_bool_atom(expr.operand)}"
        if isinstance(expr, ir.BoolExpr):
            if not expr.operands:
                raise LoweringError(f"'{expr.op}' with no operands")
            return f" {expr.op} ".join(self._as_bool_atom(o) for o in expr.operands)
        if isinstance(expr, ir.CompareExpr):
            left, right = self._value(expr.left), self._value(expr.right)
            if expr.op == "contains":
                return f"{self.h}.contains({left}, {right})"
            if expr.op not in ("==", "!=", "<", "<=", ">", ">="):
                raise LoweringError(f"unknown comparison {expr.op!r}")
            return f"{self.h}.compare({literal(expr.op)}, {left}, {right})"
        if isinstance(expr, ir.CallExpr) and expr.func == "exists":
            return f"{self.h}.exists({self.values}, {literal(self._key_arg(expr))})"
        # A key, a literal or len(...): its truthiness.
        return f"{self.h}.truthy({self._value(expr)})"

    def _as_bool_atom(self, expr: ir.Expr) -> str:
        """A bool operand, parenthesised when it is itself an and/or/not."""
        code = self._as_bool(expr)
        if isinstance(expr, (ir.BoolExpr, ir.NotExpr)):
            return f"({code})"
        return code

    def _value(self, expr: ir.Expr) -> str:
        if isinstance(expr, ir.KeyExpr):
            return f"{self.h}.value({self.values}, {literal(expr.name)})"
        if isinstance(expr, ir.LiteralExpr):
            return literal(expr.value)
        if isinstance(expr, ir.CallExpr):
            if expr.func == "len":
                if len(expr.args) != 1:
                    raise LoweringError(f"len() takes one argument, got {len(expr.args)}")
                return f"{self.h}.length({self._value(expr.args[0])})"
            if expr.func == "exists":
                return f"{self.h}.exists({self.values}, {literal(self._key_arg(expr))})"
            raise LoweringError(f"unknown function {expr.func!r} in a condition")
        # A boolean sub-expression used as a value: `(a > 1) == true`.
        return f"({self._as_bool(expr)})"

    def _key_arg(self, call: ir.CallExpr) -> str:
        if len(call.args) != 1 or not isinstance(call.args[0], ir.KeyExpr):
            raise LoweringError("exists() takes one key")
        return call.args[0].name

