"""In-memory modules skip black: the raw render must be the same program, only unformatted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mmoc.codegen.module import black_format
from mmoc.driver import compile_file
from mmoc.modules import load_module
from support.generated import PIPELINES
from support.goldens import golden_cases

SOURCES = [case.source for case in golden_cases()]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_unformatted_module_is_the_formatted_one_before_black(source: Path) -> None:
    formatted = compile_file(source)
    raw = compile_file(source, format=False)
    assert formatted.ok and raw.ok and formatted.code and raw.code
    assert black_format(raw.code) == formatted.code


def test_unformatted_module_runs_as_the_formatted_one() -> None:
    source = PIPELINES / "analyze_and_report.mmo"
    results = []
    for fmt in (True, False):
        compiled = compile_file(source, format=fmt)
        assert compiled.code is not None
        module = load_module(compiled.code, f"mmoc_test_unformatted_{fmt}")
        inputs = {i.name: "some data" for i in module.PIPELINE.inputs if i.required}
        results.append(asyncio.run(module.run_result(inputs, mock=True)))
    formatted, raw = results
    assert raw.success and formatted.success, (raw.error, formatted.error)
    assert raw.outputs == formatted.outputs and raw.outputs
    assert [s.status for s in raw.trace.steps] == [s.status for s in formatted.trace.steps]
