"""The builder produces the same IR the front ends do; validation reports every error at once."""

from __future__ import annotations

from collections.abc import Callable

import mmoc
import pytest
from mmoc import (
    BackoffStrategy,
    Pipeline,
    PipelineValidationError,
    RetryStrategy,
    create_conditional_step,
    create_llm_step,
    create_parallel_group,
    create_transform_step,
    ir,
)


def test_public_names_resolve_from_mmoc() -> None:
    for name in mmoc.__all__:
        assert getattr(mmoc, name) is not None
    from mmoc_runtime.breaker import CircuitBreaker
    from mmoc_runtime.retry import RetryStrategy

    assert mmoc.RetryStrategy is RetryStrategy
    assert mmoc.CircuitBreaker is CircuitBreaker
    with pytest.raises(AttributeError):
        _ = mmoc.NoSuchThing  # type: ignore[attr-defined]


def test_every_lazy_export_is_public_and_comes_from_its_defining_module() -> None:
    # A name moved between modules must move in mmoc's lazy map too (the map names where
    # each is defined, so no module has to re-export it).
    exports = mmoc._EXPORTS
    assert set(mmoc.__all__) == set(exports) | {"__version__"}
    for name, where in exports.items():
        module, _, defined_as = where.partition(":")
        value = getattr(mmoc, name)
        assert value.__module__ == module, name
        assert value.__name__ == (defined_as or name), name
    from mmoc_runtime.trace import Trace

    assert mmoc.PipelineTrace is Trace  # the seed's name for the runtime's run trace


def test_seed_example_ir(seed: Callable[[], Pipeline]) -> None:
    p = seed().to_ir()
    assert isinstance(p, ir.Pipeline)
    assert [s.name for s in p.steps] == ["analyze", "format", "summarize"]
    analyze, fmt, summarize = p.steps
    assert isinstance(analyze, ir.LlmStep) and analyze.prompt.value == "Analyze: {topic}"
    assert analyze.model.id == "gemini-2.5-flash-lite"
    # the ctx transform: in-process callable, gets the context, runs after every earlier step
    assert isinstance(fmt, ir.TransformStep)
    assert fmt.pass_context and fmt.callable is not None and fmt.reads == ()
    assert [a.name for a in fmt.after] == ["analyze"]
    assert [a.name for a in summarize.after] == ["format"]
    assert p.description == "Analyze and summarize"


def test_add_step_is_chainable_and_ctx_transform_follows_declaration_order() -> None:
    p = (
        Pipeline("chain")
        .add_step(create_llm_step("a", "mock/x", "A {q}", "a_out"))
        .add_step(create_llm_step("b", "mock/x", "B {q}", "b_out"))
        .add_step(create_transform_step("t", lambda ctx: len(ctx), "t_out", depends_on="a"))
        .add_step(create_llm_step("c", "mock/x", "C {t_out}", "c_out"))
    )
    t = p.to_ir().steps[2]
    assert [a.name for a in t.after] == ["a", "b"]  # depends_on kept once, then earlier steps
    # a transform with declared reads is not order-sensitive
    q = Pipeline("reads").add_step(create_llm_step("a", "mock/x", "{q}", "a_out"))
    q.add_step(create_transform_step("t", "upper", "t_out", reads=["a_out"]))
    t2 = q.to_ir().steps[1]
    assert not t2.pass_context and t2.after == () and [r.name for r in t2.reads] == ["a_out"]
    assert t2.function == "upper" and t2.callable is None


def test_llm_extras_map_onto_ir() -> None:
    step = create_llm_step(
        "s", "openai/gpt-4o-mini", "hi {x}", "out",
        system="be brief", temperature=0.2, max_tokens=50, stop="END", timeout_seconds=30,
        retry=RetryStrategy(max_retries=2, backoff=BackoffStrategy.CONSTANT,
                            base_delay_seconds=0.5, retry_on=("rate_limit",)),
        fallback=["anthropic/claude-haiku-4-5"], breaker={"failure_threshold": 3,
                                                          "recovery_timeout_seconds": 10},
        output_schema={"type": "object"}, condition="key_exists:x",
    )
    assert step.system is not None and step.system.value == "be brief"
    assert (step.temperature, step.max_tokens, step.stop, step.timeout) == (0.2, 50, ("END",), 30)
    assert isinstance(step.retry, ir.RetryPolicy)
    assert step.retry.max_retries == 2 and step.retry.backoff == "constant"
    assert step.retry.base_delay == 0.5 and [k.name for k in step.retry.retry_on] == ["rate_limit"]
    assert step.fallback == (ir.ModelRef(id="anthropic/claude-haiku-4-5"),)
    assert isinstance(step.breaker, ir.BreakerPolicy)
    assert step.breaker.failure_threshold == 3 and step.breaker.recovery_timeout == 10
    assert step.output == ir.OutputSpec(schema={"type": "object"})
    assert step.when == ir.CallExpr(func="exists", args=(ir.KeyExpr(name="x"),))
    # the seed's `max_retries=N` and a named policy
    assert create_llm_step("a", "mock/x", "p", "o", max_retries=4).retry == ir.RetryPolicy(
        max_retries=4
    )
    assert create_llm_step("a", "mock/x", "p", "o", retry="patient").retry == ir.PolicyRef(
        name="patient"
    )
    # the seed's default output key
    assert create_llm_step("a", "mock/x", "p").output_key == "a_output"


def test_unknown_extra_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="temprature"):
        create_llm_step("a", "mock/x", "p", "o", temprature=1)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("key_exists:draft", ir.CallExpr(func="exists", args=(ir.KeyExpr(name="draft"),))),
        ("not_empty:draft", ir.KeyExpr(name="draft")),
        ("equals:mode:a:b", ir.CompareExpr(op="==", left=ir.KeyExpr(name="mode"),
                                            right=ir.LiteralExpr(value="a:b"))),
        ("contains:text:x", ir.CompareExpr(op="contains", left=ir.KeyExpr(name="text"),
                                           right=ir.LiteralExpr(value="x"))),
    ],
)
def test_conditional_step_seed_forms(condition: str, expected: ir.Expr) -> None:
    inner = create_llm_step("inner", "mock/x", "p {draft}", "o")
    step = create_conditional_step("maybe", condition, inner)
    assert step.name == "maybe" and step.output_key == "o"
    assert step.when == expected


def test_bad_condition_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="equals"):
        create_conditional_step("m", "equals:onlykey", create_llm_step("i", "mock/x", "p", "o"))


def test_parallel_group() -> None:
    group = create_parallel_group(
        "views",
        [create_llm_step("a", "mock/x", "{t}", "a_out"), create_llm_step("b", "mock/x", "{t}", "b_out")],
        output_key="views",
        concurrency=1,
    )
    assert isinstance(group, ir.GroupStep)
    assert [m.name for m in group.steps] == ["a", "b"]
    assert group.output_key == "views" and group.concurrency == 1
    with pytest.raises(TypeError, match="nested"):
        create_parallel_group("outer", [group])  # type: ignore[list-item]


def test_validate_raises_one_error_with_every_diagnostic() -> None:
    p = Pipeline("broken")
    p.add_step(create_llm_step("a", "mock/x", "A {b_out}", "a_out"))
    p.add_step(create_llm_step("b", "mock/x", "B {a_out}", "b_out"))  # a cycle
    p.add_step(create_llm_step("c", "mock/x", "C", "c_out", depends_on="nope"))
    with pytest.raises(PipelineValidationError) as info:
        p.check()
    codes = {d.code for d in info.value.diagnostics}
    assert {"MMO201", "MMO202"} <= codes
    assert "MMO201" in str(info.value) and "nope" in str(info.value)


def test_validate_passes_seed_example(seed: Callable[[], Pipeline]) -> None:
    warnings = seed().check()
    assert all(not d.is_error for d in warnings)


def test_add_step_rejects_non_steps() -> None:
    with pytest.raises(TypeError, match="add_step"):
        Pipeline("x").add_step("not a step")  # type: ignore[arg-type]


def test_import_mmoc_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mmoc\n"
        "heavy = [m for m in ('pydantic', 'lark', 'jinja2', 'black', 'yaml', 'rich', "
        "'mmoc.builder.pipeline', 'mmoc.builder.executor', 'mmoc.builder.views', 'mmoc.builder.steps', "
        "'mmoc.builder.results', 'mmoc_runtime') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == ""
