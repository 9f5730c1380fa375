"""The dependency rules exist twice: `mmoc.analysis.dependencies` (checks, graph) and the
runtime's `plan.build_plan` (what a generated module runs). Over random valid pipelines, the
compiled module's plan must name the same dependencies for every top-level step."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mmoc import analysis, ir
from mmoc.driver import compile_pipeline
from mmoc.modules import load_module
from mmoc_runtime.plan import build_plan

_modules = itertools.count()


def _key(i: int) -> str:
    return f"k{i}"


@st.composite
def pipelines(draw: st.DrawFn) -> ir.Pipeline:
    """Steps 0..n-1 read keys of lower-numbered steps (or the input), so the graph is a DAG;
    they are then declared in a random order, so dependencies also point forward."""
    n = draw(st.integers(1, 6))
    steps: list[ir.LlmStep | ir.TransformStep | ir.GroupStep] = []
    for i in range(n):
        sources = ["topic"] + [_key(j) for j in range(i)]  # keys a step may read
        earlier = [f"s{j}" for j in range(i)]
        after = tuple(ir.Ident(name=a) for a in draw(st.lists(st.sampled_from(earlier), max_size=2,
                                                                unique=True))) if earlier else ()
        when = None
        if draw(st.booleans()):
            key = ir.KeyExpr(name=draw(st.sampled_from(sources)))
            when = draw(st.sampled_from([ir.CallExpr(func="exists", args=(key,)), key]))
        kind = draw(st.sampled_from(["llm", "transform", "group"]))
        if kind == "transform":
            read = draw(st.sampled_from(sources))
            steps.append(ir.TransformStep(name=f"s{i}", function="upper", reads=(ir.Ident(name=read),),
                                          output_key=_key(i), after=after, when=when))
            continue
        reads = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=3, unique=True))
        if kind == "llm":
            prompt = ir.Text(value=" ".join(f"{{{r}}}" for r in reads))
            steps.append(ir.LlmStep(name=f"s{i}", model=ir.ModelRef(id="mock/fast"), prompt=prompt,
                                    output_key=_key(i), after=after, when=when))
            continue
        members = tuple(
            ir.LlmStep(name=f"s{i}m{m}", model=ir.ModelRef(id="mock/fast"),
                       prompt=ir.Text(value=f"{{{r}}}"), output_key=f"{_key(i)}m{m}")
            for m, r in enumerate(reads)
        )
        steps.append(ir.GroupStep(name=f"s{i}", steps=members, output_key=_key(i), after=after,
                                  when=when))
    order = draw(st.permutations(steps))
    return ir.Pipeline(name="random", inputs_declared=True, inputs=(ir.Input(name="topic"),),
                       steps=tuple(order))  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_runtime_plan_has_the_dependencies_analysis_finds(p: ir.Pipeline) -> None:
    compiled = compile_pipeline(p, source_path="random.mmo", source_text="", format=False)
    assume(compiled.ok)  # a pipeline the checks refuse is never compiled
    assert compiled.code is not None
    module = load_module(compiled.code, f"mmoc_plan_agreement_{next(_modules)}")
    plan = build_plan(module.PIPELINE)
    from_runtime = {
        node.step.name: sorted(plan.nodes[d].step.name for d in node.deps) for node in plan.nodes
    }
    from_analysis = {name: sorted(deps) for name, deps in analysis.dependencies(p).items()}
    assert from_runtime == from_analysis
