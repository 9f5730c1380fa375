"""Hypothesis strategies for IR pipelines: the one place every property test draws IR from.

Two strategies, built from the same pieces (names, texts, models, numbers, policies, conditions):

- `pipelines()`: printable IR, anything a front end can produce. llm and transform steps always
  have an output key, definitions have unique names, numbers are finite, condition operators
  have the arity the expression language gives them; otherwise values are free (negative
  retries, unknown transforms, empty groups): the checks judge those, the printers and parsers
  must carry them. For the round trips and for fuzzing the checks.
- `valid_pipelines()`: pipelines the checks accept and codegen compiles. A DAG whose steps read
  keys of earlier steps or inputs (by prompt, `reads` and `when`) and may run `after` earlier
  steps, declared in a random order, with llm, transform and group steps, named and inline
  policies, defaults, declared or inferred inputs and outputs; names are drawn to stress the
  generated module's name allocator (builtins, the module's own names, capitals, dunders,
  non-ASCII) unless `plain_names`.

`pipelines()` also draws `test` blocks with every expectation form.
Spans are left out: they never take part in meaning. Comments are drawn everywhere a front end
keeps them; they are left out of `model_dump()`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from mmoc import ir
from mmoc.checks.support import TYPO_CUTOFF
from mmoc.identifiers import is_identifier

AnyStep = ir.LlmStep | ir.TransformStep | ir.GroupStep | ir.MapStep

# ---- pieces ------------------------------------------------------------------------------

# Words the condition language (or a transform's `reads`) reads as keywords, so never keys.
RESERVED = {"and", "or", "not", "true", "false", "null", "contains", "reads"}

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda s: s not in RESERVED)
# Names a generated module must not confuse with its own: builtins, the module's imports and
# bindings, capitals whose upper-case constant collides, dunders, non-ASCII letters.
_HOSTILE = [
    "str", "len", "type", "print", "Any", "run", "run_sync", "run_result", "main", "pipeline",
    "PIPELINE", "Inputs", "Outputs", "CompiledPipeline", "StepDefaults", "transforms",
    "values", "c", "asyncio", "sys", "annotations", "Member_A", "Group_G", "A_PROMPT", "a",
    "A", "__secret", "__out", "_", "self", "match", "case", "é", "ré_sumé", "日本",
]  # fmt: skip
hostile_names = st.one_of(
    st.sampled_from(_HOSTILE),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
).filter(lambda s: is_identifier(s) and s not in RESERVED)

# Any text at all, with the characters that break quoting drawn often: control characters,
# quotes, braces, backslashes, `#`, line and paragraph separators, trailing spaces.
_chars = st.one_of(
    st.sampled_from(list("ab {}\"'\\\n\t \r#:-é\x00\x7f\u2028")),
    st.characters(exclude_categories=["Cs"]),
)
texts = st.text(_chars, max_size=40)
comments = st.lists(
    st.text(st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=20).map(str.rstrip),
    max_size=2,
).map(tuple)

# Models the checks know (catalog names and known providers), then one of an unknown provider.
VALID_MODELS = [
    "gpt-4o-mini", "gemini-2.5-flash-lite", "anthropic/claude-haiku-4-5", "openai/gpt-4o-mini",
    "mock/fast", "mock/fast?latency_ms=50&fail_first=2", "ollama/llama3:8b",
]  # fmt: skip
KNOWN_MODELS = [*VALID_MODELS, "local/my.model-v2"]
model_ids = st.one_of(
    st.sampled_from(KNOWN_MODELS), st.from_regex(r"[a-z]{1,6}/[a-z0-9.\-]{1,10}", fullmatch=True)
)
model_refs = model_ids.map(lambda m: ir.ModelRef(id=m))

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
numbers = st.one_of(st.integers(-5, 10_000), finite)
seconds = st.one_of(
    st.integers(0, 100_000),
    st.integers(0, 100_000).map(lambda n: n / 1000),  # milliseconds
    st.floats(0, 1e5, allow_nan=False),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), finite, texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)
ERROR_KINDS = ["rate_limit", "timeout", "server_error"]


def idents(
    max_size: int = 3, of: st.SearchStrategy[str] = names
) -> st.SearchStrategy[tuple[ir.Ident, ...]]:
    return st.lists(of.map(lambda n: ir.Ident(name=n)), max_size=max_size).map(tuple)


def _text(value: str) -> ir.Text:
    return ir.Text(value=value)


def escaped(text: str) -> str:
    """`text` as a prompt reads it literally: braces doubled, so it names no key."""
    return text.replace("{", "{{").replace("}", "}}")


# ---- conditions ---------------------------------------------------------------------------


def exprs_over(keys: st.SearchStrategy[str], *, valid: bool = False) -> st.SearchStrategy[ir.Expr]:
    """Conditions naming `keys`. `valid`: only what the checks accept (one-argument calls,
    `exists` of a key), else any call the grammar can write (`len()`, `exists(1, x)`)."""
    key_exprs = keys.map(lambda n: ir.KeyExpr(name=n))
    literals = json_scalars.map(lambda v: ir.LiteralExpr(value=v))
    calls_of_keys = st.builds(
        lambda func, key: ir.CallExpr(func=func, args=(key,)),
        st.sampled_from(["exists", "len"]),
        key_exprs,
    )

    def compound(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        calls = (
            inner.map(lambda e: ir.CallExpr(func="len", args=(e,)))
            if valid
            else st.builds(
                lambda func, args: ir.CallExpr(func=func, args=tuple(args)),
                st.sampled_from(["len", "exists"]),
                st.lists(inner, max_size=2),
            )
        )
        return st.one_of(
            calls,
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

    return st.recursive(st.one_of(key_exprs, literals, calls_of_keys), compound, max_leaves=6)


exprs = exprs_over(names)
commented_exprs = st.builds(lambda e, c: e.model_copy(update={"comments": c}), exprs, comments)


# ---- policies -----------------------------------------------------------------------------


def retry_policies(
    name: str | None = None, *, valid: bool = False
) -> st.SearchStrategy[ir.RetryPolicy]:
    """A retry policy; `valid` keeps every value in the range the checks accept."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "max_retries": st.integers(0, 5) if valid else st.integers(-1, 10),
        "backoff": st.sampled_from(["constant", "exponential"]) | _unless(valid, names),
        "base_delay": st.integers(0, 2) if valid else seconds,
        "multiplier": st.integers(1, 4) if valid else numbers,
        "max_delay": st.integers(2, 60) if valid else seconds,
        "jitter": st.sampled_from(["none", "full"]) | _unless(valid, names),
        "retry_on": idents(of=st.sampled_from(ERROR_KINDS) | _unless(valid, names)),
    }
    return st.builds(
        lambda kw, notes: ir.RetryPolicy(name=name, comments=notes if name else (), **kw),
        st.fixed_dictionaries({}, optional=fields),
        comments,
    )


def breaker_policies(
    name: str | None = None, *, valid: bool = False
) -> st.SearchStrategy[ir.BreakerPolicy]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "failure_threshold": st.integers(1, 10) if valid else st.integers(0, 20),
        "recovery_timeout": st.integers(1, 60) if valid else seconds,
        "half_open_max_calls": st.integers(1, 3) if valid else st.integers(0, 5),
    }
    return st.builds(
        lambda kw, notes: ir.BreakerPolicy(name=name, comments=notes if name else (), **kw),
        st.fixed_dictionaries({}, optional=fields),
        comments,
    )


def _unless(valid: bool, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.nothing() if valid else values


def retry_settings(
    refs: st.SearchStrategy[str] = names, *, valid: bool = False
) -> st.SearchStrategy[ir.RetryPolicy | ir.PolicyRef]:
    return st.one_of(retry_policies(valid=valid), refs.map(lambda n: ir.PolicyRef(name=n)))


def breaker_settings(
    refs: st.SearchStrategy[str] = names, *, valid: bool = False
) -> st.SearchStrategy[ir.BreakerPolicy | ir.PolicyRef]:
    return st.one_of(breaker_policies(valid=valid), refs.map(lambda n: ir.PolicyRef(name=n)))


output_specs = st.one_of(
    st.just(ir.OutputSpec()),
    st.dictionaries(texts, json_values, max_size=3).map(lambda s: ir.OutputSpec(schema=s)),
)


# ---- printable IR --------------------------------------------------------------------------


def cache_settings(ttl: st.SearchStrategy[Any] = seconds) -> st.SearchStrategy[ir.CachePolicy]:
    """`cache off`, `cache on` or `cache ttl: ...` (an `off` has no ttl: none is printed)."""
    return st.one_of(
        st.just(ir.CachePolicy(enabled=False)),
        st.just(ir.CachePolicy()),
        ttl.map(lambda t: ir.CachePolicy(ttl=t)),
    )


def _common(name: str) -> st.SearchStrategy[dict[str, Any]]:
    key = names  # a group's key defaults to `<name>_output`, so it is never None either
    return st.fixed_dictionaries(
        {"name": st.just(name), "output_key": key, "comments": comments},
        optional={"after": idents(), "when": commented_exprs, "timeout": seconds},
    )


@st.composite
def llm_steps(draw: st.DrawFn, name: str) -> ir.LlmStep:
    common = draw(_common(name))
    text = st.builds(ir.Text, value=texts, comments=comments)
    extra: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {"model": model_refs, "prompt": text},
            optional={
                "system": text,
                "temperature": numbers,
                "max_tokens": st.integers(-1, 100_000),
                "stop": st.lists(texts, max_size=3).map(tuple),
                "retry": retry_settings(),
                "fallback": st.lists(model_refs, max_size=3).map(tuple),
                "breaker": breaker_settings(),
                "output": output_specs,
                "cache": cache_settings(),
            },
        )
    )
    return ir.LlmStep(**common, **extra)


# `.mmo` writes a transform's function as one token; YAML writes any text.
_FUNCTIONS = st.sampled_from(["upper", "lower", "json", "pkg.mod:fn", "a.b.c:d_e"])
# `.mmo` writes an endpoint's kind as a name, `-` as `_`, so a kind with `_` reads back changed.
_KINDS = st.from_regex(r"[a-z]{1,6}(-[a-z]{1,6})?", fullmatch=True)
_FUNCTION_TOKENS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:]{0,12}", fullmatch=True)


@st.composite
def transform_steps(draw: st.DrawFn, name: str, *, mmo: bool = False) -> ir.TransformStep:
    common = draw(_common(name))
    functions = _FUNCTIONS | (_FUNCTION_TOKENS if mmo else texts)
    extra: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {"function": functions},
            optional={
                "reads": idents(of=names | st.just("reads")),
                "pass_context": st.booleans(),
            },
        )
    )
    return ir.TransformStep(**common, **extra)


@st.composite
def member_steps(
    draw: st.DrawFn, name: str, *, mmo: bool = False
) -> ir.LlmStep | ir.TransformStep:
    """A step a group or a map holds: an llm or a transform step."""
    if draw(st.sampled_from(["llm", "transform"])) == "llm":
        return draw(llm_steps(name))
    return draw(transform_steps(name, mmo=mmo))


@st.composite
def steps(draw: st.DrawFn, name: str, *, mmo: bool = False) -> AnyStep:
    kind = draw(st.sampled_from(["llm", "transform", "group", "map"]))
    if kind == "llm":
        return draw(llm_steps(name))
    if kind == "transform":
        return draw(transform_steps(name, mmo=mmo))
    if kind == "map":
        return draw(map_steps(name, mmo=mmo))
    member_names = draw(st.lists(names, min_size=1 if mmo else 0, max_size=3))
    inner = tuple(draw(member_steps(f"{name}_{m}", mmo=mmo)) for m in member_names)
    common = draw(_common(name))
    concurrency = draw(st.none() | st.integers(-1, 10))
    return ir.GroupStep(steps=inner, concurrency=concurrency, **common)


@st.composite
def map_steps(draw: st.DrawFn, name: str, *, mmo: bool = False) -> ir.MapStep:
    """A map step (issue 12): any options, item and body, printable in both languages."""
    body_names = draw(st.lists(names, max_size=3))
    body = tuple(draw(member_steps(f"{name}_{m}", mmo=mmo)) for m in body_names)
    options: dict[str, Any] = draw(st.fixed_dictionaries({}, optional={
        "concurrency": st.integers(-1, 10),
        "limit": st.integers(-1, 10),
        "on_error": st.sampled_from(["fail", "skip", "collect"]) | names | texts,
        "collect": names.map(lambda n: ir.Ident(name=n)),
    }))
    return ir.MapStep(for_each=ir.Ident(name=draw(names)), item=draw(names), steps=body,
                      **options, **draw(_common(name)))


def _unique_names(max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(names, max_size=max_size, unique=True)


# A default the input's type accepts (the checks refuse any other).
_DEFAULTS_BY_TYPE: dict[str | None, st.SearchStrategy[Any]] = {
    "str": texts,
    "int": st.integers(-1000, 1000),
    "float": finite,
    "bool": st.booleans(),
    "json": json_values,
    None: texts,  # an input of no type is text
}


@st.composite
def inputs(
    draw: st.DrawFn, names: st.SearchStrategy[list[str]], *, valid: bool = False
) -> tuple[ir.Input, ...]:
    found = []
    for name in draw(names):
        type_name = draw(st.sampled_from(list(_DEFAULTS_BY_TYPE)))
        if draw(st.booleans()):
            default = draw(_DEFAULTS_BY_TYPE[type_name] if valid else json_values)
            found.append(ir.Input(name=name, type=type_name, default=default, has_default=True))
        else:
            found.append(ir.Input(name=name, type=type_name))
    return tuple(found)


# ---- tests ------------------------------------------------------------------------------

# After `expect`, `step` is the keyword of a step's status: never a key there.
expect_keys = names.filter(lambda n: n != "step").map(lambda n: ir.Ident(name=n))
BOUND_OPS = ["==", "!=", "<", "<=", ">", ">="]
bound_ops = st.sampled_from(BOUND_OPS)


def expectations() -> st.SearchStrategy[ir.Expectation]:
    """Every expectation form, with values as free as the printers must carry."""
    return st.one_of(
        st.builds(ir.ExpectValue, key=expect_keys, op=st.sampled_from([*BOUND_OPS, "contains"]),
                  value=json_values, comments=comments),
        st.builds(ir.ExpectLength, key=expect_keys, op=bound_ops, value=st.integers(0, 10_000)),
        st.builds(ir.ExpectMatch, key=expect_keys, pattern=texts),
        st.builds(ir.ExpectSchema, key=expect_keys,
                  schema=st.dictionaries(texts, json_values, max_size=3)),
        st.builds(ir.ExpectStep, step=names.map(lambda n: ir.Ident(name=n)),
                  status=st.sampled_from(["ran", "skipped", "failed"])),
        st.builds(ir.ExpectCost, op=bound_ops,
                  usd=st.one_of(st.integers(0, 1000), st.floats(0, 1e6, allow_nan=False))),
        st.builds(ir.ExpectLatency, op=bound_ops, seconds=seconds),
        st.builds(ir.ExpectJudged, key=expect_keys, model=model_refs, criteria=texts),
    )


def _test_values() -> st.SearchStrategy[tuple[ir.TestValue, ...]]:
    return _unique_names(3).flatmap(lambda ns: st.tuples(*(
        st.builds(ir.TestValue, name=st.just(ir.Ident(name=n)), value=json_values,
                  comments=comments) for n in ns)))


def tests_of(name: str) -> st.SearchStrategy[ir.Test]:
    return st.builds(ir.Test, name=st.just(name), inputs=_test_values(),
                     replies=_test_values(), comments=comments,
                     expectations=st.lists(expectations(), max_size=4).map(tuple))


@st.composite
def pipelines(draw: st.DrawFn, *, mmo: bool = False) -> ir.Pipeline:
    """Printable IR. `mmo`: only what `.mmo` can write too; YAML also writes an inputs section
    declared empty (`.mmo` declares inputs only by listing them), a transform function
    that is any text (`.mmo` writes it as one token), an endpoint kind with `_` and a group with no
    members."""
    ins = draw(inputs(_unique_names(4)))
    declared = draw(st.booleans()) if ins or not mmo else False
    optional: dict[str, Any] = {
        "version": draw(st.none() | texts),
        "description": draw(st.none() | texts),
        "inputs_declared": declared,
        "inputs": ins if declared else (),
        "outputs": draw(idents()),
        "models": tuple(
            ir.ModelAlias(name=n, model=draw(model_refs), comments=draw(comments))
            for n in draw(_unique_names(2))
        ),
        "providers": tuple(
            ir.Endpoint(
                name=n,
                kind=draw(st.sampled_from(["openai-compatible"]) | (_KINDS if mmo else names)),
                base_url=draw(texts),
                api_key_env=draw(st.none() | names | texts),
                comments=draw(comments),
            )
            for n in draw(_unique_names(2))
        ),
        "retry_policies": tuple(draw(retry_policies(n)) for n in draw(_unique_names(2))),
        "breaker_policies": tuple(draw(breaker_policies(n)) for n in draw(_unique_names(2))),
        "defaults": ir.Defaults(
            retry=draw(st.none() | retry_settings()),
            breaker=draw(st.none() | breaker_settings()),
            timeout=draw(st.none() | seconds),
            cache=draw(st.none() | cache_settings()),
        ),
        "comments": draw(comments),
        "trailing_comments": draw(comments),
    }
    step_list = tuple(draw(steps(n, mmo=mmo)) for n in draw(st.lists(names, max_size=4)))
    optional["tests"] = tuple(draw(tests_of(n)) for n in draw(_unique_names(2)))
    return ir.Pipeline(name=draw(names), steps=step_list, **optional)


# ---- valid pipelines ----------------------------------------------------------------------

STEP_KINDS = ("llm", "transform", "group")
VALID_FUNCTIONS = ["upper", "lower", "strip", "title", "identity", "to_json"]


class _Names:
    """Draws names never drawn before in this pipeline (steps, keys, inputs, policies)."""

    def __init__(self, draw: st.DrawFn, pool: st.SearchStrategy[str]) -> None:
        self._draw, self._pool, self.used = draw, pool, set[str]()

    def fresh(self) -> str:
        name = self._draw(self._pool.filter(lambda n: n not in self.used))
        self.used.add(name)
        return name


@st.composite
def valid_pipelines(
    draw: st.DrawFn,
    *,
    kinds: Sequence[str] = STEP_KINDS,
    plain_names: bool = False,
    min_steps: int = 1,
    max_steps: int = 6,
) -> ir.Pipeline:
    """A pipeline the checks accept: a DAG in which each step reads (by prompt, `reads` or
    `when`) keys of inputs or of steps drawn before it and may run `after` them, declared in
    a random order. `kinds`: which top-level step kinds (group members are llm or transform
    steps); `plain_names`: lower-case ASCII names only; `min_steps`, `max_steps`: how many
    top-level steps."""
    fresh = _Names(draw, names if plain_names else hostile_names).fresh
    declared = draw(st.booleans())
    input_names = [fresh() for _ in range(draw(st.integers(1, 2)))]
    retry_names = [fresh() for _ in range(draw(st.integers(0, 2)))]
    breaker_names = [fresh() for _ in range(draw(st.integers(0, 1)))]
    refs = {
        "retry": st.sampled_from(retry_names) if retry_names else st.nothing(),
        "breaker": st.sampled_from(breaker_names) if breaker_names else st.nothing(),
    }
    keys = list(input_names)  # keys a step may read: inputs, then what earlier steps produce
    earlier: list[str] = []  # top-level steps drawn so far
    drawn: list[AnyStep] = []
    for _ in range(draw(st.integers(min_steps, max_steps))):
        kind = draw(st.sampled_from(list(kinds)))
        name = fresh()
        common: dict[str, Any] = {
            "after": draw(idents(2, st.sampled_from(earlier))) if earlier else (),
            "when": draw(st.none() | exprs_over(st.sampled_from(keys), valid=True)),
            "timeout": draw(st.none() | st.integers(1, 600)),
        }
        if kind == "group":
            members = tuple(
                draw(_valid_member(fresh(), fresh(), keys, refs))
                for _ in range(draw(st.integers(1, 3)))
            )
            key = draw(st.just(f"{name}_output") | st.just(fresh()))
            concurrency = draw(st.none() | st.integers(1, 3))
            step: AnyStep = ir.GroupStep(
                name=name, steps=members, output_key=key, concurrency=concurrency, **common
            )
            keys.extend(m.output_key for m in members if m.output_key is not None)
        else:
            key = fresh()
            member = draw(_valid_member(name, key, keys, refs, kind=kind))
            step = member.model_copy(update=common)
        if key is not None:
            keys.append(key)
        earlier.append(name)
        drawn.append(step)
    produced = keys[len(input_names) :]
    if not declared:
        # Undeclared inputs are the keys no step produces, and one that nearly matches a
        # produced key reads as its typo (MMO303): a valid pipeline has none such.
        assume(not any(difflib.get_close_matches(n, produced, n=1, cutoff=TYPO_CUTOFF)
                       for n in input_names))
    return ir.Pipeline(
        name=draw(names),
        version=draw(st.none() | texts),
        description=draw(st.none() | texts),
        inputs_declared=declared,
        inputs=draw(inputs(st.just(input_names), valid=True)) if declared else (),
        outputs=tuple(
            ir.Ident(name=n)
            for n in (draw(st.lists(st.sampled_from(produced), max_size=2, unique=True)))
        ),
        retry_policies=tuple(draw(retry_policies(n, valid=True)) for n in retry_names),
        breaker_policies=tuple(draw(breaker_policies(n, valid=True)) for n in breaker_names),
        defaults=ir.Defaults(
            retry=draw(st.none() | retry_settings(refs["retry"], valid=True)),
            breaker=draw(st.none() | breaker_settings(refs["breaker"], valid=True)),
            timeout=draw(st.none() | st.integers(1, 600)),
            cache=draw(st.none() | cache_settings(st.integers(1, 86_400))),
        ),
        steps=tuple(draw(st.permutations(drawn))),
    )


@st.composite
def _valid_member(
    draw: st.DrawFn,
    name: str,
    key: str,
    keys: list[str],
    refs: dict[str, st.SearchStrategy[str]],
    *,
    kind: str | None = None,
) -> ir.LlmStep | ir.TransformStep:
    """An llm or transform step named `name`, writing `key`, reading some of `keys`."""
    kind = kind or draw(st.sampled_from(["llm", "transform"]))
    source = st.sampled_from(list(keys))
    if kind == "transform":
        return ir.TransformStep(
            name=name,
            function=draw(st.sampled_from(VALID_FUNCTIONS)),
            reads=(ir.Ident(name=draw(source)),),
            output_key=key,
        )
    reads = draw(st.lists(source, max_size=3, unique=True))
    prompt = escaped(draw(texts)) + "".join(f" {{{r}}}" for r in reads)
    model = draw(st.sampled_from(VALID_MODELS))
    others = [m for m in VALID_MODELS if _model_name(m) != _model_name(model)]
    return ir.LlmStep(
        name=name,
        model=ir.ModelRef(id=model),
        prompt=_text(prompt),
        system=draw(st.none() | texts.map(escaped).map(_text)),
        temperature=draw(st.none() | st.floats(0, 2)),
        max_tokens=draw(st.none() | st.integers(1, 4000)),
        stop=tuple(draw(st.lists(texts, max_size=2))),
        retry=draw(st.none() | retry_settings(refs["retry"], valid=True)),
        breaker=draw(st.none() | breaker_settings(refs["breaker"], valid=True)),
        fallback=draw(
            st.none()
            | st.lists(st.sampled_from(others), min_size=1, max_size=2, unique_by=_model_name).map(
                lambda ids: tuple(ir.ModelRef(id=m) for m in ids)
            )
        ),
        cache=draw(st.none() | cache_settings(st.integers(1, 86_400))),
        output_key=key,
    )


def _model_name(model: str) -> str:
    """`gpt-4o-mini` and `openai/gpt-4o-mini` are one model (the checks refuse a fallback
    list naming it twice, or naming the primary)."""
    return model.rpartition("/")[2]
