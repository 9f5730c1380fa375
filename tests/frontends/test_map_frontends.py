"""Map steps in both front ends: `.mmo` and YAML read to the same IR, both printers write
text that reads back to it, and misplaced pieces get diagnostics, not syntax errors."""

from __future__ import annotations

from mmoc import ir
from mmoc.driver import load_text
from mmoc.frontends.mmo.parse import parse_mmo
from mmoc.frontends.mmo.printer import print_mmo
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.frontends.yaml.printer import print_yaml

MMO = """pipeline digest {
  input chunks: list[str]
  input style: str = "short"

  step summaries = map chunk in chunks (concurrency: 8, on_error: collect, limit: 100) {
    after intro
    when exists(style)
    timeout 2m
    collect summary

    step summarize = llm mock/echo {
      prompt "Summarize in a {style} way: {chunk}"
    } -> summary

    step shout = transform upper(summary) -> loud
  } -> summaries

  step intro = llm mock/echo {
    prompt "Introduce {style}"
  } -> intro_text
}
"""

YAML = """name: digest
inputs:
  chunks: list[str]
  style: {type: str, default: short}
steps:
  - name: summaries
    type: map
    for_each: chunks
    as: chunk
    concurrency: 8
    on_error: collect
    limit: 100
    collect: summary
    depends_on: intro
    condition: exists(style)
    timeout_seconds: 120
    output_key: summaries
    steps:
      - name: summarize
        model: mock/echo
        prompt: "Summarize in a {style} way: {chunk}"
        output_key: summary
      - name: shout
        type: transform
        function: upper
        reads: [summary]
        output_key: loud
  - name: intro
    model: mock/echo
    prompt: "Introduce {style}"
    output_key: intro_text
"""


def _mmo(text: str) -> ir.Pipeline:
    p, diags = parse_mmo(text, "t.mmo")
    assert diags == [] and p is not None, [d.message for d in diags]
    return p


def _yaml(text: str) -> ir.Pipeline:
    p, diags = parse_yaml(text, "t.yaml")
    assert diags == [] and p is not None, [d.message for d in diags]
    return p


def test_mmo_reads_every_part_of_a_map_step() -> None:
    m = _mmo(MMO).steps[0]
    assert isinstance(m, ir.MapStep)
    assert (m.item, m.for_each.name, m.output_key) == ("chunk", "chunks", "summaries")
    assert (m.concurrency, m.on_error, m.limit, m.timeout) == (8, "collect", 100, 120.0)
    assert m.collect is not None and m.collect.name == "summary"
    assert [a.name for a in m.after] == ["intro"] and m.when is not None
    assert [s.name for s in m.steps] == ["summarize", "shout"]
    assert m.item_span is not None and (m.item_span.line, m.item_span.column) == (5, 24)


def test_yaml_twin_gives_the_same_ir() -> None:
    assert _yaml(YAML).model_dump() == _mmo(MMO).model_dump()


def test_item_defaults_to_item_and_options_to_none() -> None:
    p = _yaml(
        "name: t\nsteps:\n  - name: m\n    type: map\n    for_each: xs\n"
        "    steps:\n      - {name: a, model: mock/echo, prompt: '{item}'}\n"
    )
    m = p.steps[0]
    assert isinstance(m, ir.MapStep)
    assert (m.item, m.concurrency, m.on_error, m.limit, m.collect) == ("item", None, "fail", None, None)
    assert m.output_key == "m_output"
    assert "map item in xs {" in print_mmo(p)


def test_printers_round_trip_and_are_idempotent() -> None:
    p = _mmo(MMO)
    text = print_mmo(p)
    assert _mmo(text).model_dump() == p.model_dump()
    assert print_mmo(_mmo(text)) == text
    yaml_text = print_yaml(p)
    assert _yaml(yaml_text).model_dump() == p.model_dump()
    assert print_yaml(_yaml(yaml_text)) == yaml_text
    assert "type: map" in yaml_text and "for_each: chunks" in yaml_text


def test_an_on_error_the_grammar_cannot_read_as_a_name_is_printed_as_a_string() -> None:
    m = _mmo(MMO).steps[0]
    assert isinstance(m, ir.MapStep)
    for odd in ("È", "true", "null", "a-b"):  # a checks error each, but printed faithfully
        p = ir.Pipeline(name="t", steps=(m.model_copy(update={"on_error": odd}),))
        text = print_mmo(p)
        assert f"on_error: {odd!r}".replace("'", '"') in text
        again = _mmo(text).steps[0]
        assert isinstance(again, ir.MapStep) and again.on_error == odd


def test_list_input_types_read_in_both_languages() -> None:
    p = _mmo("pipeline t {\n  input a: list[str]\n  input b: list[int] = [1, 2]\n"
             "  input c: list[json]\n  step s = transform flatten(c) -> d\n}\n")
    assert [(i.name, i.type, i.default) for i in p.inputs] == [
        ("a", "list[str]", None), ("b", "list[int]", [1, 2]), ("c", "list[json]", None)]
    assert _yaml(print_yaml(p)).model_dump() == p.model_dump()


def _codes(text: str, suffix: str = ".mmo") -> list[str]:
    return [d.code for d in load_text(text, "t" + suffix, suffix).diagnostics]


def test_a_map_inside_a_map_body_is_reported() -> None:
    found = load_text(
        "pipeline t {\n  input xs: list[json]\n  step m = map x in xs {\n"
        "    step inner = map y in x { step a = transform upper(y) -> b } -> c\n"
        "  } -> out\n}\n", "t.mmo", ".mmo").diagnostics
    nested = [d for d in found if d.code == "MMO004"]
    assert len(nested) == 1 and "is itself a map" in nested[0].message
    assert nested[0].span is not None and nested[0].span.line == 4


def test_unknown_map_option_and_misplaced_collect() -> None:
    assert "MMO004" in _codes(
        "pipeline t {\n  input xs: list[str]\n  step m = map x in xs (paralel: 2) {\n"
        "    step a = transform upper(x) -> b\n  } -> out\n}\n")
    assert "MMO004" in _codes(
        "pipeline t {\n  input x: str\n  step a = llm mock/echo {\n    prompt \"{x}\"\n"
        "    collect x\n  } -> b\n}\n")


def test_yaml_map_needs_for_each_and_steps() -> None:
    codes = _codes("name: t\nsteps:\n  - name: m\n    type: map\n    as: x\n", ".yaml")
    assert codes.count("MMO005") == 2


def test_yaml_map_inside_a_map_body_is_reported() -> None:
    found = load_text(
        "name: t\nsteps:\n  - name: m\n    type: map\n    for_each: xs\n    steps:\n"
        "      - {name: inner, type: map, for_each: item, steps: []}\n", "t.yaml", ".yaml"
    ).diagnostics
    assert [d.code for d in found] == ["MMO007"]
    assert "a map step cannot be inside a group or a map body" in found[0].message


def test_fmt_keeps_comments_on_collect_and_body_steps() -> None:
    source = ("pipeline c {\n  input xs: list[str]\n\n  # the map\n  step m = map x in xs {\n"
              "    # why this key\n    collect y\n\n    # the body\n"
              "    step a = transform upper(x) -> y\n  } -> ys\n}\n")
    assert print_mmo(_mmo(source)) == source
