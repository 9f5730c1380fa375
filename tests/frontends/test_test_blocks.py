"""`test` blocks in .mmo and the `tests:` list in YAML: one IR, printed back the same."""

from __future__ import annotations

import pytest
from mmoc import ir
from mmoc.frontends.mmo.parse import parse_expectation, parse_mmo
from mmoc.frontends.mmo.printer import print_mmo
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.frontends.yaml.printer import print_yaml

MMO = '''pipeline demo {
  input topic: str
  output summary

  step research = llm mock/m {
    prompt "Research {topic}"
  } -> notes

  step summarize = llm mock/m {
    prompt "Summarize {notes}"
  } -> summary

  # the happy path
  test polite_reply {
    input topic = "tea"
    reply research = {"facts": ["green", "black"]}
    # exact text
    expect summary == "x"
    expect summary contains "tea"
    expect summary matches r"^\\w+\\s"
    expect len(summary) <= 400
    expect notes valid schema {"type": "object", "required": ["facts"]}
    expect step research ran
    expect step summarize skipped
    expect cost <= $0.01
    expect latency < 1500ms
    expect summary judged by openai/gpt-4o-mini "is polite: under 100 words"
  }
}
'''

YAML = '''name: demo
inputs:
  topic: str
outputs:
  - summary
steps:
  - name: research
    model: mock/m
    prompt: Research {topic}
    output_key: notes
  - name: summarize
    model: mock/m
    prompt: Summarize {notes}
    output_key: summary
tests:
  - name: polite_reply
    inputs: {topic: tea}
    replies:
      research: {facts: [green, black]}
    expect:
      - summary == "x"
      - summary contains "tea"
      - 'summary matches r"^\\w+\\s"'
      - len(summary) <= 400
      - key: notes
        schema: {type: object, required: [facts]}
      - step research ran
      - step summarize skipped
      - cost <= $0.01
      - latency < 1500ms
      - key: summary
        judged_by: openai/gpt-4o-mini
        criteria: "is polite: under 100 words"
'''


def _mmo(text: str) -> ir.Pipeline:
    p, diags = parse_mmo(text, "t.mmo")
    assert diags == [] and p is not None
    return p


def test_every_expectation_form_reads_into_the_ir() -> None:
    test = _mmo(MMO).tests[0]
    assert test.name == "polite_reply"
    assert test.inputs[0].name.name == "topic" and test.inputs[0].value == "tea"
    assert test.replies[0].value == {"facts": ["green", "black"]}
    kinds = [e.kind for e in test.expectations]
    assert kinds == ["value", "value", "matches", "length", "schema", "step", "step", "cost",
                     "latency", "judged"]
    match = test.expectations[2]
    assert isinstance(match, ir.ExpectMatch) and match.pattern == r"^\w+\s"  # raw: no escapes
    cost, latency = test.expectations[7], test.expectations[8]
    assert isinstance(cost, ir.ExpectCost) and cost.usd == 0.01
    assert isinstance(latency, ir.ExpectLatency) and latency.op == "<" and latency.seconds == 1.5


def test_mmo_and_yaml_twins_give_the_same_ir() -> None:
    p, diags = parse_yaml(YAML, "t.yaml")
    assert diags == [] and p is not None
    assert p.model_dump() == _mmo(MMO).model_dump()


def test_printers_round_trip_tests_and_keep_comments() -> None:
    p = _mmo(MMO)
    text = print_mmo(p)
    assert text == MMO  # canonical already: comments kept where they stood
    yaml_text = print_yaml(p)
    back, diags = parse_yaml(yaml_text, "t.yaml")
    assert diags == [] and back is not None
    assert back.model_dump() == p.model_dump()
    assert print_yaml(back) == yaml_text
    assert "\n\ntests:\n  - name: polite_reply\n" in yaml_text


def test_a_pattern_with_a_quote_prints_as_an_escaped_string() -> None:
    p = _mmo(MMO.replace(r'r"^\w+\s"', r'"say \"hi\"\\d"'))
    match = p.tests[0].expectations[2]
    assert isinstance(match, ir.ExpectMatch) and match.pattern == 'say "hi"\\d'
    assert _mmo(print_mmo(p)).model_dump() == p.model_dump()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("expect notes <= $0.01", "bounds the run's cost, not `notes`"),
        ("expect notes <= 2s", "bounds the run's latency, not `notes`"),
        ("expect cost contains $1", "`contains` does not compare a cost"),
        ("expect size(notes) < 3", "only `len(key)` is"),
        ('expect len(notes) < "3"', "a length is a whole number, not a string"),
        ("expect len(notes) < 2.5", "a length is a whole number of 0 or more"),
        ("expect step research finished", "`finished` is not a step status"),
    ],
)
def test_a_malformed_expectation_is_mmo910(line: str, message: str) -> None:
    source = MMO.replace('    expect summary == "x"\n', f"    {line}\n")
    _p, diags = parse_mmo(source, "t.mmo")
    assert [d.code for d in diags] == ["MMO910"]
    assert message in diags[0].message
    assert diags[0].span is not None and diags[0].span.line == 18


def test_a_yaml_expectation_string_reports_at_its_place_in_the_file() -> None:
    source = YAML.replace('      - summary contains "tea"', '      - summary containz "tea"')
    _p, diags = parse_yaml(source, "t.yaml")
    assert [d.code for d in diags] == ["MMO002"]
    span = diags[0].span
    assert span is not None and (span.line, span.column) == (22, 17)


def test_yaml_test_fields_are_checked() -> None:
    source = YAML.replace("    inputs: {topic: tea}", "    input: {topic: tea}")
    _, diags = parse_yaml(source, "t.yaml")
    assert [d.code for d in diags] == ["MMO004"]
    assert "did you mean `inputs`?" in (diags[0].help or "")


def test_expectation_alone_parses_with_offsets() -> None:
    found, diags = parse_expectation("len(x) >= 2", "f.yaml", line=5, column=9)
    assert diags == [] and isinstance(found, ir.ExpectLength)
    assert found.span is not None and (found.span.line, found.span.column) == (5, 9)
