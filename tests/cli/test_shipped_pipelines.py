"""Every shipped pipeline (.mmo and .yaml) runs through `mmoc run --mock --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmoc.cli import cli
from mmoc.cli.demo import example_inputs
from mmoc.driver import compile_file
from mmoc.modules import load_module

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("pipelines/*.mmo"), *ROOT.glob("pipelines/*.yaml")])


def test_pipelines_are_shipped() -> None:
    # Not a skip: a packaging or path mistake that hides them must fail here.
    assert len(SOURCES) >= 2, SOURCES


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_shipped_pipeline_runs_on_mock(source: Path) -> None:
    compiled = compile_file(source)
    assert compiled.ok and compiled.code is not None
    spec = load_module(compiled.code, f"shipped_{source.stem}_{source.suffix[1:]}").PIPELINE
    args = ["run", str(source), "--mock", "--json", "-q"]
    for key, value in example_inputs(spec).items():
        args += ["-i", f"{key}={value}"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert outputs and all(isinstance(k, str) for k in outputs)
    if spec.outputs:
        assert set(outputs) <= set(spec.outputs)  # a skipped producer leaves its output out
