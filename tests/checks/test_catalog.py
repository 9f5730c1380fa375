"""The model catalog: ids the providers accept are not flagged, retired families are
(MMO405), prices carry their date, and a project's declared models and providers are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmoc.checks.models import declared_models
from mmoc.config import Config, ModelPrice
from mmoc.driver import load_text
from mmoc_runtime.catalog import RETIRED, parse_model_id
from mmoc_runtime.pricing import PRICES, PRICES_AS_OF, price_for
from support.cli_invoke import invoke


def model_codes(model: str) -> list[str]:
    source = f'pipeline t {{\n  output y\n  step a = llm {model} {{ prompt "hi" }} -> y\n}}\n'
    return [d.code for d in load_text(source, "t.mmo", ".mmo").diagnostics]


@pytest.mark.parametrize("model", [
    "anthropic/claude-sonnet-4-0", "anthropic/claude-opus-4-0", "claude-sonnet-4-0",
    "anthropic/claude-sonnet-4-5-20250929", "openai/gpt-4o-2024-08-06",
])
def test_ids_the_providers_accept_are_not_flagged(model: str) -> None:
    assert model_codes(model) == []


def test_a_bare_alias_routes_to_its_provider() -> None:
    assert parse_model_id("claude-sonnet-4-0").provider == "anthropic"


@pytest.mark.parametrize("model, successor", [
    ("gemini/gemini-1.5-pro", "gemini/gemini-2.5-pro"),
    ("gemini-1.5-flash", "gemini/gemini-2.5-flash"),
    ("gemini/gemini-1.5-flash-002", "gemini/gemini-2.5-flash"),
    ("anthropic/claude-3-5-sonnet-20241022", "anthropic/claude-sonnet-4-5"),
])
def test_retired_families_are_marked(model: str, successor: str) -> None:
    source = f'pipeline t {{\n  output y\n  step a = llm {model} {{ prompt "hi" }} -> y\n}}\n'
    [d] = load_text(source, "t.mmo", ".mmo").diagnostics
    assert d.code == "MMO405" and "retired by" in d.message and successor in (d.help or "")


def test_every_retired_family_is_catalogued_with_a_current_successor() -> None:
    from mmoc_runtime.catalog import CATALOG

    for family, retirement in RETIRED.items():
        assert family in CATALOG and retirement.successor in CATALOG
        assert retirement.successor not in RETIRED


def test_prices_carry_their_source_date() -> None:
    assert all(price.as_of == PRICES_AS_OF for price in PRICES.values())
    assert price_for("anthropic/claude-sonnet-4-0")[0] == PRICES["claude-sonnet-4"]


def test_declared_models_and_providers_are_known_inside_the_context_only() -> None:
    assert model_codes("openai/ft:gpt-4o-mini:acme::x1") == ["MMO401"]
    assert model_codes("vllm/llama3") == ["MMO402"]
    config = Config(models={"openai/ft:gpt-4o-mini:acme::x1": ModelPrice()}, providers=("vllm",))
    with declared_models(config):
        assert model_codes("openai/ft:gpt-4o-mini:acme::x1") == []
        assert model_codes("vllm/llama3") == []
    assert model_codes("vllm/llama3") == ["MMO402"]


def test_declared_in_config_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.mmo").write_text(
        'pipeline t {\n  output y, z\n'
        '  step a = llm openai/ft:gpt-4o-mini:acme::x1 { prompt "hi" } -> y\n'
        '  step b = llm vllm/llama3 { prompt "hi" } -> z\n}\n')
    code, out, _ = invoke(["check", "--format", "json", "t.mmo"])
    assert code == 1 and [d["code"] for d in json.loads(out)] == ["MMO401", "MMO402"]
    (tmp_path / "mmoc.toml").write_text(
        'providers = ["vllm"]\n[models]\n'
        '"openai/ft:gpt-4o-mini:acme::x1" = {input = 0.3, output = 1.2}\n')
    assert invoke(["check", "--format", "json", "t.mmo"])[:2] == (0, "[]\n")
