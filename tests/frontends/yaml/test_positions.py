"""Spans and prompt character positions point at the YAML source."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mmoc import ir
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.source import offset_to_line_col

SOURCE = """\
name: spans
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research:\\n{topic} now"
    depends_on: [fetch]
  - name: fetch
    type: transform
    function: "pkg.mod:fetch"
    reads: [url]
"""


def pipeline(text: str = SOURCE) -> ir.Pipeline:
    p, diagnostics = parse_yaml(text, "dir/spans.yaml")
    assert diagnostics == [] and p is not None
    return p


def test_step_name_span() -> None:
    research = pipeline().steps[0]
    assert research.name_span is not None
    span = research.name_span
    assert (span.file, span.line, span.column, span.end_line, span.end_column) == (
        "dir/spans.yaml", 3, 11, 3, 19,
    )  # fmt: skip


def test_spans_of_references_and_models() -> None:
    p = pipeline()
    research, fetch = p.steps
    assert isinstance(research, ir.LlmStep) and isinstance(fetch, ir.TransformStep)
    assert research.after[0].span is not None
    assert (research.after[0].span.line, research.after[0].span.column) == (6, 18)
    assert research.model.span is not None and research.model.span.column == 12
    assert fetch.reads[0].span is not None and (
        fetch.reads[0].span.line,
        fetch.reads[0].span.column,
    ) == (10, 13)
    assert p.span is not None and (p.span.line, p.span.column) == (1, 1)


def test_placeholder_position_in_a_double_quoted_prompt() -> None:
    research = pipeline().steps[0]
    assert isinstance(research, ir.LlmStep)
    value, positions = research.prompt.value, research.prompt.positions
    assert value == "Research:\n{topic} now"
    assert positions is not None and len(positions) == len(value)
    # `{topic}` follows the two-character escape `\n`: line 5, column 27.
    assert positions[value.index("{topic}")] == offset_to_line_col(SOURCE, SOURCE.index("{topic}"))
    assert positions[value.index("\n")] == offset_to_line_col(SOURCE, SOURCE.index("\\n"))


@pytest.mark.parametrize(
    "prompt",
    [
        "plain text with {key} inside",
        "'single ''quoted'' with {key}'",
        '"escapes \\t\\u00e9\\x41 and {key}"',
    ],
)
def test_placeholder_position_in_one_line_scalars(prompt: str) -> None:
    text = f"name: x\nsteps:\n  - name: a\n    model: m\n    prompt: {prompt}\n"
    step = pipeline(text).steps[0]
    assert isinstance(step, ir.LlmStep)
    value, positions = step.prompt.value, step.prompt.positions
    assert positions is not None and len(positions) == len(value)
    assert positions[value.index("{key}")] == offset_to_line_col(text, text.index("{key}"))


@pytest.mark.parametrize("indicator", ["|", "|-", "|+", "|2"])
def test_placeholder_position_in_a_block_literal(indicator: str) -> None:
    text = (
        "name: x\nsteps:\n  - name: a\n    model: m\n"
        f"    prompt: {indicator}\n"
        "      first line\n\n      second {key} line\n        indented {other}\n"
    )
    step = pipeline(text).steps[0]
    assert isinstance(step, ir.LlmStep)
    value, positions = step.prompt.value, step.prompt.positions
    assert value.startswith("first line\n\nsecond {key} line\n  indented {other}")
    assert positions is not None and len(positions) == len(value)
    for name in ("{key}", "{other}"):
        assert positions[value.index(name)] == offset_to_line_col(text, text.index(name))


def test_folded_and_multi_line_scalars_have_no_positions() -> None:
    text = "name: x\nsteps:\n  - name: a\n    model: m\n    prompt: >\n      folded {key}\n      text\n"
    step = pipeline(text).steps[0]
    assert isinstance(step, ir.LlmStep)
    assert step.prompt.value == "folded {key} text\n" and step.prompt.positions is None
    assert step.prompt.span is not None and step.prompt.span.line == 5


def test_condition_spans_point_inside_the_string() -> None:
    text = "name: x\nsteps:\n  - {name: a, model: m, prompt: p, condition: 'equals:lang:en:GB'}\n"
    step = pipeline(text).steps[0]
    when = step.when
    assert isinstance(when, ir.CompareExpr)
    assert isinstance(when.left, ir.KeyExpr) and isinstance(when.right, ir.LiteralExpr)
    assert when.left.span is not None and when.right.span is not None
    assert (when.left.span.line, when.left.span.column) == offset_to_line_col(
        text, text.index("lang")
    )
    assert when.left.span.end_column - when.left.span.column == len("lang")
    assert when.right.span.column == offset_to_line_col(text, text.index("en:GB"))[1]


def test_expression_condition_spans_are_shifted_to_the_scalar() -> None:
    text = "name: x\nsteps:\n  - {name: a, model: m, prompt: p, condition: \"lang == 'x'\"}\n"
    p, diagnostics = parse_yaml(text, "c.yaml")
    # Single quotes are not strings in the expression language: a bad condition, located.
    assert [d.code for d in diagnostics] == ["MMO601"]
    assert p is not None and p.steps[0].when is None  # kept, without the condition, for the checks
    span = diagnostics[0].span
    assert span is not None and span.line == 3
    assert span.column > offset_to_line_col(text, text.index('"lang'))[1]


EXTRA = "x:\n  - \"\\u00e9 {k}\"\n  - 'q'''\n  - |\n    lit {a}\n  - >-\n    folded\n"


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parents[2] / "fixtures" / "seed").glob("*.yaml"))
)
def test_fast_and_pure_loaders_give_the_same_marks(path: Path) -> None:
    """compose() prefers libyaml when present; its marks must match the pure loader's."""
    if getattr(yaml, "CSafeLoader", None) is None:
        pytest.skip("PyYAML built without libyaml")
    text = path.read_text(encoding="utf-8") + EXTRA

    def marks(loader: type) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        stack = [yaml.compose(text, Loader=loader)]
        while stack:
            node = stack.pop()
            start, end = node.start_mark, node.end_mark
            out.append(
                (
                    node.tag,
                    getattr(node, "style", None) or None,
                    start.line,
                    start.column,
                    end.line,
                    end.column,
                )
            )
            if isinstance(node.value, list):
                for item in node.value:
                    stack.extend(item if isinstance(item, tuple) else (item,))
        return out

    assert marks(yaml.CSafeLoader) == marks(yaml.SafeLoader)
