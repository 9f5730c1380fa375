"""Lowering and the compile API: names, literals, conditions, policies, inline transforms,
determinism, and the diagnostics lowering itself reports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import black
import pytest
from hypothesis import HealthCheck, given, settings
from mmoc import analysis, ir
from mmoc.codegen.expressions import ConditionLowerer, LoweringError, literal, text_literal
from mmoc.codegen.names import NameAllocator
from mmoc.driver import compile_pipeline, project_relative
from mmoc.modules import load_module
from mmoc_runtime.files import write_file as write_atomic
from support.generated import PIPELINES, ROOT
from support.strategies import valid_pipelines


def llm(name: str, prompt: str, key: str, **extra: object) -> ir.LlmStep:
    return ir.LlmStep(
        name=name,
        model=ir.ModelRef(id="mock/m"),
        prompt=ir.Text(value=prompt),
        output_key=key,
        **extra,
    )


def pipeline(*steps: ir.LlmStep | ir.TransformStep | ir.GroupStep, **extra: object) -> ir.Pipeline:
    return ir.Pipeline(name="p", steps=steps, **extra)


def compiled(p: ir.Pipeline, name: str, **kw: object) -> object:
    result = compile_pipeline(p, source_path="p.mmo", source_text="", **kw)  # type: ignore[arg-type]
    assert result.ok and result.code is not None, result.diagnostics
    return load_module(result.code, name, **kw.get("load", {}))  # type: ignore[arg-type]


def test_literal_is_repr_of_plain_data_only() -> None:
    assert literal({"a": [1, 2.5, None, True, "x"]}) == "{'a': [1, 2.5, None, True, 'x']}"
    assert literal(("a",)) == "('a',)" and literal(()) == "()"
    assert literal(("a", "b")) == "('a', 'b')"  # no magic trailing comma for black to keep
    assert eval(literal({"q": "\"'\\\n"})) == {"q": "\"'\\\n"}
    for bad in (float("inf"), float("nan"), object(), {1: "x"}, {"s": {1, 2}}):
        with pytest.raises(LoweringError):
            literal(bad)


def test_text_literal_splits_long_multiline_text_and_keeps_it_exact() -> None:
    text = "first line of a long prompt that goes on and on, past one line\nsecond {x}\r\nthird\u2028fourth"
    code = text_literal(text)
    assert code.startswith("(\n") and eval(code) == text
    # A text that fits on one line in parentheses stays one literal: ruff format would join
    # the pieces (black would not), so only this is a fixed point of both.
    fits = "first line of a long prompt that goes on\nsecond {x}\r\nthird\u2028fourth"
    assert text_literal(fits) == repr(fits)
    assert text_literal("short\ntext") == repr("short\ntext")


def test_name_allocator_avoids_builtins_keywords_params_and_duplicates() -> None:
    names = NameAllocator(avoid={"transforms"})
    assert names.take("transforms", "t") == "transforms_2"
    assert names.take("str", "s") == "str_2"
    assert names.take("class", "fallback") == "fallback"
    assert names.take("A_PROMPT", "x") == "A_PROMPT"
    assert names.take("A_PROMPT", "x") == "A_PROMPT_2"
    assert names.take_exact("run") == "run"
    with pytest.raises(LoweringError):
        names.take_exact("run")


def test_condition_functions_evaluate_like_the_expression() -> None:
    expr = ir.BoolExpr(
        op="or",
        operands=(
            ir.BoolExpr(
                op="and",
                operands=(
                    ir.CompareExpr(
                        op=">=",
                        left=ir.CallExpr(func="len", args=(ir.KeyExpr(name="t"),)),
                        right=ir.LiteralExpr(value=3),
                    ),
                    ir.NotExpr(operand=ir.KeyExpr(name="strict")),
                ),
            ),
            ir.CompareExpr(
                op="contains", left=ir.KeyExpr(name="t"), right=ir.LiteralExpr(value="!")
            ),
            ir.CallExpr(func="exists", args=(ir.KeyExpr(name="force"),)),
        ),
    )
    p = pipeline(llm("a", "{t} {strict} {force}", "out", when=expr))
    when = compiled(p, "mmoc_test_when").PIPELINE.steps[0].when  # type: ignore[attr-defined]
    assert when({"t": "abcd", "strict": False, "force": None}) is True
    assert when({"t": "ab", "strict": False, "force": None}) is False
    assert when({"t": "abcd", "strict": True, "force": None}) is False
    assert when({"t": "a!", "strict": True, "force": None}) is True
    assert when({"t": "a", "strict": True, "force": 0}) is True
    code = ConditionLowerer("c").condition(expr)
    assert code.count("c.length(") == 1 and "c.exists(values, 'force')" in code


def test_policies_defaults_and_timeouts_are_resolved() -> None:
    patient = ir.RetryPolicy(
        name="patient",
        max_retries=4,
        base_delay=0.5,
        max_delay=8,
        jitter="full",
        retry_on=(ir.Ident(name="timeout"),),
    )
    p = pipeline(
        llm("a", "{x}", "a_out"),
        llm(
            "b",
            "{a_out}",
            "b_out",
            retry=ir.RetryPolicy(max_retries=1, backoff="constant"),
            breaker=ir.BreakerPolicy(failure_threshold=2),
            timeout=5,
        ),
        retry_policies=(patient,),
        defaults=ir.Defaults(
            retry=ir.PolicyRef(name="patient"),
            timeout=30,
            breaker=ir.BreakerPolicy(failure_threshold=9),
        ),
    )
    module = compiled(p, "mmoc_test_policies")
    a, b = module.PIPELINE.steps  # type: ignore[attr-defined]
    assert a.retry.max_retries == 4 and a.retry.retry_on == ("timeout",)
    assert a.retry is module.PATIENT_RETRY  # type: ignore[attr-defined]
    assert a.timeout == 30.0 and a.breaker.failure_threshold == 9
    assert b.retry.max_retries == 1 and b.retry.backoff.value == "constant"
    assert b.timeout == 5.0 and b.breaker.failure_threshold == 2


def test_inline_callable_needs_inline_mode() -> None:
    step = ir.TransformStep(
        name="shout",
        function="<lambda>",
        callable=str.upper,
        reads=(ir.Ident(name="t"),),
        output_key="loud",
    )
    p = pipeline(llm("a", "{x}", "t"), step)
    refused = compile_pipeline(p, source_path="p.mmo", source_text="")
    assert refused.code is None and [d.code for d in refused.diagnostics] == ["MMO701"]
    result = compile_pipeline(p, source_path="p.mmo", source_text="", inline=True)
    assert result.code is not None and "INLINE_TRANSFORMS" in result.code
    module = load_module(
        result.code, "mmoc_test_inline", inline_transforms={"shout": lambda t: t.upper()}
    )
    outputs = module.run_sync({"x": "hi"}, mock=True)
    assert outputs["loud"] == outputs["t"].upper()


def test_load_module_registers_and_cleans_up_on_failure() -> None:
    module = load_module("X = 1\n", "mmoc_test_load_ok")
    assert sys.modules["mmoc_test_load_ok"] is module and module.X == 1
    with pytest.raises(ZeroDivisionError):
        load_module("1 / 0\n", "mmoc_test_load_bad")
    assert "mmoc_test_load_bad" not in sys.modules


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "out.py"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.py"]


def test_project_relative_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = PIPELINES / "research_and_summarize.mmo"
    here = project_relative(source)
    monkeypatch.chdir(tmp_path)
    assert project_relative(source) == here == "pipelines/research_and_summarize.mmo"
    assert project_relative(Path("../" * 8) / source.relative_to("/")) == here
    (tmp_path / "loose.mmo").write_text("x")
    assert project_relative("loose.mmo") == "loose.mmo"  # no project root: the bare name


def test_two_compiles_are_byte_identical_from_different_directories(tmp_path: Path) -> None:
    outs = []
    for cwd, arg, seed in (
        (ROOT, "pipelines/analyze_and_report.mmo", "1"),
        (PIPELINES, "analyze_and_report.mmo", "2"),
    ):
        out = tmp_path / f"out_{seed}.py"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run(
            [sys.executable, "-m", "mmoc", "compile", arg, "-o", str(out)],
            cwd=cwd,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == (PIPELINES / "analyze_and_report_gen.py").read_bytes()


# ---- random valid IR: the code compiles, black is a no-op, the spec matches the IR --------
# Names are drawn to stress the allocator: builtins, the module's own names, capitals whose
# constants collide, dunders and non-ASCII letters.


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_pipelines())
def test_random_valid_ir_compiles_black_clean_and_matches(p: ir.Pipeline) -> None:
    result = compile_pipeline(p, source_path="random.mmo", source_text="")
    assert result.ok and result.code is not None, result.diagnostics
    assert black.format_str(result.code, mode=black.Mode()) == result.code
    module = load_module(result.code, "mmoc_random_ir")
    spec = module.PIPELINE
    assert [s.name for s in spec.steps] == [s.name for s in p.steps]
    assert [s.output_key for s in spec.steps] == [s.output_key for s in p.steps]
    for got, want in zip(spec.steps, p.steps, strict=True):
        assert (got.when is None) == (want.when is None)
        if isinstance(want, ir.GroupStep):
            assert [m.name for m in got.steps] == [m.name for m in want.steps]
            assert [m.output_key for m in got.steps] == [m.output_key for m in want.steps]
    for got, want in zip(_leaves(spec.steps), _leaves(p.steps), strict=True):
        if isinstance(want, ir.LlmStep):
            assert got.prompt == want.prompt.value
            policy = analysis.resolve_retry(p, want)
            want_retries = None if policy is None else policy.max_retries
            assert (got.retry and got.retry.max_retries) == want_retries


def _leaves(steps: Sequence[Any]) -> list[Any]:
    """Top-level llm and transform steps and group members, in order."""
    return [leaf for s in steps for leaf in (s.steps if hasattr(s, "steps") else (s,))]


def test_an_unexpected_failure_in_generation_is_a_diagnostic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mmoc.codegen.lower

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(mmoc.codegen.lower, "lower", broken)
    result = compile_pipeline(pipeline(llm("a", "{x}", "out")), source_path="p.mmo", source_text="")
    assert result.code is None and [d.code for d in result.diagnostics] == ["MMO702"]
    assert "boom" in result.diagnostics[0].message


def test_typed_dict_keys_are_exact_even_for_private_and_type_names() -> None:
    p = pipeline(
        llm("a", "{__secret} {str}", "__out"),
        llm("b", "{__out}", "Any"),
        inputs_declared=True,
        inputs=(ir.Input(name="__secret", type="str"), ir.Input(name="str", type="str")),
    )
    module = compiled(p, "mmoc_test_typed_dict_keys")
    assert set(module.Inputs.__annotations__) == {"__secret", "str"}  # type: ignore[attr-defined]
    assert set(module.Outputs.__annotations__) == {"__out", "Any"}  # type: ignore[attr-defined]
    outputs = module.run_sync({"__secret": "s", "str": "t"}, mock=True)  # type: ignore[attr-defined]
    assert set(outputs) == {"__out", "Any"}
