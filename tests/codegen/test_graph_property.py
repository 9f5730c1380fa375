"""Random DAGs: every edge joins drawn nodes, and there is one data edge per key read."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.codegen.graph import build_model, to_dot, to_mermaid


@st.composite
def pipelines(draw: st.DrawFn) -> ir.Pipeline:
    count = draw(st.integers(min_value=1, max_value=12))
    steps: list[ir.LlmStep | ir.GroupStep] = []
    keys: list[str] = ["topic"]
    for i in range(count):
        reads = draw(st.lists(st.sampled_from(keys), max_size=3, unique=True))
        prompt = " ".join(f"{{{k}}}" for k in reads) or "start"
        when = None
        if draw(st.booleans()) and len(keys) > 1:
            when = ir.KeyExpr(name=draw(st.sampled_from(keys)))
        step = ir.LlmStep(name=f"s{i}", model=ir.ModelRef(id="mock/x"),
                          prompt=ir.Text(value=prompt), output_key=f"k{i}", when=when)
        if draw(st.integers(0, 4)) == 0:
            other = ir.LlmStep(name=f"m{i}", model=ir.ModelRef(id="mock/y"),
                               prompt=ir.Text(value=prompt), output_key=f"mk{i}")
            steps.append(ir.GroupStep(name=f"g{i}", steps=(step, other), output_key=f"gk{i}"))
            keys += [f"k{i}", f"mk{i}", f"gk{i}"]
        else:
            steps.append(step)
            keys.append(f"k{i}")
    return ir.Pipeline(name="random", steps=tuple(steps))


@settings(max_examples=60, deadline=None)
@given(pipelines())
def test_edges_join_drawn_nodes(p: ir.Pipeline) -> None:
    model = build_model(p)
    ids = {n.id for n in model.nodes} | {g.id for g in model.groups}
    for edge in model.edges:
        assert edge.source in ids and edge.target in ids
        assert edge.source != edge.target
    # one data edge per (reader, key), whatever the producer
    data_edges = [(e.target, e.label) for e in model.edges if e.label != "after"]
    assert len(data_edges) == len(set(data_edges))
    reads = {(f"step_{s.name}", k) for s in p.all_steps() if isinstance(s, ir.LlmStep)
             for k in re.findall(r"\{(\w+)\}", s.prompt.value)}
    assert reads <= set(data_edges)


@settings(max_examples=60, deadline=None)
@given(pipelines())
def test_text_forms_are_well_formed(p: ir.Pipeline) -> None:
    dot = to_dot(p)
    assert dot.count("{") == dot.count("}")
    mermaid = to_mermaid(p)
    opened = sum(1 for line in mermaid.splitlines() if line.strip().startswith("subgraph "))
    closed = sum(1 for line in mermaid.splitlines() if line.strip() == "end")
    assert opened == closed == len(build_model(p).groups)
