"""Hypothesis strategies for valid IR pipelines, as the YAML front end can express them.

"Valid" here means what the front ends can produce: llm and transform steps always have an
output key, definitions have unique names, numbers are finite, and condition operators have the
arity the expression language gives them. Spans are left out: they never take part in meaning.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from mmoc import ir

# Words the condition language reads as keywords, so never as key names.
RESERVED = {"and", "or", "not", "true", "false", "null", "contains", "reads"}

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda s: s not in RESERVED)
# Any text at all: control characters, quotes, braces, colons, newlines, trailing spaces.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
model_ids = st.one_of(
    st.sampled_from(["gpt-4o-mini", "gemini-2.5-flash-lite", "anthropic/claude-haiku-4-5"]),
    st.from_regex(r"[a-z]{1,6}/[a-z0-9.\-]{1,10}", fullmatch=True),
)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
numbers = st.one_of(st.integers(-5, 10_000), finite)
seconds = st.one_of(st.integers(0, 3600), st.floats(0, 3600, allow_nan=False))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), finite, texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)


def idents(max_size: int = 3) -> st.SearchStrategy[tuple[ir.Ident, ...]]:
    return st.lists(names.map(lambda n: ir.Ident(name=n)), max_size=max_size).map(tuple)


# ---- conditions -----------------------------------------------------------------------

keys = names.map(lambda n: ir.KeyExpr(name=n))
literals = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), finite, texts).map(
    lambda v: ir.LiteralExpr(value=v)
)
calls = st.one_of(
    keys.map(lambda k: ir.CallExpr(func="exists", args=(k,))),
    keys.map(lambda k: ir.CallExpr(func="len", args=(k,))),
)


def _compound(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        inner.map(lambda e: ir.NotExpr(operand=e)),
        st.builds(
            lambda op, operands: ir.BoolExpr(op=op, operands=tuple(operands)),
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=3),
        ),
        st.builds(
            lambda op, left, right: ir.CompareExpr(op=op, left=left, right=right),
            st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "contains"]),
            inner,
            inner,
        ),
    )


exprs = st.recursive(st.one_of(keys, literals, calls), _compound, max_leaves=6)


# ---- policies ---------------------------------------------------------------------------


def retry_policies(name: str | None = None) -> st.SearchStrategy[ir.RetryPolicy]:
    return st.builds(
        lambda kw: ir.RetryPolicy(name=name, **kw),
        st.fixed_dictionaries(
            {},
            optional={
                "max_retries": st.integers(-1, 10),
                "backoff": st.sampled_from(["constant", "exponential"]) | names,
                "base_delay": seconds,
                "multiplier": numbers,
                "max_delay": seconds,
                "jitter": st.sampled_from(["none", "full"]) | names,
                "retry_on": idents(),
            },
        ),
    )


def breaker_policies(name: str | None = None) -> st.SearchStrategy[ir.BreakerPolicy]:
    return st.builds(
        lambda kw: ir.BreakerPolicy(name=name, **kw),
        st.fixed_dictionaries(
            {},
            optional={
                "failure_threshold": st.integers(0, 20),
                "recovery_timeout": seconds,
                "half_open_max_calls": st.integers(0, 5),
            },
        ),
    )


refs = names.map(lambda n: ir.PolicyRef(name=n))
retry_settings = st.one_of(retry_policies(), refs)
breaker_settings = st.one_of(breaker_policies(), refs)
output_specs = st.one_of(
    st.just(ir.OutputSpec()),
    st.dictionaries(texts, json_values, max_size=3).map(lambda s: ir.OutputSpec(schema=s)),
)


# ---- steps ------------------------------------------------------------------------------


def _common(name: str, *, group: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    key = names  # a group's key defaults to `<name>_output`, so it is never None either
    return st.fixed_dictionaries(
        {"name": st.just(name), "output_key": key},
        optional={"after": idents(), "when": exprs, "timeout": seconds},
    )


@st.composite
def llm_steps(draw: st.DrawFn, name: str) -> ir.LlmStep:
    common = draw(_common(name))
    extra = draw(
        st.fixed_dictionaries(
            {"model": model_ids.map(lambda m: ir.ModelRef(id=m)), "prompt": texts.map(_text)},
            optional={
                "system": texts.map(_text),
                "temperature": numbers,
                "max_tokens": st.integers(-1, 100_000),
                "stop": st.lists(texts, max_size=3).map(tuple),
                "retry": retry_settings,
                "fallback": st.lists(model_ids.map(lambda m: ir.ModelRef(id=m)), max_size=3).map(
                    tuple
                ),
                "breaker": breaker_settings,
                "output": output_specs,
            },
        )
    )
    return ir.LlmStep(**common, **extra)


@st.composite
def transform_steps(draw: st.DrawFn, name: str) -> ir.TransformStep:
    common = draw(_common(name))
    extra = draw(
        st.fixed_dictionaries(
            {"function": st.sampled_from(["upper", "json", "pkg.mod:fn"]) | texts},
            optional={"reads": idents(), "pass_context": st.booleans()},
        )
    )
    return ir.TransformStep(**common, **extra)


@st.composite
def steps(draw: st.DrawFn, name: str, *, members: bool = False) -> Any:
    kinds = ["llm", "transform"] if members else ["llm", "transform", "group"]
    kind = draw(st.sampled_from(kinds))
    if kind == "llm":
        return draw(llm_steps(name))
    if kind == "transform":
        return draw(transform_steps(name))
    member_names = draw(st.lists(names, min_size=0, max_size=3))
    inner = tuple(draw(steps(f"{name}_{m}", members=True)) for m in member_names)
    common = draw(_common(name, group=True))
    concurrency = draw(st.none() | st.integers(-1, 10))
    return ir.GroupStep(steps=inner, concurrency=concurrency, **common)


def _text(value: str) -> ir.Text:
    return ir.Text(value=value)


# ---- pipelines --------------------------------------------------------------------------


def _unique_names(max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(names, max_size=max_size, unique=True)


@st.composite
def inputs(draw: st.DrawFn) -> tuple[ir.Input, ...]:
    found = []
    for name in draw(_unique_names(4)):
        type_name = draw(st.none() | st.sampled_from(["str", "int", "float", "bool", "json"]))
        if draw(st.booleans()):
            default = draw(json_values)
            found.append(ir.Input(name=name, type=type_name, default=default, has_default=True))
        else:
            found.append(ir.Input(name=name, type=type_name))
    return tuple(found)


@st.composite
def pipelines(draw: st.DrawFn) -> ir.Pipeline:
    declared = draw(st.booleans())
    optional: dict[str, Any] = {
        "version": draw(st.none() | texts),
        "description": draw(st.none() | texts),
        "inputs_declared": declared,
        "inputs": draw(inputs()) if declared else (),
        "outputs": draw(idents()),
        "models": tuple(
            ir.ModelAlias(name=n, model=ir.ModelRef(id=draw(model_ids)))
            for n in draw(_unique_names(2))
        ),
        "providers": tuple(
            ir.Endpoint(
                name=n,
                kind=draw(st.sampled_from(["openai-compatible"]) | names),
                base_url=draw(texts),
                api_key_env=draw(st.none() | names),
            )
            for n in draw(_unique_names(2))
        ),
        "retry_policies": tuple(draw(retry_policies(n)) for n in draw(_unique_names(2))),
        "breaker_policies": tuple(draw(breaker_policies(n)) for n in draw(_unique_names(2))),
        "defaults": ir.Defaults(
            retry=draw(st.none() | retry_settings),
            breaker=draw(st.none() | breaker_settings),
            timeout=draw(st.none() | seconds),
        ),
    }
    step_list = tuple(draw(steps(n)) for n in draw(st.lists(names, max_size=4)))
    return ir.Pipeline(name=draw(names), steps=step_list, **optional)
