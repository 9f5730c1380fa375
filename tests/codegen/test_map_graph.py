"""`mmoc graph` of a map step: its body is a subgraph whose title marks the fan-out, the list
comes in on an `each KEY` edge, and the map's result leaves from the subgraph."""

from __future__ import annotations

from mmoc.codegen.graph import build_model, to_dot, to_mermaid
from mmoc.driver import load_text

SOURCE = """pipeline g {
  input document: str
  step chunks = transform lines(document) -> chunks
  step each = map chunk in chunks (concurrency: 4, on_error: skip) {
    step s = llm mock/echo { prompt "{chunk} {document}" } -> summary
    step t = transform upper(summary) -> loud
  } -> loud_list
  step done = transform join(loud_list) -> report
}
"""


def _pipeline():  # type: ignore[no-untyped-def]
    loaded = load_text(SOURCE, "g.mmo", ".mmo")
    assert loaded.ok and loaded.pipeline is not None
    return loaded.pipeline


def test_the_body_is_a_subgraph_marked_with_its_fan_out() -> None:
    model = build_model(_pipeline())
    [group] = model.groups
    assert group.title == "each (map: each chunk in chunks, concurrency 4, on_error skip) -> loud_list"
    assert group.member_ids == ("step_s", "step_t")
    edges = {(e.source, e.target, e.label) for e in model.edges}
    assert ("step_chunks", "group_each", "each chunks") in edges
    assert ("input_document", "group_each", "document") in edges  # an outer key read inside
    assert ("step_s", "step_t", "summary") in edges  # inside the body
    assert ("group_each", "step_done", "loud_list") in edges


def test_both_renderers_draw_the_subgraph() -> None:
    mermaid = to_mermaid(_pipeline())
    assert 'subgraph group_each["each (map: each chunk in chunks' in mermaid
    assert 'step_chunks -->|"each chunks"| group_each' in mermaid
    dot = to_dot(_pipeline())
    assert "subgraph cluster_group_each {" in dot
    assert 'step_chunks -> step_s [label="each chunks", lhead=cluster_group_each];' in dot
