"""Condition expressions as text: literals quoted and numbers spelled as the `.mmo` lexer
reads them back, and `print_expr`, the canonical text of an expression with only the
parentheses its structure needs. One spelling for every user of it: the front ends' printers,
the code generator (a condition's text in the trace), the graph output and the builder."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from . import ir

# Expression precedence, loosest first: or < and < not < comparison < atom.
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4}


def escape_char(ch: str, quote: bool) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == '"' and quote:
        return '\\"'
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"\\u{ord(ch):04x}"
    return ch


def quote(value: str) -> str:
    """A one-line string literal."""
    return '"' + "".join(escape_char(ch, True) for ch in value) + '"'


def number(value: Any) -> str:
    """A number as the lexer reads it back: no exponent, a float always with a point.

    IR fields are loosely typed (a YAML file may hold anything there, and checks judge it),
    so anything that is not a finite number is printed as written, never raised on.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    out = format(Decimal(repr(value)), "f")
    return out if "." in out else out + ".0"


def value(v: Any) -> str:
    """A JSON-like value (input defaults, output schemas)."""
    if v is None:
        return "null"
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, (bool, int, float)):
        return number(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{quote(str(k))}: {value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return quote(str(v))  # not JSON (a YAML date, say): a check reports it; print, don't fail


def _level(e: ir.Expr) -> int:
    if isinstance(e, ir.BoolExpr):
        return PRECEDENCE[e.op]
    if isinstance(e, ir.NotExpr):
        return PRECEDENCE["not"]
    if isinstance(e, ir.CompareExpr):
        return PRECEDENCE["compare"]
    return 5


def _wrap(e: ir.Expr, tighter_than: int) -> str:
    out = print_expr(e)
    return f"({out})" if _level(e) <= tighter_than else out


def print_expr(e: ir.Expr) -> str:
    """Canonical text of a condition, with only the parentheses its structure needs."""
    if isinstance(e, ir.KeyExpr):
        return e.name
    if isinstance(e, ir.LiteralExpr):
        return quote(e.value) if isinstance(e.value, str) else value(e.value)
    if isinstance(e, ir.CallExpr):
        return f"{e.func}({', '.join(print_expr(a) for a in e.args)})"
    if isinstance(e, ir.NotExpr):
        # `not a == b` already means `not (a == b)`; the parentheses say so to a reader
        # (and a nested and/or needs them anyway).
        return "not " + _wrap(e.operand, PRECEDENCE["compare"])
    if isinstance(e, ir.CompareExpr):
        return f"{_wrap(e.left, 4)} {e.op} {_wrap(e.right, 4)}"
    # and/or: a nested group of the same or a looser operator keeps its parentheses, so
    # `a or (b or c)` stays the tree it was.
    return f" {e.op} ".join(_wrap(x, PRECEDENCE[e.op]) for x in e.operands)
