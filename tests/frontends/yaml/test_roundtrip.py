"""Property tests: IR → print_yaml → parse_yaml gives the same IR; no input ever raises."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.frontends.yaml.printer import print_yaml
from support import strategies

# Modest example counts: the whole suite of every area shares two cores.
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(strategies.pipelines())
def test_print_then_parse_gives_the_same_ir(p: ir.Pipeline) -> None:
    text = print_yaml(p)
    back, diagnostics = parse_yaml(text, "printed.yaml")
    assert diagnostics == [], (text, [d.message for d in diagnostics])
    assert back is not None
    assert back.model_dump() == p.model_dump(), text
    assert print_yaml(back) == text  # deterministic, and a fixed point


@SETTINGS
@given(strategies.exprs)
def test_conditions_round_trip(expr: ir.Expr) -> None:
    step = ir.LlmStep(
        name="a", output_key="o", model=ir.ModelRef(id="m"), prompt=ir.Text(value="p"), when=expr
    )
    p = ir.Pipeline(name="c", steps=(step,))
    back, diagnostics = parse_yaml(print_yaml(p), "c.yaml")
    assert diagnostics == [] and back is not None
    assert back.model_dump() == p.model_dump()


YAML_PIECES = [
    "name: x\n", "steps:\n", "  - ", "    ", "\n", "{", "}", "[", "]", ": ", ", ", "- ",
    "&a ", "*a", "<<: ", "!!python/object:os.system ", "!!binary ", "'", '"', "|\n", ">\n", "# c\n",
    "model: m", "prompt: p", "type: transform", "type: parallel_group", "condition: equals:a:b",
    "condition: len(x) >", "timeout: 5 min", "depends_on: ", "retry: ", "schema: ", "inputs: ",
    "\t", "\\", "{x}", "---\n", "...\n", "%YAML 1.1\n", "? ", "\x00", "\ufeff", "é",
]  # fmt: skip


def _check_contract(text: str) -> None:
    p, diagnostics = parse_yaml(text, "fuzz.yaml")
    assert isinstance(diagnostics, list)
    assert all(d.code != "MMO702" for d in diagnostics), [d.message for d in diagnostics]
    # No pipeline only with an error; a pipeline may come with errors (best effort, for the checks).
    assert p is not None or any(d.is_error for d in diagnostics)
    for d in diagnostics:
        assert d.span is not None and d.span.line >= 1 and d.span.column >= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=20).map("".join))
@example("name: x\nsteps: [{name: a, model: m, prompt: p, schema: &s {a: *s}}]\n")
@example("[" * 1200)
@example("a: &x [*x]\n")
def test_yaml_ish_text_never_raises(text: str) -> None:
    _check_contract(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_never_raises(text: str) -> None:
    _check_contract(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.pipelines(), st.data())
def test_damaged_pipelines_never_raise(p: ir.Pipeline, data: st.DataObject) -> None:
    text = print_yaml(p)
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 10))
    insert = data.draw(st.sampled_from(["", ":", "- ", "\n  ", "{", "'", "x", "!!str "]))
    _check_contract(text[:position] + insert + text[position + cut :])
