"""Hypothesis: random printable IR round-trips through the printer; no text crashes the parser.

The pipelines are the YAML round trip's, less what only YAML can write (`mmo=True`).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.expr_text import print_expr
from mmoc.frontends.mmo.parse import parse_condition, parse_mmo
from mmoc.frontends.mmo.printer import print_mmo
from support import strategies

MMO_PIPELINES = strategies.pipelines(mmo=True)


def reparse(text: str) -> ir.Pipeline:
    p, diags = parse_mmo(text, "gen.mmo")
    assert diags == [], (text, [(d.code, d.message, d.span) for d in diags])
    assert p is not None
    return p


def step_comments(p: ir.Pipeline) -> list[tuple[str, ...]]:
    return [s.comments for s in p.all_steps()]


def all_comments(node: Any) -> list[str]:
    """Every comment anywhere in the tree (fmt may move one to an enclosing node)."""
    found: list[str] = []
    if isinstance(node, ir.Node):
        found.extend(node.comments)
        if isinstance(node, ir.Pipeline):
            found.extend(node.trailing_comments)
        for value in node.__dict__.values():
            found.extend(all_comments(value))
    elif isinstance(node, tuple):
        for item in node:
            found.extend(all_comments(item))
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MMO_PIPELINES)
def test_print_parse_round_trip_and_idempotence(p: ir.Pipeline) -> None:
    text = print_mmo(p)
    back = reparse(text)
    assert back.model_dump() == p.model_dump()
    assert print_mmo(back) == text
    assert back.comments[: len(p.comments)] == p.comments
    assert back.trailing_comments == p.trailing_comments
    assert sorted(all_comments(back)) == sorted(all_comments(p))


@settings(max_examples=200, deadline=None)
@given(strategies.exprs)
def test_condition_round_trip(e: ir.Expr) -> None:
    text = print_expr(e)
    back, diags = parse_condition(text, "c")
    assert diags == [] and back is not None, text
    wrap = ir.TransformStep(name="s", function="f", when=e)
    assert wrap.model_copy(update={"when": back}).model_dump() == wrap.model_dump()
    assert print_expr(back) == text


# The fuzz vocabulary: every keyword of the grammar, punctuation and hostile fragments, written
# out by hand on purpose. Its run of llm field names looks like `frontend_mmo_tree.LLM_FIELDS`
# but is not derived from it: it must not shrink when the front end forgets a field, and a
# frozenset's order changes with the hash seed, which would break Hypothesis' replay.
TOKENS = [
    "pipeline",
    "step",
    "parallel",
    "llm",
    "transform",
    "prompt",
    "system",
    "temperature",
    "max_tokens",
    "stop",
    "after",
    "when",
    "retry",
    "fallback",
    "breaker",
    "timeout",
    "json",
    "schema",
    "input",
    "output",
    "model",
    "provider",
    "default",
    "version",
    "description",
    "reads",
    "and",
    "or",
    "not",
    "contains",
    "true",
    "false",
    "null",
    "len",
    "exists",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "->",
    "==",
    "<=",
    ">",
    "-",
    "?",
    "/",
    "x",
    "a_b",
    "gpt-4o",
    "mock/m?a=1&b=2",
    "pkg.mod:fn",
    '"s"',
    '"{k}\\n"',
    '"\\q"',
    '"open',
    '"""\n  tri {x}\n"""',
    '"""',
    "3",
    "-2.5",
    "500ms",
    "2s",
    "7x",
    "# c\n",
    "\n",
    "\t",
    "é",
    "\\",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from([" ", "", "\n"]))
def test_token_soup_never_raises(tokens: list[str], sep: str) -> None:
    p, diags = parse_mmo(sep.join(tokens), "soup.mmo")
    assert p is not None or diags
    assert all(d.code != "MMO702" for d in diags), [d.message for d in diags]
    _e, cdiags = parse_condition(sep.join(tokens), "soup")
    assert all(d.code != "MMO702" for d in cdiags)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MMO_PIPELINES, st.data())
def test_damaged_valid_text_never_raises(p: ir.Pipeline, data: Any) -> None:
    text = print_mmo(p)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 12)))
    insert = data.draw(st.sampled_from(["", "{", "}", '"', "step", "(", "->", "#"]))
    damaged = text[:start] + insert + text[end:]
    _result, diags = parse_mmo(damaged, "damaged.mmo")
    assert all(d.code != "MMO702" for d in diags), [d.message for d in diags]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    _, diags = parse_mmo(text, "any.mmo")
    assert diags and all(d.code != "MMO702" for d in diags)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MMO_PIPELINES)
def test_mmo_and_yaml_twins_give_the_same_ir(p: ir.Pipeline) -> None:
    from mmoc.frontends.yaml.parse import parse_yaml
    from mmoc.frontends.yaml.printer import print_yaml

    from_mmo = reparse(print_mmo(p))
    from_yaml, diags = parse_yaml(print_yaml(from_mmo), "twin.yaml")
    assert [d for d in diags if d.is_error] == [] and from_yaml is not None
    assert from_yaml.model_dump() == p.model_dump()
    assert reparse(print_mmo(from_yaml)).model_dump() == p.model_dump()
