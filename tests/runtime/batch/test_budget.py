"""Budgets stop a run before the call that would pass them, with their own status and kind."""

from __future__ import annotations

import asyncio

import pytest
from mmoc_runtime import (
    Budget,
    BudgetExceeded,
    InputSpec,
    LlmStep,
    PipelineSpec,
    execute,
    execute_sync,
)
from mmoc_runtime.pricing import cost
from mmoc_runtime.providers import ProviderRegistry
from mmoc_runtime.providers.base import LlmResponse
from mmoc_runtime.token_estimate import DEFAULT_OUTPUT_TOKENS, call_estimate
from support.fakes import ScriptedProvider

# gpt-4o: $2.50 in, $10 out per million tokens.
CHAIN = PipelineSpec("chain", inputs=(InputSpec("t"),), steps=(
    LlmStep("a", "scripted/gpt-4o", "{t}", "x", max_tokens=100),
    LlmStep("b", "scripted/gpt-4o", "{x}", "y", max_tokens=100),
))


def _providers(provider: ScriptedProvider) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("scripted", provider)
    return registry


def test_the_call_that_would_pass_the_budget_is_not_made() -> None:
    # Each call uses 1000 in + 500 out tokens: $0.0075. The estimate of the second call
    # (its prompt "ok" and 100 max tokens) fits $0.0080 alone, but not after the first call.
    provider = ScriptedProvider(default=LlmResponse("ok", 1000, 500))
    result = execute_sync(CHAIN, {"t": "hello"}, providers=_providers(provider), budget=0.008)
    assert len(provider.requests) == 1  # b was never sent
    assert not result.success
    assert result.trace.status == "budget_exceeded"
    step = result.trace.step("b")
    assert step.error_kind == "budget_exceeded"
    assert "not called" in (step.error or "")
    spend = result.trace.to_dict()["budget"]
    assert spend == {"limit_usd": 0.008, "spent_usd": pytest.approx(0.0075),
                     "calls_refused": 1}


def test_a_spec_budget_applies_to_each_run_and_is_never_retried() -> None:
    spec = PipelineSpec("one", steps=(LlmStep("a", "gpt-4o", "hi", "x"),), budget=0.001)
    result = execute_sync(spec, {}, mock=True)
    step = result.trace.step("a")
    # 1024 output tokens at $10/M is $0.01: refused, in one attempt (no retry of a refusal).
    assert step.error_kind == "budget_exceeded" and len(step.attempts) == 1
    again = execute_sync(spec, {}, mock=True)  # a fresh budget per run, refused the same way
    assert again.trace.step("a").error_kind == "budget_exceeded"


def test_a_run_within_its_budget_is_untouched_and_reports_its_spend() -> None:
    spec = PipelineSpec("one", steps=(LlmStep("a", "gpt-4o-mini", "hi", "x"),), budget=1.0)
    result = execute_sync(spec, {}, mock=True)
    assert result.success and result.trace.status == "success"
    assert result.trace.to_dict()["budget"]["spent_usd"] == pytest.approx(
        result.trace.total_cost_usd)


def test_concurrent_calls_reserve_so_that_two_cannot_both_pass_the_limit() -> None:
    budget = Budget(0.015)
    first = budget.reserve("gpt-4o", 0, 1000)  # $0.01 reserved
    with pytest.raises(BudgetExceeded):
        budget.reserve("gpt-4o", 0, 1000)  # fits alone, not beside the first
    budget.settle(first, 0.002)  # the first used less than estimated
    budget.reserve("gpt-4o", 0, 1000)
    assert budget.spent_usd == pytest.approx(0.002)
    assert budget.calls_refused == 1 and budget.exhausted


def test_a_shared_budget_stops_parallel_runs_before_the_sum_passes_it() -> None:
    # Each call: 1 prompt token and 100 out, as estimated: $0.0010025. Ten runs start at once
    # on a $0.005 budget: reservations admit four, and the spend stays within the budget.
    provider = ScriptedProvider(default=LlmResponse("ok", 1, 100))
    providers = _providers(provider)
    spec = PipelineSpec("one", steps=(LlmStep("a", "scripted/gpt-4o", "hi", "x",
                                              max_tokens=100),))
    budget = Budget(0.005)

    async def main() -> None:
        await asyncio.gather(*(execute(spec, {}, providers=providers, budget=budget)
                               for _ in range(10)))

    asyncio.run(main())
    assert len(provider.requests) == 4
    assert budget.calls_refused == 6
    assert budget.spent_usd == pytest.approx(4 * 0.0010025) and budget.spent_usd <= 0.005


@pytest.mark.parametrize("text", ["", "a", "abcd", "abcde", "x" * 4001])
def test_the_estimate_counts_text_as_the_providers_do(text: str) -> None:
    from mmoc_runtime.providers.base import estimate_tokens
    from mmoc_runtime.token_estimate import text_tokens

    assert text_tokens(text) == estimate_tokens(text)


def test_the_estimate_is_prompt_chars_over_four_plus_max_tokens() -> None:
    assert call_estimate("x" * 400, "y" * 40, 50) == (110, 50)
    assert call_estimate("abc", None, None) == (1, DEFAULT_OUTPUT_TOKENS)
    assert cost("gpt-4o", 0, 1000)[0] == pytest.approx(0.01)
