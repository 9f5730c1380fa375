"""`test` blocks of the .mmo tree (docs/testing.md): one method per grammar rule, as the rest.

A test gives inputs (`input topic = "tea"`), fixed replies (`reply research = "..."`) and
expectations (`expect ...`). The grammar takes any `name op value` after `expect`; which
forms make sense (a dollar amount bounds `cost`, a duration bounds `latency`, `len(...)` is
the only function) is decided here, so a mistake gets a message, not a syntax error (MMO910).
"""

from __future__ import annotations

from typing import Any, cast

from lark import Token
from lark.tree import Meta

from ... import ir
from .statements import RulesBase
from .values import KIND_WORDS, Val

STEP_STATUSES = ("ran", "skipped", "failed")
BOUND_OPS = ("==", "!=", "<", "<=", ">", ">=")


def _op(text: str) -> ir.CompareOp:
    return cast(ir.CompareOp, text)  # COMP_OP lexes only the allowed operators


class TestRules(RulesBase):
    """The rules of `test` blocks, under `MmoBuilder`."""

    def _test_value(self, meta: Meta, c: list[Any], what: str) -> ir.TestValue:
        name, val = c
        valid, value = self.values.to_json(val, what)
        return ir.TestValue(
            name=self.ident(meta, [name]),
            value=value if valid else None,
            span=self.span(meta),
            comments=self.comments_at(meta),
        )

    def test_input(self, meta: Meta, c: list[Any]) -> tuple[str, ir.TestValue]:
        return "input", self._test_value(meta, c, "a test input")

    def test_reply(self, meta: Meta, c: list[Any]) -> tuple[str, ir.TestValue]:
        return "reply", self._test_value(meta, c, "a fixed reply")

    def expect_stmt(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        node = c[0]
        if node is not None:
            node = node.model_copy(update={"comments": self.comments_at(meta)})
        return "expect", node

    def expectation(self, meta: Meta, c: list[Any]) -> Any:
        return c[0]

    def test_block(self, meta: Meta, c: list[Any]) -> ir.Test:
        name, *items = c
        parts: dict[str, list[Any]] = {"input": [], "reply": [], "expect": []}
        for kind, node in items:
            if node is not None:
                parts[kind].append(node)
        return ir.Test(
            name=str(name),
            name_span=self.tspan(name),
            inputs=tuple(parts["input"]),
            replies=tuple(parts["reply"]),
            expectations=tuple(parts["expect"]),
            span=self.span(meta),
            comments=self.comments_at(meta),
        )

    # ---- expectations ------------------------------------------------------------------

    def _bad(self, message: str, meta: Meta, help: str | None = None) -> None:
        self.error("MMO910", message, self.span(meta), help=help)

    def money(self, meta: Meta, c: list[Token]) -> Val:
        amount = self.number_of(Token.new_borrow_pos("NUMBER", str(c[0]).replace("$", "", 1),
                                                     c[0]))
        return Val("money", amount, self.span(meta))

    def expect_compare(self, meta: Meta, c: list[Any]) -> Any:
        name, op, val = c
        key, op = str(name), str(op)
        if val.kind in ("money", "duration"):
            return self._bound(meta, key, op, val)
        valid, value = self.values.to_json(val, "an expectation")
        if not valid:
            return None
        return ir.ExpectValue(key=self.ident(meta, [name]), op=_op(op), value=value,
                              span=self.span(meta))

    def _bound(self, meta: Meta, key: str, op: str, val: Val) -> Any:
        """`cost <= $0.01` and `latency <= 2s`: the run's totals, not an output."""
        wanted = "cost" if val.kind == "money" else "latency"
        if key != wanted:
            example = "expect cost <= $0.01" if wanted == "cost" else "expect latency <= 2s"
            self._bad(f"{KIND_WORDS.get(val.kind, 'a dollar amount')} bounds the run's "
                      f"{wanted}, not `{key}`", meta, help=f"write `{example}`")
            return None
        if op not in BOUND_OPS:
            self._bad(f"`{op}` does not compare a {wanted}", meta,
                      help="use ==, !=, <, <=, > or >=")
            return None
        if val.kind == "money":
            return None if val.value is None else ir.ExpectCost(op=_op(op), usd=val.value,
                                                               span=self.span(meta))
        seconds = self.values.convert(val)
        if seconds is None:
            return None
        return ir.ExpectLatency(op=_op(op), seconds=seconds, span=self.span(meta))

    def expect_call(self, meta: Meta, c: list[Any]) -> Any:
        func, name, op, val = c
        if str(func) != "len":
            self._bad(f"`{func}(...)` is not an expectation; only `len(key)` is",
                      meta, help="write `expect len(key) <= 400`")
            return None
        if str(op) not in BOUND_OPS:
            self._bad(f"`{op}` does not compare a length", meta, help="use ==, !=, <, <=, > or >=")
            return None
        if val.kind != "number" or not isinstance(val.value, int) or val.value < 0:
            if val.kind != "number" or val.value is not None:  # too large: reported already
                self._bad(f"a length is a whole number, not {KIND_WORDS.get(val.kind, val.kind)}"
                          if val.kind != "number" else "a length is a whole number of 0 or more",
                          meta)
            return None
        return ir.ExpectLength(key=self.ident(meta, [name]), op=_op(str(op)), value=val.value,
                               span=self.span(meta))

    def expect_matches(self, meta: Meta, c: list[Any]) -> ir.ExpectMatch:
        name, tok = c
        pattern = str(tok)[2:-1] if tok.type == "RAW_STRING" else self.decode(tok).value
        return ir.ExpectMatch(key=self.ident(meta, [name]), pattern=pattern, span=self.span(meta))

    def expect_schema(self, meta: Meta, c: list[Any]) -> ir.ExpectSchema | None:
        name, obj = c
        valid, schema = self.values.to_json(obj, "a schema")
        if not valid or not isinstance(schema, dict):
            return None
        return ir.ExpectSchema(key=self.ident(meta, [name]), schema=schema, span=self.span(meta))

    def expect_judged(self, meta: Meta, c: list[Any]) -> ir.ExpectJudged:
        name, model, criteria = c
        return ir.ExpectJudged(key=self.ident(meta, [name]), model=model,
                               criteria=criteria.value, span=self.span(meta))

    def expect_step(self, meta: Meta, c: list[Any]) -> ir.ExpectStep | None:
        name, status = c
        if str(status) not in STEP_STATUSES:
            self.error("MMO910", f"`{status}` is not a step status",
                       self.tspan(status), help="write ran, skipped or failed")
            return None
        return ir.ExpectStep(step=self.ident(meta, [name]), status=str(status),
                             span=self.span(meta))


__all__ = ["STEP_STATUSES", "TestRules"]
