"""The llm-step path: mock provider options, retry waits, fallback, breakers, cost, secrets."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from mmoc_runtime import (
    BreakerPolicy,
    BreakerRegistry,
    FallbackChain,
    FallbackExhaustedError,
    InputSpec,
    LlmError,
    LlmStep,
    MockProvider,
    OutputFormat,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    execute_sync,
)
from mmoc_runtime.errors import error_kind
from mmoc_runtime.providers.base import LlmResponse
from mmoc_runtime.trace import AttemptTrace
from support.fakes import FakeTime, ScriptedProvider, rate_limited


def one_step(model: str, **options: object) -> PipelineSpec:
    return PipelineSpec("one", inputs=(InputSpec("topic", default="tides"),),
                        steps=(LlmStep("ask", model, "Tell me about {topic}", "answer",
                                       **options),))  # type: ignore[arg-type]


def mock_registry() -> tuple[ProviderRegistry, MockProvider]:
    registry = ProviderRegistry()
    mock = MockProvider()
    registry.register("mock", mock)
    return registry, mock


def test_retry_with_fail_first_records_exact_waits() -> None:
    fake = FakeTime()
    registry, mock = mock_registry()
    spec = one_step("mock/m?fail_first=2&error=rate_limit",
                    retry=RetryStrategy(max_retries=3, base_delay_seconds=1.0))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert result.success
    assert fake.sleeps == [1.0, 2.0]
    step = result.trace.step("ask")
    assert [a.wait_before_ms for a in step.attempts] == [0.0, 1000.0, 2000.0]
    assert [a.error_kind for a in step.attempts] == ["rate_limit", "rate_limit", None]
    assert step.retries == 2 and mock.total_calls == 3
    assert result.values["answer"] == "[mock/m] Tell me about tides"


def test_retry_after_floors_the_wait_and_exhaustion_fails_the_step() -> None:
    fake = FakeTime()
    registry, _ = mock_registry()
    spec = one_step("mock/m?fail=always&error=server_error&retry_after=5",
                    retry=RetryStrategy(max_retries=2, base_delay_seconds=1.0,
                                        max_delay_seconds=30.0))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert not result.success and fake.sleeps == [5.0, 5.0]
    assert result.trace.step("ask").error_kind == "server_error"
    assert len(result.trace.step("ask").attempts) == 3


def test_client_errors_are_never_retried() -> None:
    fake = FakeTime()
    registry, mock = mock_registry()
    spec = one_step("mock/m?fail=always&error=bad_request", retry=RetryStrategy(max_retries=3))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert not result.success and mock.total_calls == 1 and fake.sleeps == []


def test_fail_first_counts_per_run() -> None:
    fake = FakeTime()
    registry, _ = mock_registry()
    spec = one_step("mock/m?fail_first=1", retry=RetryStrategy(max_retries=1,
                                                               base_delay_seconds=0.25))
    for _ in range(2):  # each run's first call fails again
        result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
        assert result.success and len(result.trace.step("ask").attempts) == 2
    assert fake.sleeps == [0.25, 0.25]


def test_mock_latency_uses_the_mocks_own_sleep_not_the_backoff_sleep() -> None:
    fake, backoff = FakeTime(), FakeTime()
    registry = ProviderRegistry()
    registry.register("mock", MockProvider(sleep=fake.sleep))
    result = execute_sync(one_step("mock/m?latency_ms=50"), {}, providers=registry,
                          sleep=backoff.sleep, clock=fake.clock)
    assert result.success and fake.sleeps == [0.05] and backoff.sleeps == []
    assert result.trace.step("ask").latency_ms == pytest.approx(50.0)
    assert result.trace.latency_ms == pytest.approx(50.0)


def test_fallback_to_the_second_model_when_the_primary_is_exhausted() -> None:
    fake = FakeTime()
    registry, _ = mock_registry()
    spec = one_step("mock/primary?fail=always&error=rate_limit",
                    fallback=("mock/second?reply=from+second", "mock/third"),
                    retry=RetryStrategy(max_retries=1, base_delay_seconds=1.0))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert result.success and result.values["answer"] == "from second"
    step = result.trace.step("ask")
    assert step.model == "mock/primary?fail=always&error=rate_limit"
    assert step.model_used == "mock/second?reply=from+second" and step.fallback_used
    assert [a.model.split("?")[0] for a in step.attempts] == [
        "mock/primary", "mock/primary", "mock/second"]
    assert fake.sleeps == [1.0]  # the fallback starts without a backoff wait


def test_all_models_failing_lists_every_model() -> None:
    registry, _ = mock_registry()
    spec = one_step("mock/a?fail=always&error=server_error",
                    fallback=("mock/b?fail=always&error=bad_request",))
    result = execute_sync(spec, {}, providers=registry)
    assert not result.success
    error = result.trace.step("ask").error or ""
    assert error.index("mock/a") < error.index("mock/b")
    assert "server_error" in error and "bad_request" in error


def test_open_breaker_skips_the_model_without_a_call() -> None:
    fake = FakeTime()
    registry, mock = mock_registry()
    breakers = BreakerRegistry(time_fn=fake.clock)
    spec = one_step("mock/flaky?fail=always&error=server_error", fallback=("mock/steady",),
                    breaker=BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=60))
    first = execute_sync(spec, {}, providers=registry, breakers=breakers, clock=fake.clock)
    assert first.success and mock.total_calls == 2
    assert first.trace.step("ask").breaker_state == {"mock/flaky": "open", "mock/steady": "closed"}

    second = execute_sync(spec, {}, providers=registry, breakers=breakers, clock=fake.clock)
    assert second.success and mock.total_calls == 3  # only the fallback was called
    attempts = second.trace.step("ask").attempts
    assert [(a.status, a.error_kind) for a in attempts] == [("rejected", "circuit_open"),
                                                           ("success", None)]
    fake.now += 61  # recovery: the breaker admits a trial call again
    third = execute_sync(spec, {}, providers=registry, breakers=breakers, clock=fake.clock)
    assert mock.total_calls == 5 and third.trace.step("ask").attempts[0].status == "failed"


def test_breaker_is_keyed_per_model_and_only_with_a_policy() -> None:
    registry, _ = mock_registry()
    breakers = BreakerRegistry()
    execute_sync(one_step("mock/x?fail=always"), {}, providers=registry, breakers=breakers)
    assert breakers.states() == {}
    execute_sync(one_step("mock/x?fail=always", breaker=BreakerPolicy(failure_threshold=3)),
                 {}, providers=registry, breakers=breakers)
    assert breakers.states() == {"mock/x": "closed"}
    assert breakers.peek("mock/x").failure_count == 1  # type: ignore[union-attr]


def test_mock_run_of_an_unknown_model_is_priced_at_the_default_and_flagged() -> None:
    from mmoc_runtime.pricing import DEFAULT_PRICE

    registry, _ = mock_registry()
    result = execute_sync(one_step("openai/model-from-the-future"), {}, providers=registry,
                          mock=True)
    step = result.trace.step("ask")
    per_token = (DEFAULT_PRICE.input_per_mtok * step.input_tokens
                 + DEFAULT_PRICE.output_per_mtok * step.output_tokens) / 1_000_000
    assert step.cost_estimated and step.cost_usd == pytest.approx(per_token) and per_token > 0
    assert result.trace.to_dict()["steps"][0]["cost_estimated"] is True


def test_mock_switch_routes_every_model_and_keeps_the_requested_id() -> None:
    registry, mock = mock_registry()
    result = execute_sync(one_step("openai/gpt-4o", fallback=("anthropic/claude-haiku-4-5",)),
                          {}, providers=registry, mock=True)
    step = result.trace.step("ask")
    assert result.success and mock.total_calls == 1
    assert step.model == step.model_used == "openai/gpt-4o"
    assert result.trace.mock and result.values["answer"] == "[mock/gpt-4o] Tell me about tides"
    # Priced at the requested model's rates: the trace shows what the real run would cost.
    from mmoc_runtime.pricing import cost

    expected, _ = cost("openai/gpt-4o", step.input_tokens, step.output_tokens)
    assert step.cost_usd == expected > 0 and not step.cost_estimated


def test_cost_of_a_known_and_an_unknown_model() -> None:
    registry = ProviderRegistry()
    provider = ScriptedProvider(default=LlmResponse("ok", 1000, 500))
    registry.register("openai", provider)
    spec = PipelineSpec("cost", steps=(
        LlmStep("known", "openai/gpt-4o", "a", "k"),
        LlmStep("unknown", "openai/gpt-nobody-knows", "b", "u"),
    ))
    result = execute_sync(spec, {}, providers=registry)
    known, unknown = result.trace.step("known"), result.trace.step("unknown")
    assert known.cost_usd == pytest.approx((1000 * 2.50 + 500 * 10.00) / 1e6)
    assert not known.cost_estimated
    assert unknown.cost_usd > 0 and unknown.cost_estimated
    data = json.loads(result.trace.to_json())
    assert data["cost_estimated"] is True
    assert data["total_cost_usd"] == pytest.approx(known.cost_usd + unknown.cost_usd)
    assert [s["cost_estimated"] for s in data["steps"]] == [False, True]


def test_no_key_or_prompt_text_in_the_trace_unless_captured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-test-abcdefghijklmnop1234"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    registry = ProviderRegistry()
    leaky = ScriptedProvider(script=[LlmError("auth", f"bad key {secret} for Bearer {secret}")])
    registry.register("openai", leaky)
    registry.register("mock", MockProvider())
    spec = PipelineSpec("secrets", inputs=(InputSpec("topic"),), steps=(
        LlmStep("ask", "openai/gpt-4o", "CONFIDENTIAL {topic}", "answer", system="SYS-SECRET",
                fallback=("mock/backup",)),
    ))
    plain = execute_sync(spec, {"topic": "plans"}, providers=registry)
    text = plain.trace.to_json() + plain.trace.to_markdown()
    assert secret not in text and "[REDACTED]" in text
    assert "CONFIDENTIAL" not in text and "SYS-SECRET" not in text
    assert plain.success  # the fallback answered; its reply echoes the prompt, not captured

    leaky.script.append(LlmError("auth", "no"))
    captured = execute_sync(spec, {"topic": "plans"}, providers=registry, capture_content=True)
    step = captured.trace.step("ask")
    assert step.prompt == "CONFIDENTIAL plans" and step.system == "SYS-SECRET"
    assert step.output == "[mock/backup] CONFIDENTIAL plans"


def test_structured_output_is_parsed_and_invalid_output_fails() -> None:
    registry, _ = mock_registry()
    schema = {"type": "object", "properties": {"title": {"type": "string"},
                                               "score": {"type": "integer"}},
              "required": ["title", "score"]}
    good = one_step("mock/json", output_format=OutputFormat(schema=schema))
    result = execute_sync(good, {}, providers=registry)
    assert result.success
    assert result.values["answer"]["score"] == 0 and "tides" in result.values["answer"]["title"]
    bad = one_step("mock/json?reply=not+json", output_format=OutputFormat())
    failed = execute_sync(bad, {}, providers=registry)
    assert not failed.success and failed.trace.step("ask").error_kind == "invalid_output"


def test_observer_sees_every_attempt_before_it_happens() -> None:
    seen: list[tuple[str, int, float]] = []

    class Watch(PipelineObserver):
        def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
            seen.append((step_name, attempt.number, attempt.wait_before_ms))
            assert attempt.status == "running"

    fake = FakeTime()
    registry, _ = mock_registry()
    spec = one_step("mock/m?fail_first=1", retry=RetryStrategy(max_retries=2, jitter="full"))
    watch = Watch()
    execute_sync(spec, {}, providers=registry, observer=watch, sleep=fake.sleep,
                 clock=fake.clock, rng=random.Random(7))
    assert [s[:2] for s in seen] == [("ask", 1), ("ask", 2)]
    assert 0.0 <= seen[1][2] <= 1000.0 and seen[1][2] == fake.sleeps[0] * 1000.0
    assert watch.last_trace is not None and watch.last_trace.status == "success"


def test_model_concurrency_caps_calls_per_model() -> None:
    import asyncio

    from mmoc_runtime import ParallelGroup

    running = 0
    peak = 0

    class Counting(MockProvider):
        async def complete(self, request):  # type: ignore[no-untyped-def]
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1
            return await super().complete(request)

    registry = ProviderRegistry()
    registry.register("mock", Counting())
    members = tuple(LlmStep(f"m{i}", "mock/one", "p", f"k{i}") for i in range(5))
    spec = PipelineSpec("mc", steps=(ParallelGroup("g", members),))
    assert execute_sync(spec, {}, providers=registry, model_concurrency={"mock/one": 2}).success
    assert peak == 2


def test_rate_limited_scripted_provider_then_success() -> None:
    fake = FakeTime()
    registry = ProviderRegistry()
    provider = ScriptedProvider(script=[rate_limited(), LlmResponse("fine", 3, 4)])
    registry.register("anthropic", provider)
    result = execute_sync(one_step("anthropic/claude-haiku-4-5",
                                   retry=RetryStrategy(base_delay_seconds=2.0)),
                          {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert result.success and result.values["answer"] == "fine" and fake.sleeps == [2.0]
    request = provider.requests[-1]
    assert (request.provider, request.model, request.step) == ("anthropic",
                                                               "claude-haiku-4-5", "ask")
    assert request.run_id == result.trace.run_id


def test_a_missing_api_key_fails_the_step_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    registry = ProviderRegistry()
    alone = execute_sync(one_step("openai/gpt-4o"), {}, providers=registry)
    assert not alone.success and alone.trace.step("ask").error_kind == "config"
    assert "OPENAI_API_KEY" in (alone.error or "")
    rescued = execute_sync(one_step("openai/gpt-4o", fallback=("mock/spare",)), {},
                           providers=registry)
    assert rescued.success and rescued.trace.step("ask").model_used == "mock/spare"


# -- one loop: the executor and the seed-compatible wrappers decide alike -----------------


def flaky_script() -> list[Exception]:
    """Failures whose waits show every rule: a Retry-After above the backoff, none, one above
    the cap (base 1, cap 10: waits 4, 2, 10)."""
    return [LlmError("rate_limit", "429", retry_after=4.0), LlmError("server_error", "502"),
            LlmError("rate_limit", "429 again", retry_after=3600.0)]


FLAKY_POLICY = RetryStrategy(max_retries=3, base_delay_seconds=1.0, max_delay_seconds=10.0)
FLAKY_HISTORY = [(1, "rate_limit", 0.0), (2, "server_error", 4.0), (3, "rate_limit", 2.0),
                 (4, None, 10.0)]


def scripted_fn(script: list[Exception]):  # type: ignore[no-untyped-def]
    def fn() -> str:
        if script:
            raise script.pop(0)
        return "ok"

    return fn


def test_retry_after_floor_cap_and_history_are_the_same_in_run_arun_and_the_executor() -> None:
    # The executor's trace.
    fake = FakeTime()
    registry = ProviderRegistry()
    registry.register("scripted", ScriptedProvider(script=list(flaky_script())))
    result = execute_sync(one_step("scripted/m", retry=FLAKY_POLICY), {}, providers=registry,
                          sleep=fake.sleep, clock=fake.clock)
    assert result.success
    traced = [(a.number, a.error_kind, a.wait_before_ms / 1000.0)
              for a in result.trace.step("ask").attempts]
    # `run` and `arun`'s attempt records.
    sync_waits: list[float] = []
    sync_seen: list[tuple[int, str | None, float]] = []
    FLAKY_POLICY.run(scripted_fn(flaky_script()), sleep=sync_waits.append,
                     on_attempt=lambda r: sync_seen.append((r.attempt, r.error_kind,
                                                            r.wait_before)))
    async_waits: list[float] = []
    async_seen: list[tuple[int, str | None, float]] = []

    plain = scripted_fn(flaky_script())

    async def call() -> str:
        return plain()  # type: ignore[no-any-return]

    asyncio.run(FLAKY_POLICY.arun(call, sleep=async_waits.append,
                                  on_attempt=lambda r: async_seen.append(
                                      (r.attempt, r.error_kind, r.wait_before))))
    assert traced == sync_seen == async_seen == FLAKY_HISTORY
    assert fake.sleeps == sync_waits == async_waits == [4.0, 2.0, 10.0]


def test_jittered_waits_and_the_exhausted_history_match_between_run_and_the_executor() -> None:
    policy = RetryStrategy(max_retries=2, base_delay_seconds=3.0, jitter="full")
    fake = FakeTime()
    registry = ProviderRegistry()
    registry.register("scripted", ScriptedProvider(script=[rate_limited()] * 3))
    result = execute_sync(one_step("scripted/m", retry=policy), {}, providers=registry,
                          sleep=fake.sleep, clock=fake.clock, rng=random.Random(11))
    assert not result.success
    waits: list[float] = []
    with pytest.raises(LlmError) as caught:
        policy.run(scripted_fn([rate_limited()] * 3), sleep=waits.append,
                   rng=random.Random(11))
    assert fake.sleeps == waits and len(waits) == 2
    history = [(a["attempt"], a["error_kind"], a["wait_before"])
               for a in caught.value.attempts]  # type: ignore[attr-defined]
    assert history == [(a.number, a.error_kind, a.wait_before_ms / 1000.0)
                       for a in result.trace.step("ask").attempts]


def test_a_zero_wait_is_slept_in_the_executor_as_in_run() -> None:
    # One rule for both: every retry sleeps its wait, 0 included (the executor skipped it).
    policy = RetryStrategy(max_retries=1, base_delay_seconds=0.0)
    fake = FakeTime()
    registry, _ = mock_registry()
    result = execute_sync(one_step("mock/m?fail_first=1", retry=policy), {},
                          providers=registry, sleep=fake.sleep, clock=fake.clock)
    waits: list[float] = []
    policy.run(scripted_fn([rate_limited()]), sleep=waits.append)
    assert result.success and fake.sleeps == waits == [0.0]
    assert result.trace.step("ask").retries == 1


def test_fallback_chain_and_fallback_models_skip_an_open_breaker_and_list_failures_alike(
) -> None:
    # The executor: a failing primary, a model whose breaker is open, a model that refuses.
    registry, mock = mock_registry()
    breakers = BreakerRegistry(time_fn=lambda: 0.0)
    policy = BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=60)
    breakers.get("mock/b", policy).record_failure()
    spec = one_step("mock/a?fail=always&error=rate_limit",
                    fallback=("mock/b", "mock/c?fail=always&error=bad_request"), breaker=policy)
    result = execute_sync(spec, {}, providers=registry, breakers=breakers)
    step = result.trace.step("ask")
    executor = [(a.model.split("?")[0], a.error_kind) for a in step.attempts]
    # The chain: the same three options as plain functions, b behind the same open breaker.
    called: list[str] = []

    def option(name: str, error: Exception | None):  # type: ignore[no-untyped-def]
        def fn() -> str:
            called.append(name)
            if error is not None:
                raise error
            return name

        return fn

    fresh = BreakerRegistry(time_fn=lambda: 0.0)  # the run above opened mock/a's
    fresh.get("mock/b", policy).record_failure()
    chain = (FallbackChain()
             .add_option("mock/a", option("mock/a", LlmError("rate_limit", "429")),
                         breaker=fresh.get("mock/a", policy))
             .add_option("mock/b", option("mock/b", None), breaker=fresh.get("mock/b"))
             .add_option("mock/c", option("mock/c", LlmError("bad_request", "400")),
                         breaker=fresh.get("mock/c", policy)))
    with pytest.raises(FallbackExhaustedError) as caught:
        chain.execute()
    listed = [(name, error_kind(exc)) for name, exc in caught.value.errors]
    assert executor == listed == [("mock/a", "rate_limit"), ("mock/b", "circuit_open"),
                                  ("mock/c", "bad_request")]
    assert called == ["mock/a", "mock/c"] and mock.total_calls == 2  # b never called
    assert step.error_kind == caught.value.kind == "bad_request"
    # Each breaker was told the same: a counted failure opens a, a client error leaves c closed.
    assert step.breaker_state == fresh.states() == {"mock/a": "open", "mock/b": "open",
                                                    "mock/c": "closed"}


def test_a_reply_that_fails_the_json_check_is_still_charged() -> None:
    """The provider bills a reply whether or not it parses: its tokens and cost are on its
    attempt and in the step's totals, for a step that then succeeds and one that fails."""
    fake = FakeTime()
    scripted = ScriptedProvider("openai", script=[
        LlmResponse("not json", 1000, 500), LlmResponse('{"a": 1}', 1000, 500),
    ])
    registry = ProviderRegistry()
    registry.register("openai", scripted)
    retry = RetryStrategy(max_retries=1, base_delay_seconds=0.0, retry_on=("invalid_output",))
    spec = one_step("openai/gpt-4o-mini", output_format=OutputFormat(), retry=retry)
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert result.success
    step = result.trace.step("ask")
    assert [(a.error_kind, a.input_tokens, a.output_tokens) for a in step.attempts] == [
        ("invalid_output", 1000, 500), (None, 1000, 500)]
    assert (step.input_tokens, step.output_tokens) == (2000, 1000)
    one_reply_cost = step.cost_usd / 2
    assert one_reply_cost > 0

    scripted.script = [LlmResponse("still not json", 1000, 500)]
    failed = execute_sync(one_step("openai/gpt-4o-mini", output_format=OutputFormat()), {},
                          providers=registry)
    step = failed.trace.step("ask")
    assert not failed.success and step.error_kind == "invalid_output"
    assert (step.input_tokens, step.output_tokens) == (1000, 500)
    assert step.cost_usd == pytest.approx(one_reply_cost)
    assert failed.trace.total_cost_usd == pytest.approx(one_reply_cost)
