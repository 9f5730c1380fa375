"""Step conditions in YAML: the seed's `prefix:key[:value]` forms, and printing them back.

`key_exists:k`, `not_empty:k`, `equals:k:v` and `contains:k:sub` are the seed's forms; the
value part may itself hold `:` (only the first colons split). Anything else is the `.mmo`
expression language, parsed by `frontend_mmo.parse_condition`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ... import ir
from ...diagnostics.model import Diagnostic, Label
from ...expr_text import print_expr
from ...source import Span

SEED_PREFIXES = ("key_exists", "not_empty", "equals", "contains")

Positions = Sequence[tuple[int, int]] | None


def parse_condition_text(
    text: str, file: str, whole: Span, positions: Positions, owner: str | None = None
) -> tuple[ir.Expr | None, list[Diagnostic]]:
    """A condition string → Expr. `whole` is the scalar's span, `positions` its characters'.

    `owner` (such as "step `x`") names whose condition it is, so a message says
    "syntax error in the condition of step `x`" and not just "bad condition".
    """
    prefix, colon, rest = text.partition(":")
    if colon and prefix in SEED_PREFIXES:
        return _seed_form(text, prefix, rest, file, whole, positions, owner)
    return _expression(text, file, whole, positions, owner)


SEED_HELP = f"seed forms: {', '.join(p + ':...' for p in SEED_PREFIXES)}; or an expression"


def _bad(
    why: str,
    where: Span | None,
    owner: str | None,
    *,
    label: str | None = None,
    labels: tuple[Label, ...] = (),
    help: str | None = None,
) -> Diagnostic:
    """MMO601, worded once: whose condition it is when the caller knows."""
    head = f"syntax error in the condition of {owner}" if owner else "bad condition"
    return Diagnostic(
        "MMO601", f"{head}: {why}", where, label=label, labels=labels, help=help or SEED_HELP
    )


def _seed_form(
    text: str,
    prefix: str,
    rest: str,
    file: str,
    whole: Span,
    positions: Positions,
    owner: str | None,
) -> tuple[ir.Expr | None, list[Diagnostic]]:
    def span(start: int, end: int) -> Span:
        return _sub_span(file, whole, positions, start, end)

    key_start = len(prefix) + 1
    if prefix in ("key_exists", "not_empty"):
        if not rest:
            return None, [_bad(f"`{prefix}:` needs a key name after the colon", whole, owner)]
        key = ir.KeyExpr(name=rest, span=span(key_start, len(text)))
        if prefix == "not_empty":
            return key, []
        return ir.CallExpr(func="exists", args=(key,), span=whole), []
    key_name, colon, value = rest.partition(":")
    if not key_name or not colon:
        why = f"`{prefix}:` needs a key and a value: `{prefix}:key:value`"
        return None, [_bad(why, whole, owner)]
    value_start = key_start + len(key_name) + 1
    left = ir.KeyExpr(name=key_name, span=span(key_start, value_start - 1))
    right = ir.LiteralExpr(value=value, span=span(value_start, len(text)))
    op: Literal["==", "contains"] = "==" if prefix == "equals" else "contains"
    return ir.CompareExpr(op=op, left=left, right=right, span=whole), []


def _expression(
    text: str, file: str, whole: Span, positions: Positions, owner: str | None
) -> tuple[ir.Expr | None, list[Diagnostic]]:
    from ..mmo.parse import parse_condition  # on first use: YAML alone skips the Lark grammar

    line, column = positions[0] if positions else (whole.line, whole.column)
    expr, problems = parse_condition(text, file, line, column)
    # A condition that does not parse is a bad condition (MMO601), not a bad file (MMO002).
    return expr, [
        _bad(d.message, d.span, owner, label=d.label, labels=d.labels, help=d.help)
        if d.code == "MMO002"
        else d
        for d in problems
    ]


def _sub_span(file: str, whole: Span, positions: Positions, start: int, end: int) -> Span:
    """The span of text[start:end] when character positions are known, else the whole scalar."""
    if not positions or start >= len(positions) or end <= start:
        return whole
    line, column = positions[start]
    end_line, end_column = positions[end - 1]
    return Span(file=file, line=line, column=column, end_line=end_line, end_column=end_column + 1)


# ---- printing ------------------------------------------------------------------------------


def condition_text(expr: ir.Expr) -> str:
    """The text `parse_condition_text` reads back as `expr`: a seed form where one fits,
    else the `.mmo` expression as `expr_text.print_expr` writes it."""
    seed = _as_seed_form(expr)
    return seed if seed is not None else print_expr(expr)


def _as_seed_form(expr: ir.Expr) -> str | None:
    if isinstance(expr, ir.KeyExpr) and _seed_key(expr.name, last=True):
        return f"not_empty:{expr.name}"
    if (
        isinstance(expr, ir.CallExpr)
        and expr.func == "exists"
        and len(expr.args) == 1
        and isinstance(expr.args[0], ir.KeyExpr)
        and _seed_key(expr.args[0].name, last=True)
    ):
        return f"key_exists:{expr.args[0].name}"
    if (
        isinstance(expr, ir.CompareExpr)
        and expr.op in ("==", "contains")
        and isinstance(expr.left, ir.KeyExpr)
        and isinstance(expr.right, ir.LiteralExpr)
        and isinstance(expr.right.value, str)
        and _seed_key(expr.left.name, last=False)
    ):
        prefix = "equals" if expr.op == "==" else "contains"
        return f"{prefix}:{expr.left.name}:{expr.right.value}"
    return None


def _seed_key(name: str, *, last: bool) -> bool:
    # A key before a value must not hold the ':' that separates them.
    return bool(name) and (last or ":" not in name)
