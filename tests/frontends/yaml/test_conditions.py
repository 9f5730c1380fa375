"""Conditions: the seed's `prefix:key[:value]` forms, the expression language, and printing."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.expr_text import print_expr
from mmoc.frontends.yaml.conditions import condition_text
from mmoc.frontends.yaml.parse import parse_yaml


def when_of(condition: str) -> ir.Expr:
    text = (
        f"name: x\nsteps:\n  - name: a\n    model: m\n    prompt: p\n    condition: {condition}\n"
    )
    p, diagnostics = parse_yaml(text, "c.yaml")
    assert diagnostics == [], [d.message for d in diagnostics]
    assert p is not None and p.steps[0].when is not None
    return p.steps[0].when


def key(name: str) -> ir.KeyExpr:
    return ir.KeyExpr(name=name)


def lit(value: object) -> ir.LiteralExpr:
    return ir.LiteralExpr(value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("key_exists:research_output", ir.CallExpr(func="exists", args=(key("research_output"),))),
        ("not_empty:summary", key("summary")),
        ("equals:lang:en", ir.CompareExpr(op="==", left=key("lang"), right=lit("en"))),
        ("contains:text:urgent", ir.CompareExpr(op="contains", left=key("text"), right=lit("urgent"))),
        # The value may hold colons itself: only the first two split.
        ("'equals:url:http://x.org:80/a'",
         ir.CompareExpr(op="==", left=key("url"), right=lit("http://x.org:80/a"))),
        ("'contains:t:a:b:'", ir.CompareExpr(op="contains", left=key("t"), right=lit("a:b:"))),
        ("'equals:k:'", ir.CompareExpr(op="==", left=key("k"), right=lit(""))),
        ("'equals:n:5'", ir.CompareExpr(op="==", left=key("n"), right=lit("5"))),  # a string
    ],
)  # fmt: skip
def test_seed_forms(condition: str, expected: ir.Expr) -> None:
    assert when_of(condition).model_dump() == expected.model_dump()


def test_expression_language() -> None:
    expr = when_of("'len(summary) > 10 and not exists(error)'")
    assert isinstance(expr, ir.BoolExpr) and expr.op == "and"
    first, second = expr.operands
    assert isinstance(first, ir.CompareExpr) and first.op == ">"
    assert isinstance(first.left, ir.CallExpr) and first.left.func == "len"
    assert isinstance(second, ir.NotExpr)


def test_unknown_prefix_is_an_expression() -> None:
    # `starts_with:` is no seed form, and `:` is no operator: a located bad condition.
    text = "name: x\nsteps: [{name: a, model: m, prompt: p, condition: 'starts_with:k:v'}]\n"
    p, diagnostics = parse_yaml(text, "c.yaml")
    assert [d.code for d in diagnostics] == ["MMO601"]
    assert p is not None and p.steps[0].when is None  # the step is kept for the checks


def test_yaml_true_is_a_literal_condition() -> None:
    assert when_of("true").model_dump() == lit(True).model_dump()


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (ir.CallExpr(func="exists", args=(key("k"),)), "key_exists:k"),
        (key("k"), "not_empty:k"),
        (ir.CompareExpr(op="==", left=key("k"), right=lit("a:b")), "equals:k:a:b"),
        (ir.CompareExpr(op="contains", left=key("k"), right=lit("x")), "contains:k:x"),
        (ir.CompareExpr(op="==", left=key("k"), right=lit(3)), "k == 3"),
        (ir.CompareExpr(op="!=", left=key("k"), right=lit("x")), 'k != "x"'),
        (ir.NotExpr(operand=ir.BoolExpr(op="or", operands=(key("a"), key("b")))), "not (a or b)"),
        # The one printer: `not` over a comparison shows the parentheses it implies.
        (ir.NotExpr(operand=ir.CompareExpr(op="==", left=key("a"), right=key("b"))), "not (a == b)"),
        (
            ir.BoolExpr(
                op="and",
                operands=(ir.BoolExpr(op="or", operands=(key("a"), key("b"))), lit(None)),
            ),
            "(a or b) and null",
        ),
        (ir.CompareExpr(op="!=", left=key("s"), right=lit('q"\\\n\x01')), 's != "q\\"\\\\\\n\\u0001"'),
        (ir.CompareExpr(op="<", left=key("x"), right=lit(1e-7)), "x < 0.0000001"),
    ],
)  # fmt: skip
def test_condition_text(expr: ir.Expr, text: str) -> None:
    assert condition_text(expr) == text


def test_printed_expressions_parse_back() -> None:
    exprs: list[ir.Expr] = [
        ir.BoolExpr(op="or", operands=(ir.NotExpr(operand=key("a")), ir.CompareExpr(
            op=">=", left=ir.CallExpr(func="len", args=(key("b"),)), right=lit(-2.5)))),
        ir.CompareExpr(op="==", left=key("s"), right=lit('tab\there "quoted" \\ {x}')),
        ir.BoolExpr(op="and", operands=(ir.BoolExpr(op="and", operands=(key("a"), key("b"))), key("c"))),
    ]  # fmt: skip
    for expr in exprs:
        text = print_expr(expr)
        document = {
            "name": "x",
            "steps": [{"name": "a", "model": "m", "prompt": "p", "condition": text}],
        }
        p, diagnostics = parse_yaml(yaml.safe_dump(document), "c.yaml")
        assert diagnostics == [] and p is not None, text
        assert p.steps[0].when is not None
        assert p.steps[0].when.model_dump() == expr.model_dump(), text


# Random conditions: whatever `condition_text` writes (seed form or expression), the YAML
# front end reads back as the same tree.
_RESERVED = {"not", "and", "or", "true", "false", "null", "contains"}
_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in _RESERVED)
_texts = st.text(alphabet=st.sampled_from(list('ab :{}"\\\n\t#é\x01')), max_size=12)
_leaves = st.one_of(
    _keys.map(key),
    st.one_of(_texts, st.integers(-99, 99), st.floats(-1e4, 1e4), st.booleans(), st.none()).map(lit),
)
_exprs = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(ir.CallExpr, func=st.sampled_from(["len", "exists"]),
                  args=st.lists(inner, max_size=2).map(tuple)),
        st.builds(ir.NotExpr, operand=inner),
        st.builds(ir.BoolExpr, op=st.sampled_from(["and", "or"]),
                  operands=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(ir.CompareExpr, op=st.sampled_from(["==", "!=", "<", ">=", "contains"]),
                  left=inner, right=inner),
    ),
    max_leaves=6,
)  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(_exprs)
def test_condition_text_round_trips_through_yaml(expr: ir.Expr) -> None:
    text = condition_text(expr)
    document = {"name": "x", "steps": [{"name": "a", "model": "m", "prompt": "p", "condition": text}]}
    p, diagnostics = parse_yaml(yaml.safe_dump(document), "c.yaml")
    assert diagnostics == [] and p is not None, text
    assert p.steps[0].when is not None
    wrap = ir.TransformStep(name="s", function="f", when=expr)
    back = wrap.model_copy(update={"when": p.steps[0].when})
    assert back.model_dump() == wrap.model_dump(), text
    assert condition_text(p.steps[0].when) == text


@pytest.mark.parametrize("text", ["equals:k", "key_exists:", "len(k) >>> 3"])
def test_condition_messages_are_worded_once_with_or_without_owner(text: str) -> None:
    from mmoc.frontends.yaml.conditions import parse_condition_text
    from mmoc.source import Span

    where = Span.point("c.yaml", 2, 5)
    _e, plain = parse_condition_text(text, "c.yaml", where, None)
    _e, owned = parse_condition_text(text, "c.yaml", where, None, owner="step `y`")
    assert [d.code for d in plain] == [d.code for d in owned] == ["MMO601"]
    why = plain[0].message.removeprefix("bad condition: ")
    assert why != plain[0].message and why
    assert owned[0].message == f"syntax error in the condition of step `y`: {why}"
    assert owned[0].help == plain[0].help and owned[0].help
