"""Positions, literals and conditions of the .mmo tree: the rules below statement level.

`MmoBuilder` (frontend_mmo_tree) adds the statement rules on top of these. Kept apart so
each module stays small; the method names are still the grammar's rule names.
"""

from __future__ import annotations

from typing import Any

from lark import Token
from lark.tree import Meta

from ... import ir
from ...diagnostics.model import Diagnostic
from ...limits import too_large_reason
from ...source import Span
from .literals import decode_string, decode_triple, parse_duration, parse_number
from .values import Val, ValueReader


class RulesBase:
    """One method per grammar rule, each called as `method(meta, children)` by
    `parse._transform` once the rule's children are built (bottom-up, without recursion)."""

    def __init__(
        self,
        file: str,
        comments: dict[tuple[int, int], tuple[str, ...]] | None = None,
        line: int = 1,
        column: int = 1,
    ) -> None:
        self.file = file
        self.comments = comments or {}
        self.line_offset = line - 1
        self.column_offset = column - 1
        self.diagnostics: list[Diagnostic] = []
        self.values = ValueReader(self.error)

    # ---- positions and reporting -------------------------------------------------------

    def _pos(self, line: int, column: int) -> tuple[int, int]:
        return line + self.line_offset, column + (self.column_offset if line == 1 else 0)

    def span(self, meta: Meta) -> Span:
        line, col = self._pos(meta.line, meta.column)
        end_line, end_col = self._pos(meta.end_line, meta.end_column)
        return Span(file=self.file, line=line, column=col, end_line=end_line, end_column=end_col)

    def tspan(self, tok: Token) -> Span:
        line, col = self._pos(tok.line or 1, tok.column or 1)
        end_line, end_col = self._pos(tok.end_line or 1, tok.end_column or 1)
        return Span(file=self.file, line=line, column=col, end_line=end_line, end_column=end_col)

    def error(self, code: str, message: str, span: Span | None, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(code=code, message=message, span=span, **kw))

    def comments_at(self, meta: Meta) -> tuple[str, ...]:
        return self.comments.get((meta.line, meta.column), ())

    def decode(self, tok: Token) -> ir.Text:
        decoder = decode_triple if tok.type == "TRIPLE_STRING" else decode_string
        line, col = self._pos(tok.line or 1, tok.column or 1)
        value, positions, problems = decoder(str(tok), line, col)
        for p in problems:
            self.error("MMO009", p.message, Span.point(self.file, p.line, p.column, p.length))
        return ir.Text(value=value, positions=positions, span=self.tspan(tok))

    def start(self, meta: Meta, c: list[Any]) -> Any:
        return c[0]

    # ---- small pieces ------------------------------------------------------------------

    def ident(self, meta: Meta, c: list[Token]) -> ir.Ident:
        return ir.Ident(name=str(c[0]), span=self.tspan(c[0]))

    def model_ref(self, meta: Meta, c: list[Token]) -> ir.ModelRef:
        return ir.ModelRef(id=str(c[0]), span=self.tspan(c[0]))

    def text(self, meta: Meta, c: list[Token]) -> ir.Text:
        return self.decode(c[0])

    def string(self, meta: Meta, c: list[Token]) -> Val:
        return Val("string", self.decode(c[0]).value, self.span(meta))

    def number(self, meta: Meta, c: list[Token]) -> Val:
        return Val("number", self.number_of(c[0]), self.span(meta))

    def number_of(self, tok: Token) -> int | float | None:
        """A NUMBER token's value; MMO010 and None when it is too large."""
        value = parse_number(str(tok))
        if value is None:
            self.error("MMO010", f"the number {too_large_reason(str(tok))}", self.tspan(tok))
        return value

    def duration(self, meta: Meta, c: list[Token]) -> Val:
        return Val("duration", str(c[0]), self.span(meta))

    def bare(self, meta: Meta, c: list[Token]) -> Val:
        return Val("bare", str(c[0]), self.span(meta))

    def true(self, meta: Meta, c: list[Any]) -> Val:
        return Val("bool", True, self.span(meta))

    def false(self, meta: Meta, c: list[Any]) -> Val:
        return Val("bool", False, self.span(meta))

    def null(self, meta: Meta, c: list[Any]) -> Val:
        return Val("null", None, self.span(meta))

    def array(self, meta: Meta, c: list[Any]) -> Val:
        return Val("list", [v for v in c if v is not None], self.span(meta))

    def pair(self, meta: Meta, c: list[Any]) -> tuple[Token, Val]:
        return (c[0], c[1])

    def object(self, meta: Meta, c: list[Any]) -> Val:
        out: dict[str, Val] = {}
        for tok, val in (p for p in c if p is not None):
            key = self.decode(tok).value
            if key in out:
                self.error("MMO107", f"key {key!r} appears twice in this object", self.tspan(tok))
            out[key] = val
        return Val("object", out, self.span(meta))

    def arg(self, meta: Meta, c: list[Any]) -> tuple[Token, Val]:
        return (c[0], c[1])

    def args(self, meta: Meta, c: list[Any]) -> list[tuple[Token, Val]]:
        return [a for a in c if a is not None]

    def seconds(self, tok: Token) -> float | None:
        """A DURATION (or unit-less NUMBER, which is an error) token to seconds."""
        if tok.type == "NUMBER":
            self.error(
                "MMO008",
                f"duration `{tok}` has no unit",
                self.tspan(tok),
                help=f"write `{tok}s` for seconds (or ms, m, h)",
            )
            return None
        value, problem = parse_duration(str(tok))
        if problem:
            self.error(*problem, self.tspan(tok))
        return value

    # ---- conditions --------------------------------------------------------------------

    def as_expr(self, x: Any) -> ir.Expr:
        if isinstance(x, Val):
            return ir.LiteralExpr(value=x.value, span=x.span)
        return x  # type: ignore[no-any-return]

    def condition(self, meta: Meta, c: list[Any]) -> ir.Expr:
        return self.as_expr(c[0])

    def key(self, meta: Meta, c: list[Token]) -> ir.KeyExpr:
        return ir.KeyExpr(name=str(c[0]), span=self.span(meta))

    def call(self, meta: Meta, c: list[Any]) -> ir.CallExpr:
        args = tuple(self.as_expr(a) for a in c[1:] if a is not None)
        return ir.CallExpr(func=str(c[0]), args=args, span=self.span(meta))

    def compare(self, meta: Meta, c: list[Any]) -> ir.CompareExpr:
        left, op, right = c
        return ir.CompareExpr(
            op=str(op),  # type: ignore[arg-type]  # COMP_OP lexes only the allowed operators
            left=self.as_expr(left),
            right=self.as_expr(right),
            span=self.span(meta),
        )

    def not_op(self, meta: Meta, c: list[Any]) -> ir.NotExpr:
        return ir.NotExpr(operand=self.as_expr(c[0]), span=self.span(meta))

    def and_test(self, meta: Meta, c: list[Any]) -> ir.BoolExpr:
        operands = tuple(self.as_expr(x) for x in c)
        return ir.BoolExpr(op="and", operands=operands, span=self.span(meta))

    def or_test(self, meta: Meta, c: list[Any]) -> ir.BoolExpr:
        operands = tuple(self.as_expr(x) for x in c)
        return ir.BoolExpr(op="or", operands=operands, span=self.span(meta))
