"""Random valid pipelines: every graph edge joins drawn nodes, one data edge per key read."""

from __future__ import annotations

import re

from hypothesis import given, settings
from mmoc import ir
from mmoc.codegen.graph import build_model, to_dot, to_mermaid
from support.strategies import valid_pipelines

PIPELINES = valid_pipelines(max_steps=12)


def _placeholders(step: ir.LlmStep | ir.TransformStep | ir.GroupStep) -> set[str]:
    """Keys a step reads, found without the template parser: escaped braces dropped first."""
    if isinstance(step, ir.TransformStep):
        return {r.name for r in step.reads}
    if isinstance(step, ir.GroupStep):
        return set()
    texts = [t.value for t in (step.prompt, step.system) if t is not None]
    plain = " ".join(texts).replace("{{", "").replace("}}", "")
    return set(re.findall(r"\{(\w+)\}", plain))


@settings(max_examples=60, deadline=None)
@given(PIPELINES)
def test_edges_join_drawn_nodes(p: ir.Pipeline) -> None:
    model = build_model(p)
    ids = {n.id for n in model.nodes} | {g.id for g in model.groups}
    for edge in model.edges:
        assert edge.source in ids and edge.target in ids
        assert edge.source != edge.target
    # one data edge per (reader, key), whatever the producer
    data_edges = [(e.target, e.label) for e in model.edges if e.label != "after"]
    assert len(data_edges) == len(set(data_edges))
    reads = {(f"step_{s.name}", k) for s in p.all_steps() for k in _placeholders(s)}
    assert reads <= set(data_edges)


@settings(max_examples=60, deadline=None)
@given(PIPELINES)
def test_text_forms_are_well_formed(p: ir.Pipeline) -> None:
    dot = re.sub(r'"(?:[^"\\]|\\.)*"', '""', to_dot(p))  # braces in quoted labels are text
    assert dot.count("{") == dot.count("}")
    mermaid = to_mermaid(p)
    opened = sum(1 for line in mermaid.splitlines() if line.strip().startswith("subgraph "))
    closed = sum(1 for line in mermaid.splitlines() if line.strip() == "end")
    assert opened == closed == len(build_model(p).groups)
