"""Where things are: spans of names, keys and placeholders; comments kept with their statement."""

from __future__ import annotations

from mmoc import ir
from mmoc.frontends.mmo.parse import parse_condition, parse_mmo

SOURCE = '''\
# Research pipeline
pipeline research {
  input topic: str

  # first step
  step research = llm gemini-2.5-flash-lite {
    prompt """
      Research the following topic:
        {topic}
    """
    timeout 60s  # generous
  } -> research_output

  step summarize = llm gemini-2.5-flash-lite {
    # escaped newline inside a one-line string
    prompt "Summarize:\\n{research_output}"
    after research
  } -> summary
}
# the end
'''


def parsed() -> ir.Pipeline:
    p, diags = parse_mmo(SOURCE, "pipelines/r.mmo")
    assert diags == [] and p is not None
    return p


def test_step_name_and_output_key_spans() -> None:
    step = parsed().steps[0]
    assert step.name_span is not None and step.output_key_span is not None
    assert (step.name_span.file, step.name_span.line, step.name_span.column) == (
        "pipelines/r.mmo",
        6,
        8,
    )
    assert step.name_span.end_column == 8 + len("research")
    assert (step.output_key_span.line, step.output_key_span.column) == (12, 8)
    assert step.span is not None and (step.span.line, step.span.end_line) == (6, 12)


def test_placeholder_position_inside_triple_quoted_prompt() -> None:
    prompt = parsed().steps[0].prompt
    assert isinstance(prompt, ir.Text) and prompt.positions is not None
    assert len(prompt.positions) == len(prompt.value)
    i = prompt.value.index("{topic}")
    assert prompt.positions[i] == (9, 9)
    assert SOURCE.splitlines()[8][8:15] == "{topic}"


def test_positions_inside_one_line_string_skip_escapes() -> None:
    prompt = parsed().steps[1].prompt
    assert prompt.positions is not None
    i = prompt.value.index("{research_output}")
    line = SOURCE.splitlines()[15]
    assert prompt.positions[i] == (16, line.index("{research_output}") + 1)
    assert prompt.positions[prompt.value.index("\n")] == (16, line.index("\\n") + 1)


def test_ident_and_model_spans() -> None:
    step = parsed().steps[1]
    assert step.after[0].span is not None and (
        step.after[0].span.line,
        step.after[0].span.column,
    ) == (17, 11)
    assert step.model.span is not None and step.model.span.column == 24


def test_condition_spans_are_offset() -> None:
    expr, diags = parse_condition("a > 1 and b", "p.yaml", line=7, column=16)
    assert diags == [] and isinstance(expr, ir.BoolExpr)
    left = expr.operands[0]
    assert isinstance(left, ir.CompareExpr) and left.left.span is not None
    assert (left.left.span.line, left.left.span.column) == (7, 16)
    b = expr.operands[1]
    assert b.span is not None and (b.span.line, b.span.column, b.span.end_column) == (7, 26, 27)


def test_condition_error_position_is_offset() -> None:
    expr, diags = parse_condition("a >", "p.yaml", line=3, column=10)
    assert expr is None and [d.code for d in diags] == ["MMO002"]
    assert diags[0].span is not None and (diags[0].span.line, diags[0].span.column) == (3, 13)


def test_comments_attach_to_the_following_statement() -> None:
    p = parsed()
    assert p.comments == ("Research pipeline",)
    assert p.steps[0].comments == ("first step", "generous")  # `timeout` has no node of its own
    assert p.steps[1].prompt.comments == ("escaped newline inside a one-line string",)
    assert p.trailing_comments == ("the end",)


def test_trailing_comment_on_a_line_belongs_to_that_statement() -> None:
    p, _ = parse_mmo("pipeline t {\n  input a  # the topic\n  input b\n}", "t.mmo")
    assert p is not None
    assert [i.comments for i in p.inputs] == [("the topic",), ()]


def test_comments_before_every_kind_of_field_survive_fmt() -> None:
    from mmoc.frontends.mmo.printer import print_mmo

    fields = [
        'prompt "x"',
        'system "s"',
        "temperature 0.5",
        "max_tokens 5",
        'stop ["a"]',
        "json",
        "after z",
        "when z",
        "retry r",
        "fallback []",
        "breaker b",
        "timeout 1s",
    ]
    body = "\n".join(f"    # c{i}\n    {f}" for i, f in enumerate(fields))
    p, diags = parse_mmo(f"pipeline t {{\n  step s = llm m {{\n{body}\n  }} -> k\n}}\n", "c.mmo")
    assert diags == [] and p is not None
    out = print_mmo(p)
    for i in range(len(fields)):
        assert f"# c{i}\n" in out
    again, _ = parse_mmo(out, "c.mmo")
    assert again is not None and print_mmo(again) == out


def test_condition_errors_are_shifted_to_where_the_condition_starts() -> None:
    from mmoc.frontends.mmo.parse import parse_condition
    from mmoc.source import Span

    _e, diags = parse_condition("a and\n  (b or", "f.yaml", line=7, column=13)
    (d,) = diags
    assert d.code == "MMO002" and d.span is not None
    assert d.span.line == 8  # second line of the condition: no column shift there
    one_line = Span(file="f", line=1, column=3, end_line=1, end_column=5).shifted(7, 13)
    assert (one_line.line, one_line.column, one_line.end_line, one_line.end_column) == (7, 15, 7, 17)
    two_lines = Span(file="f", line=1, column=3, end_line=2, end_column=5).shifted(7, 13)
    assert (two_lines.column, two_lines.end_line, two_lines.end_column) == (15, 8, 5)
