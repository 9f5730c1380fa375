"""The seed's four templates: they parse clean, keep the seed's structure, match their twins."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmoc import ir
from mmoc.checks import run_checks
from mmoc.frontends.mmo.parse import parse_mmo
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.frontends.yaml.printer import print_yaml

SEED = Path(__file__).parents[2] / "fixtures" / "seed"
TEMPLATES = {
    "research_and_summarize": [
        ("research", "gemini-2.5-flash-lite", "research_output", 60),
        ("extract_key_points", "gemini-2.5-flash-lite", "key_points", None),
        ("summarize", "gemini-2.5-flash-lite", "summary", None),
    ],
    "extract_and_validate": [
        ("extract", "gemini-2.5-flash-lite", "extracted_data", 45),
        ("validate", "gemini-2.0-flash", "validation_result", None),
        ("format_output", "gemini-2.5-flash-lite", "formatted_output", None),
    ],
    "translate_and_review": [
        ("translate", "gemini-2.5-flash-lite", "translation", 45),
        ("back_translate", "gemini-2.0-flash", "back_translation", None),
        ("review", "gemini-2.5-flash-lite", "review_result", None),
    ],
    "analyze_and_report": [
        ("initial_analysis", "gemini-2.5-flash-lite", "analysis", 60),
        ("identify_trends", "gemini-2.0-flash", "trends", None),
        ("generate_recommendations", "gemini-2.5-flash-lite", "recommendations", None),
        ("compile_report", "gemini-2.5-flash-lite", "final_report", None),
    ],
}


def load(name: str) -> ir.Pipeline:
    path = SEED / f"{name}.yaml"
    p, diagnostics = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert diagnostics == [], [d.message for d in diagnostics]
    assert p is not None
    return p


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_seed_template_structure(name: str) -> None:
    p = load(name)
    assert (p.name, p.version, p.inputs_declared) == (name, "1.0", False)
    found = []
    previous: str | None = None
    for step in p.steps:
        assert isinstance(step, ir.LlmStep) and step.when is None
        # A linear chain: each step runs after the one before it.
        assert [i.name for i in step.after] == ([previous] if previous else [])
        found.append((step.name, step.model.id, step.output_key, step.timeout))
        previous = step.name
    assert found == TEMPLATES[name]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_seed_template_prints_back(name: str) -> None:
    p = load(name)
    back, diagnostics = parse_yaml(print_yaml(p), "printed.yaml")
    assert diagnostics == [] and back is not None
    assert back.model_dump() == p.model_dump()


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_seed_template_matches_its_mmo_twin(name: str) -> None:
    twin = SEED / f"{name}.mmo"
    p, diagnostics = parse_mmo(twin.read_text(encoding="utf-8"), str(twin))
    assert diagnostics == [] and p is not None
    assert p.model_dump() == load(name).model_dump()


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_seed_template_checks_clean(name: str) -> None:
    assert [(d.code, d.message) for d in run_checks(load(name))] == []
