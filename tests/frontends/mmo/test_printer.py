"""The canonical printer: its layout, idempotence, comments, and the seed twins."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmoc import ir
from mmoc.expr_text import print_expr
from mmoc.frontends.mmo.parse import parse_mmo
from mmoc.frontends.mmo.printer import duration, print_mmo, text

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seed"
SEED_NAMES = [
    "research_and_summarize",
    "extract_and_validate",
    "translate_and_review",
    "analyze_and_report",
]

MESSY = """# header comment
pipeline   demo{step b=transform upper(a_out)->b_out
# about a
step a = llm fast {
      timeout 90s   # slow
      prompt "Line one\\nLine {two}"
  when not (x == "y") and len(a) > 3
  retry constant(delay: 2s, max_retries: 2)
  fallback [openai/gpt-4o-mini]
}->a_out
  default timeout 30s
    retry patient = exponential(max_retries: 3, base: 1s, max: 30s, jitter: full)
  input x: str = "y"   model fast = gemini/gemini-2.5-flash-lite
  version "1.0"
  parallel g (concurrency: 2) { step c = transform lower(b_out) -> c_out after b }
}
# trailing note
"""

CANONICAL = '''# header comment
pipeline demo {
  version "1.0"

  input x: str = "y"

  model fast = gemini/gemini-2.5-flash-lite

  retry patient = exponential(max_retries: 3, base: 1s, max: 30s, jitter: full)

  default timeout 30s

  step b = transform upper(a_out) -> b_out

  # about a
  # slow
  step a = llm fast {
    prompt """
      Line one
      Line {two}
    """
    when not (x == "y") and len(a) > 3
    retry constant(max_retries: 2, delay: 2s)
    fallback [openai/gpt-4o-mini]
    timeout 90s
  } -> a_out

  parallel g (concurrency: 2) {
    after b

    step c = transform lower(b_out) -> c_out
  }
}
# trailing note
'''


def parse(text: str) -> ir.Pipeline:
    p, diags = parse_mmo(text, "t.mmo")
    assert diags == [], [(d.code, d.message) for d in diags]
    assert p is not None
    return p


def test_messy_source_prints_canonically() -> None:
    assert print_mmo(parse(MESSY)) == CANONICAL


def test_fmt_is_idempotent_and_keeps_meaning_and_comments() -> None:
    once = print_mmo(parse(MESSY))
    assert print_mmo(parse(once)) == once
    assert parse(once).model_dump() == parse(MESSY).model_dump()
    for comment in ("header comment", "about a", "slow", "trailing note"):
        assert f"# {comment}" in once


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_twin_gives_the_yaml_ir(name: str) -> None:
    from mmoc.frontends.yaml.parse import parse_yaml

    mmo_text = (SEED / f"{name}.mmo").read_text()
    yaml_text = (SEED / f"{name}.yaml").read_text()
    from_yaml, diags = parse_yaml(yaml_text, f"{name}.yaml")
    assert diags == [] and from_yaml is not None
    from_mmo = parse(mmo_text)
    assert from_mmo.model_dump() == from_yaml.model_dump()
    assert print_mmo(from_mmo) == mmo_text  # the twins are kept in canonical form


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.5, "500ms"),
        (60.0, "1m"),
        (90.0, "90s"),
        (3600.0, "1h"),
        (7200.0, "2h"),
        (1.5, "1500ms"),
        (0.0001, "0.0001s"),
        (0.0, "0ms"),
        (45, "45s"),
    ],
)
def test_durations_print_in_the_shortest_exact_unit(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_texts_choose_the_form_that_reads_back() -> None:
    assert text("one line", "  ") == '"one line"'
    assert text("a\nb", "  ") == '"""\n    a\n    b\n  """'
    # Every line indented: stripping would lose it, so one escaped line instead.
    assert text("  a\n  b", "") == '"  a\\n  b"'
    assert text('say """hi"""\nok', "") == '"""\n  say \\"\\"\\"hi\\"\\"\\"\n  ok\n"""'
    # Only blank lines: the reader would find no indentation to strip (found by Hypothesis).
    assert text("\n\t", "  ") == '"\\n\\t"'
    assert text(" \n ", "") == '" \\n "'


def test_print_expr_parenthesises_only_where_needed() -> None:
    a, b, c = (ir.KeyExpr(name=n) for n in "abc")
    assert (
        print_expr(ir.BoolExpr(op="or", operands=(a, ir.BoolExpr(op="and", operands=(b, c)))))
        == "a or b and c"
    )
    assert (
        print_expr(ir.BoolExpr(op="and", operands=(a, ir.BoolExpr(op="or", operands=(b, c)))))
        == "a and (b or c)"
    )
    assert (
        print_expr(ir.BoolExpr(op="or", operands=(a, ir.BoolExpr(op="or", operands=(b, c)))))
        == "a or (b or c)"
    )
    assert (
        print_expr(
            ir.NotExpr(
                operand=ir.CompareExpr(op="contains", left=a, right=ir.LiteralExpr(value="x"))
            )
        )
        == 'not (a contains "x")'
    )
    assert (
        print_expr(
            ir.CompareExpr(
                op=">", left=ir.CallExpr(func="len", args=(a,)), right=ir.LiteralExpr(value=2.5)
            )
        )
        == "len(a) > 2.5"
    )
    assert print_expr(ir.LiteralExpr(value=None)) == "null"


def test_transform_reading_a_key_named_reads() -> None:
    p = ir.Pipeline(
        name="t",
        steps=(
            ir.TransformStep(
                name="s", function="f", reads=(ir.Ident(name="reads"),), output_key="k"
            ),
        ),
    )
    out = print_mmo(p)
    assert "f(reads reads)" in out
    assert parse(out).model_dump() == p.model_dump()


def test_printer_never_raises_on_loosely_typed_values() -> None:
    import datetime

    step = ir.LlmStep(
        name="s",
        output_key="k",
        model=ir.ModelRef(id="m"),
        prompt=ir.Text(value="p"),
        temperature="hot",
        max_tokens=float("inf"),
        timeout="soon",
    )
    p = ir.Pipeline(
        name="t",
        inputs=(ir.Input(name="d", default=datetime.date(2024, 1, 2), has_default=True),),
        steps=(step,),
    )
    out = print_mmo(p)
    assert 'input d = "2024-01-02"' in out and "temperature hot" in out and "timeout soon" in out
