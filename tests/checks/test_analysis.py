"""The analysis helpers on IR built by hand (no front end involved)."""

from __future__ import annotations

from mmoc import analysis, ir
from mmoc.checks import run_checks
from mmoc.diagnostics.model import Diagnostic


def llm(name: str, prompt: str, out: str | None, **kw: object) -> ir.LlmStep:
    return ir.LlmStep(name=name, model=ir.ModelRef(id="mock/m"), prompt=ir.Text(value=prompt),
                      output_key=out, **kw)


def pipeline() -> ir.Pipeline:
    group = ir.GroupStep(name="g", output_key="both", steps=(
        llm("m1", "{a_out}", "m1o"),
        ir.TransformStep(name="m2", function="upper", reads=(ir.Ident(name="topic"),),
                         output_key="m2o", when=ir.KeyExpr(name="flag")),
    ))
    return ir.Pipeline(name="p", steps=(
        llm("a", "{topic}", "a_out", system=ir.Text(value="{style} {topic}")),
        group,
        llm("b", "{m2o} {both}", "b_out", after=(ir.Ident(name="a"),)),
    ))


def test_produced_keys_include_groups_and_members() -> None:
    keys = analysis.produced_keys(pipeline())
    assert {k: s.name for k, s in keys.items()} == {
        "a_out": "a", "both": "g", "m1o": "m1", "m2o": "m2", "b_out": "b"}


def test_reads_and_needs() -> None:
    p = pipeline()
    a, g, _ = p.steps
    assert analysis.reads_of(a) == ("topic", "style")
    assert analysis.reads_of(g) == ("a_out", "topic")
    assert analysis.needs_of(g) == ("a_out", "topic", "flag")


def test_effective_inputs_in_first_use_order() -> None:
    assert analysis.effective_inputs(pipeline()) == ("topic", "style", "flag")
    declared = pipeline().model_copy(update={
        "inputs_declared": True, "inputs": (ir.Input(name="x"),)})
    assert analysis.effective_inputs(declared) == ("x",)


def test_dependencies_lift_members_to_their_group() -> None:
    assert analysis.dependencies(pipeline()) == {"a": (), "g": ("a",), "b": ("g", "a")}
    assert analysis.member_dependencies(pipeline()) == {"m1": (), "m2": ()}


def test_after_naming_a_member_means_its_group() -> None:
    p = ir.Pipeline(name="p", steps=(
        ir.GroupStep(name="g", output_key=None, steps=(llm("m", "x", "mo"),)),
        llm("c", "y", "c_out", after=(ir.Ident(name="m"),)),
    ))
    assert analysis.dependencies(p) == {"g": (), "c": ("g",)}


def test_policy_resolution_and_defaults() -> None:
    patient = ir.RetryPolicy(name="patient", max_retries=5)
    guard = ir.BreakerPolicy(name="guard", failure_threshold=2)
    p = ir.Pipeline(
        name="p", retry_policies=(patient,), breaker_policies=(guard,),
        models=(ir.ModelAlias(name="fast", model=ir.ModelRef(id="quick")),
                ir.ModelAlias(name="quick", model=ir.ModelRef(id="openai/gpt-4o-mini"))),
        defaults=ir.Defaults(retry=ir.PolicyRef(name="patient"), timeout=30),
        steps=(llm("a", "x", "o"), llm("b", "y", "o2", retry=ir.RetryPolicy(max_retries=1),
                                        breaker=ir.PolicyRef(name="guard"), timeout=5)),
    )
    a, b = p.steps
    assert analysis.resolve_retry(p, a) == patient
    assert analysis.resolve_retry(p, b).max_retries == 1  # type: ignore[union-attr]
    assert analysis.resolve_breaker(p, a) is None
    assert analysis.resolve_breaker(p, b) == guard
    assert (analysis.step_timeout(p, a), analysis.step_timeout(p, b)) == (30, 5)
    assert analysis.resolve_model(p, "fast") == "openai/gpt-4o-mini"
    assert analysis.resolve_model(p, "anthropic/claude-3-haiku") == "anthropic/claude-3-haiku"


def test_run_checks_turns_a_crashing_check_into_mmo702() -> None:
    def broken(p: ir.Pipeline) -> list[Diagnostic]:
        raise ValueError("boom")

    def fine(p: ir.Pipeline) -> list[Diagnostic]:
        return [Diagnostic("MMO108", "no steps", None)]

    found = run_checks(pipeline(), (broken, fine))
    assert [d.code for d in found] == ["MMO108", "MMO702"] or [d.code for d in found] == [
        "MMO702", "MMO108"]
    assert any("boom" in d.message and "broken" in d.message for d in found)


def test_checks_without_spans_never_crash() -> None:
    p = ir.Pipeline(name="p", inputs_declared=True, outputs=(ir.Ident(name="zzz"),), steps=(
        llm("a", "{nope} {bad.x}", "a_out", after=(ir.Ident(name="ghost"),),
            fallback=(), temperature=9),
        llm("a", "{a_out}", "a_out"),
    ))
    found = run_checks(p)
    assert {"MMO101", "MMO105", "MMO202", "MMO301", "MMO302", "MMO503",
            "MMO507"} <= {d.code for d in found}
    assert all(d.code != "MMO702" for d in found)
