"""The dependency rules exist twice: `mmoc.analysis.dependencies` (checks, graph) and the
runtime's `plan.build_plan` (what a generated module runs). Over random valid pipelines, the
compiled module's plan must name the same dependencies for every top-level step.
The pipelines are DAGs declared in a random order, so dependencies also point forward, through
prompts, `reads`, `when`, `after` and group members."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from mmoc import analysis, ir
from mmoc.driver import compile_pipeline
from mmoc.modules import load_module
from mmoc_runtime.plan import build_plan
from support.strategies import valid_pipelines

_modules = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_pipelines())
def test_runtime_plan_has_the_dependencies_analysis_finds(p: ir.Pipeline) -> None:
    compiled = compile_pipeline(p, source_path="random.mmo", source_text="", format=False)
    assert compiled.ok and compiled.code is not None, compiled.diagnostics
    module = load_module(compiled.code, f"mmoc_plan_agreement_{next(_modules)}")
    plan = build_plan(module.PIPELINE)
    from_runtime = {
        node.step.name: sorted(plan.nodes[d].step.name for d in node.deps) for node in plan.nodes
    }
    from_analysis = {name: sorted(deps) for name, deps in analysis.dependencies(p).items()}
    assert from_runtime == from_analysis
