"""Pricing: known and unknown models, snapshots, options, mock, cached tokens."""

from __future__ import annotations

import re

import pytest
from mmoc_runtime import pricing
from mmoc_runtime.catalog import CATALOG
from mmoc_runtime.pricing import DEFAULT_PRICE, PRICES, PRICES_AS_OF, Price, cost, price_for


def test_cost_of_a_known_model() -> None:
    usd, estimated = cost("openai/gpt-4o-mini", 1_000_000, 500_000)
    assert usd == pytest.approx(0.15 + 0.30)
    assert estimated is False


def test_cost_of_an_unknown_model_uses_the_default_and_is_flagged() -> None:
    usd, estimated = cost("myvllm/llama-3-70b", 2_000_000, 1_000_000)
    assert estimated is True
    assert usd == pytest.approx(2 * DEFAULT_PRICE.input_per_mtok + DEFAULT_PRICE.output_per_mtok)


def test_bare_names_and_options_are_accepted() -> None:
    assert price_for("gemini-2.5-flash-lite") == price_for("gemini/gemini-2.5-flash-lite?x=1")
    assert price_for("gemini-2.5-flash-lite") == (Price(0.10, 0.40, 0.01), False)


def test_mock_models_cost_nothing_and_are_not_estimated() -> None:
    assert cost("mock/fast?latency_ms=50&fail_first=2", 1000, 1000) == (0.0, False)


def test_dated_snapshots_share_their_family_price_but_new_models_do_not() -> None:
    assert price_for("openai/gpt-4o-mini-2024-07-18") == (PRICES["gpt-4o-mini"], False)
    assert price_for("claude-sonnet-4-5-20250929") == (PRICES["claude-sonnet-4-5"], False)
    # claude-opus-4-5 is a different model from claude-opus-4, not a snapshot of it
    assert price_for("anthropic/claude-opus-4-5") == (DEFAULT_PRICE, True)


def test_cached_input_is_part_of_input_and_billed_at_the_cached_rate() -> None:
    usd, _ = cost("gpt-4o", 1_000_000, 0, cached_input_tokens=400_000)
    assert usd == pytest.approx(0.6 * 2.50 + 0.4 * 1.25)
    # no cached rate: billed as normal input
    usd, _ = cost("gpt-4", 1_000_000, 0, cached_input_tokens=1_000_000)
    assert usd == pytest.approx(30.0)


def test_negative_token_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        cost("gpt-4o", -1, 0)


def test_every_catalog_model_has_a_price_and_the_date_is_written() -> None:
    assert set(CATALOG) <= set(PRICES)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES_AS_OF)
    assert all(p.input_per_mtok > 0 and p.output_per_mtok > 0 for p in PRICES.values())


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declarations are process-wide: each test starts with none and leaves none behind."""
    monkeypatch.setattr(pricing, "_DECLARED", {})


@pytest.mark.usefixtures("declared")
def test_a_declared_price_comes_before_the_table_and_is_not_an_estimate() -> None:
    fine_tune = Price(0.30, 1.20, as_of="declared")
    pricing.declare_prices({"openai/ft:gpt-4o-mini:acme::x1": fine_tune,
                            "mock/pricey": Price(10.0, 20.0), "gpt-4o": Price(5.0, 5.0)})
    assert price_for("openai/ft:gpt-4o-mini:acme::x1?temperature=0") == (fine_tune, False)
    assert cost("openai/ft:gpt-4o-mini:acme::x1", 1_000_000, 1_000_000) == (
        pytest.approx(1.50), False)
    assert price_for("mock/pricey") == (Price(10.0, 20.0), False)  # even a free provider's
    assert price_for("mock/other") == (pricing.FREE, False)
    assert price_for("openai/gpt-4o")[0] == Price(5.0, 5.0)  # a bare name: any provider's
    pricing.declare_prices({"openai/gpt-4o-mini": Price(7.0, 7.0)})
    assert price_for("gpt-4o-mini") == (Price(7.0, 7.0), False)  # the catalog's provider
    assert price_for("anthropic/ft:gpt-4o-mini:acme::x1") == (DEFAULT_PRICE, True)
    assert pricing.declared_prices()["openai/ft:gpt-4o-mini:acme::x1"] == fine_tune


@pytest.mark.usefixtures("declared")
def test_a_model_declared_again_takes_its_newer_price() -> None:
    pricing.declare_prices({"openai/x": Price(1.0, 1.0)})
    pricing.declare_prices({"openai/x?seed=1": Price(2.0, 2.0)})
    assert price_for("openai/x") == (Price(2.0, 2.0), False)


def test_cost_at_a_given_price_counts_cached_input_at_its_rate() -> None:
    assert pricing.cost_at(Price(2.0, 8.0, 0.5), 1_000_000, 0, 400_000) == pytest.approx(
        0.6 * 2.0 + 0.4 * 0.5)
    with pytest.raises(ValueError, match="token counts"):
        pricing.cost_at(Price(1.0, 1.0), -1, 0)


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("rate", [-1.0, float("inf"), float("nan")])
def test_a_declared_rate_must_be_finite_and_not_negative(rate: float) -> None:
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        pricing.declare_prices({"openai/x": Price(1.0, rate)})
    assert pricing.declared_prices() == {}
