"""Mermaid and DOT text drawn from hand-built IR: nodes, models, groups, dashed conditionals."""

from __future__ import annotations

import re

import pytest
from mmoc import ir
from mmoc.codegen.graph import build_model, render_graph, to_dot, to_mermaid


def _llm(name: str, model: str, prompt: str, key: str, **kw: object) -> ir.LlmStep:
    return ir.LlmStep(
        name=name, model=ir.ModelRef(id=model), prompt=ir.Text(value=prompt), output_key=key, **kw
    )


def _pipeline() -> ir.Pipeline:
    return ir.Pipeline(
        name="demo",
        inputs_declared=True,
        inputs=(ir.Input(name="topic"),),
        models=(ir.ModelAlias(name="fast", model=ir.ModelRef(id="mock/fast")),),
        steps=(
            _llm("research", "gemini-2.5-flash-lite", "Research {topic}", "notes"),
            ir.GroupStep(
                name="views",
                output_key="both",
                concurrency=2,
                steps=(
                    _llm("pro", "fast", "For: {notes}", "pro_view"),
                    ir.TransformStep(
                        name="shout", function="upper", reads=(ir.Ident(name="notes"),),
                        output_key="loud",
                    ),
                ),
            ),
            _llm(
                "end",  # a Mermaid keyword: node ids must be prefixed
                "openai/gpt-4o-mini",
                'Summarise {both} "quoted"',
                "summary",
                when=ir.CompareExpr(
                    op=">",
                    left=ir.CallExpr(func="len", args=(ir.KeyExpr(name="notes"),)),
                    right=ir.LiteralExpr(value=3),
                ),
                after=(ir.Ident(name="research"),),
            ),
        ),
    )


def test_model_has_inputs_steps_members_and_group() -> None:
    model = build_model(_pipeline())
    ids = [n.id for n in model.nodes]
    assert ids == ["input_topic", "step_research", "step_pro", "step_shout", "step_end"]
    (group,) = model.groups
    assert group.member_ids == ("step_pro", "step_shout")
    assert "max 2" in group.title and "both" in group.title
    # an alias is shown as the model it resolves to
    pro = next(n for n in model.nodes if n.id == "step_pro")
    assert pro.detail == ("mock/fast",)


def test_edges_follow_data_after_and_group_join() -> None:
    edges = {(e.source, e.target, e.label, e.dashed) for e in build_model(_pipeline()).edges}
    assert ("input_topic", "step_research", "topic", False) in edges
    assert ("step_research", "step_pro", "notes", False) in edges
    assert ("step_research", "step_shout", "notes", False) in edges
    # reading the group's joined key starts at the group; the step is conditional: dashed
    assert ("group_views", "step_end", "both", True) in edges
    assert ("step_research", "step_end", "notes", True) in edges  # the condition's key
    # `after research` repeats that link, so it is not drawn again
    assert ("step_research", "step_end", "after", True) not in edges


def test_mermaid_text() -> None:
    text = to_mermaid(_pipeline())
    assert text.startswith("flowchart TD\n")
    assert 'input_topic(["topic"])' in text
    assert 'step_research["research<br/>gemini-2.5-flash-lite"]' in text
    assert 'subgraph group_views["views (parallel, max 2) -#gt; both"]' in text
    assert re.search(r"^  end$", text, re.MULTILINE), "the subgraph is closed"
    assert 'group_views -.->|"both"| step_end' in text
    assert 'input_topic -->|"topic"| step_research' in text
    assert "when len(notes) #gt; 3" in text
    # no raw quote from a label can end a Mermaid string early
    for line in text.splitlines():
        if '["' in line:
            inner = line.split('["', 1)[1].rsplit('"]', 1)[0]
            assert '"' not in inner


def test_dot_text() -> None:
    text = to_dot(_pipeline())
    assert text.startswith('digraph "demo" {')
    assert text.rstrip().endswith("}")
    assert "compound=true;" in text
    assert "subgraph cluster_group_views {" in text
    assert 'step_research [label="research\\ngemini-2.5-flash-lite"];' in text
    assert 'input_topic [label="topic", shape=ellipse];' in text
    # the edge from the group uses a compound edge from its first member
    assert (
        'step_pro -> step_end [label="both", style=dashed, ltail=cluster_group_views];' in text
    )
    assert 'input_topic -> step_research [label="topic"];' in text
    assert text.count("{") == text.count("}")


def test_dot_escapes_quotes_and_backslashes() -> None:
    p = ir.Pipeline(
        name='we"ird\\name',
        steps=(_llm("a", "mock/x", "hi", "out", when=ir.CompareExpr(
            op="==", left=ir.KeyExpr(name="k"), right=ir.LiteralExpr(value='say "hi"'))),),
    )
    text = to_dot(p)
    assert 'digraph "we\\"ird\\\\name" {' in text
    # the condition prints as `k == "say \\"hi\\""`, then DOT escapes each quote and backslash
    assert 'when k == \\"say \\\\\\"hi\\\\\\"\\"' in text


def test_render_graph_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown graph format"):
        render_graph(_pipeline(), "svg")
    assert render_graph(_pipeline(), "dot") == to_dot(_pipeline())


def test_after_repeating_a_data_edge_is_not_drawn_twice() -> None:
    p = ir.Pipeline(
        name="p",
        steps=(
            _llm("a", "mock/x", "A {q}", "a_out"),
            _llm("b", "mock/x", "B {a_out}", "b_out", after=(ir.Ident(name="a"),)),
            _llm("c", "mock/x", "C {q}", "c_out", after=(ir.Ident(name="b"),)),
        ),
    )
    edges = [(e.source, e.target, e.label) for e in build_model(p).edges]
    assert ("step_a", "step_b", "a_out") in edges
    assert ("step_a", "step_b", "after") not in edges
    assert ("step_b", "step_c", "after") in edges  # a pure ordering edge stays
