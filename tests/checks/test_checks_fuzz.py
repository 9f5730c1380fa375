"""Mangled sources never crash the loader, and no check ever fails internally on whatever
IR a front end accepts (an MMO702 from a check would be a bug in the checks); the valid
pipelines the codegen properties draw pass every check."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.checks import run_checks
from mmoc.driver import load_text
from support import strategies

SOURCES = sorted((Path(__file__).parents[1] / "diagnostics").glob("*.mmo")) + sorted(
    (Path(__file__).parents[2] / "pipelines").glob("*.*")
)
TEXTS = [(p.suffix, p.read_text(encoding="utf-8")) for p in SOURCES
         if p.suffix in (".mmo", ".yaml")]
PIECES = ["{", "}", "{x}", "{{", "->", "after ", "when ", "len(", "\n", " ", '"', "#", ":",
          "- ", "step s = llm mock/m { prompt \"{s_out}\" } -> s_out\n", "parallel g {",
          "  - name: x\n", "depends_on: x\n", "0", "-1", "timeout 0s\n", "retry r\n"]


@st.composite
def mangled(draw: st.DrawFn) -> tuple[str, str]:
    suffix, text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
    return suffix, text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_loader_never_raises_and_checks_never_crash(case: tuple[str, str]) -> None:
    suffix, text = case
    result = load_text(text, f"fuzz{suffix}", suffix)
    assert not any(d.code == "MMO702" and "running check" in d.message for d in result.diagnostics), [
        d.message for d in result.diagnostics if d.code == "MMO702"]
    if result.pipeline is None:
        assert any(d.is_error for d in result.diagnostics)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.pipelines())
def test_checks_never_crash_on_any_printable_ir(p: ir.Pipeline) -> None:
    # Free values (negative retries, unknown kinds, empty groups, dangling refs): diagnostics.
    internal = [d.message for d in run_checks(p) if d.code == "MMO702"]
    assert internal == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.valid_pipelines())
def test_valid_pipelines_pass_every_check(p: ir.Pipeline) -> None:
    # The strategy the codegen properties draw from must stay valid as the checks grow.
    assert [d for d in run_checks(p) if d.is_error] == []
