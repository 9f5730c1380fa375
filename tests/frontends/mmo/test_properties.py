"""Hypothesis: random valid IR round-trips through the printer; no text crashes the parser."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.expr_text import print_expr
from mmoc.frontends.mmo.parse import parse_condition, parse_mmo
from mmoc.frontends.mmo.printer import print_mmo

# Words that are keywords wherever a condition operand may stand, so never keys.
RESERVED = {"not", "and", "or", "true", "false", "null", "contains"}

idents = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda s: s not in RESERVED)
idents_nodes = idents.map(lambda n: ir.Ident(name=n))
model_ids = st.sampled_from(
    [
        "gemini-2.5-flash-lite",
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4-5",
        "mock/fast?latency_ms=50&fail_first=2",
        "fast",
        "ollama/llama3:8b",
        "local/my.model-v2",
    ]
).map(lambda m: ir.ModelRef(id=m))
chars = st.one_of(
    st.sampled_from(list('ab {}"\\\n\t \r#é\x00\x7f')),
    st.characters(min_codepoint=32, max_codepoint=0x24F),
)
texts = st.text(alphabet=chars, max_size=40)
durations = st.one_of(
    st.integers(0, 100_000).map(float),
    st.integers(0, 100_000).map(lambda n: n / 1000),
    st.floats(0.001, 1e5, allow_nan=False, allow_infinity=False),
)
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), finite, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=6,
)
comments = st.lists(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=20).map(
        str.rstrip
    ),
    max_size=2,
).map(tuple)

leaf_exprs = st.one_of(
    idents.map(lambda n: ir.KeyExpr(name=n)),
    st.one_of(texts, st.integers(-1000, 1000), finite, st.booleans(), st.none()).map(
        lambda v: ir.LiteralExpr(value=v)
    ),
)
exprs = st.recursive(
    leaf_exprs,
    lambda inner: st.one_of(
        st.builds(
            ir.CallExpr,
            func=st.sampled_from(["len", "exists"]),
            args=st.lists(inner, max_size=2).map(tuple),
        ),
        st.builds(ir.NotExpr, operand=inner),
        st.builds(
            ir.BoolExpr,
            op=st.sampled_from(["and", "or"]),
            operands=st.lists(inner, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(
            ir.CompareExpr,
            op=st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "contains"]),
            left=inner,
            right=inner,
        ),
    ),
    max_leaves=8,
)


commented_exprs = st.builds(lambda e, c: e.model_copy(update={"comments": c}), exprs, comments)


def retry_policies(named: bool) -> st.SearchStrategy[ir.RetryPolicy]:
    return st.builds(
        ir.RetryPolicy,
        name=idents if named else st.none(),
        max_retries=st.integers(0, 10),
        backoff=st.sampled_from(["exponential", "constant"]),
        base_delay=durations,
        multiplier=st.one_of(st.integers(1, 5), st.floats(1, 4)),
        max_delay=durations,
        jitter=st.sampled_from(["none", "full"]),
        retry_on=st.lists(
            st.sampled_from(["rate_limit", "timeout", "server_error"]).map(
                lambda k: ir.Ident(name=k)
            ),
            max_size=3,
        ).map(tuple),
        comments=comments if named else st.just(()),
    )


def breaker_policies(named: bool) -> st.SearchStrategy[ir.BreakerPolicy]:
    return st.builds(
        ir.BreakerPolicy,
        name=idents if named else st.none(),
        failure_threshold=st.integers(1, 10),
        recovery_timeout=durations,
        half_open_max_calls=st.integers(1, 3),
        comments=comments if named else st.just(()),
    )


refs = idents.map(lambda n: ir.PolicyRef(name=n))
optional = st.none
after = st.lists(idents_nodes, max_size=3).map(tuple)

llm_steps = st.builds(
    ir.LlmStep,
    name=idents,
    output_key=idents,
    model=model_ids,
    prompt=st.builds(ir.Text, value=texts, comments=comments),
    system=st.none() | st.builds(ir.Text, value=texts, comments=comments),
    temperature=st.none() | st.floats(0, 2),
    max_tokens=st.none() | st.integers(1, 4000),
    stop=st.lists(texts, max_size=2).map(tuple),
    after=after,
    when=st.none() | commented_exprs,
    retry=st.none() | refs | retry_policies(named=False),
    fallback=st.none() | st.lists(model_ids, max_size=2).map(tuple),
    breaker=st.none() | refs | breaker_policies(named=False),
    output=st.none()
    | st.builds(ir.OutputSpec, schema_=st.none() | st.dictionaries(texts, json_values, max_size=3)),
    timeout=st.none() | durations,
    comments=comments,
)
transform_steps = st.builds(
    ir.TransformStep,
    name=idents,
    output_key=idents,
    function=st.sampled_from(["upper", "lower", "pkg.mod:fn", "a.b.c:d_e"]),
    reads=st.lists(idents_nodes | st.just(ir.Ident(name="reads")), max_size=3).map(tuple),
    after=after,
    when=st.none() | exprs,
    timeout=st.none() | durations,
    pass_context=st.booleans(),
    comments=comments,
)
members = st.one_of(llm_steps, transform_steps)
groups = st.builds(
    ir.GroupStep,
    name=idents,
    output_key=st.none() | idents,
    after=after,
    when=st.none() | exprs,
    timeout=st.none() | durations,
    concurrency=st.none() | st.integers(1, 8),
    steps=st.lists(members, min_size=1, max_size=3).map(tuple),
    comments=comments,
)
inputs = st.builds(
    lambda name, type_, default, has: ir.Input(
        name=name, type=type_, default=default if has else None, has_default=has
    ),
    idents,
    st.none() | st.sampled_from(["str", "int", "float", "bool", "json"]),
    json_values,
    st.booleans(),
)


aliases = st.builds(ir.ModelAlias, name=idents, model=model_ids)
endpoints = st.builds(ir.Endpoint, name=idents, base_url=texts, api_key_env=st.none() | texts)


def by_name(node: Any) -> str:
    return str(node.name)


@st.composite
def pipelines(draw: Any) -> ir.Pipeline:
    ins = draw(st.lists(inputs, max_size=3, unique_by=by_name))
    return ir.Pipeline(
        name=draw(idents),
        version=draw(st.none() | texts),
        description=draw(st.none() | texts),
        inputs_declared=bool(ins),
        inputs=tuple(ins),
        outputs=tuple(draw(st.lists(idents_nodes, max_size=3))),
        models=tuple(draw(st.lists(aliases, max_size=2, unique_by=by_name))),
        providers=tuple(draw(st.lists(endpoints, max_size=2, unique_by=by_name))),
        retry_policies=tuple(
            draw(st.lists(retry_policies(named=True), max_size=2, unique_by=by_name))
        ),
        breaker_policies=tuple(
            draw(st.lists(breaker_policies(named=True), max_size=2, unique_by=by_name))
        ),
        defaults=ir.Defaults(
            retry=draw(st.none() | refs | retry_policies(named=False)),
            breaker=draw(st.none() | refs | breaker_policies(named=False)),
            timeout=draw(st.none() | durations),
        ),
        steps=tuple(draw(st.lists(st.one_of(llm_steps, transform_steps, groups), max_size=4))),
        comments=draw(comments),
        trailing_comments=draw(comments),
    )


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
@given(pipelines())
def test_print_parse_round_trip_and_idempotence(p: ir.Pipeline) -> None:
    text = print_mmo(p)
    back = reparse(text)
    assert back.model_dump() == p.model_dump()
    assert print_mmo(back) == text
    assert back.comments[: len(p.comments)] == p.comments
    assert back.trailing_comments == p.trailing_comments
    assert sorted(all_comments(back)) == sorted(all_comments(p))


@settings(max_examples=200, deadline=None)
@given(exprs)
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
@given(pipelines(), st.data())
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
@given(pipelines())
def test_mmo_and_yaml_twins_give_the_same_ir(p: ir.Pipeline) -> None:
    from mmoc.frontends.yaml.parse import parse_yaml
    from mmoc.frontends.yaml.printer import print_yaml

    from_mmo = reparse(print_mmo(p))
    from_yaml, diags = parse_yaml(print_yaml(from_mmo), "twin.yaml")
    assert [d for d in diags if d.is_error] == [] and from_yaml is not None
    assert from_yaml.model_dump() == p.model_dump()
    assert reparse(print_mmo(from_yaml)).model_dump() == p.model_dump()
