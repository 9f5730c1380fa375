"""`execute`'s options and the trace details they show: mock routing, injected sleep and `now`,
observers, content capture, timeout and breaker messages, totals, seed names, the lean import.

(Grown from an acceptance audit of issues 2 and 5: the numbered comments are its gaps.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from mmoc_runtime import (
    BreakerPolicy,
    BreakerRegistry,
    EndpointSpec,
    InputSpec,
    LlmStep,
    MockProvider,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    TransformStep,
    execute_sync,
    run,
    run_sync,
)
from mmoc_runtime.pricing import DEFAULT_PRICE
from mmoc_runtime.providers.base import LlmRequest, LlmResponse
from support.fakes import FakeTime, ScriptedProvider


def one_step(model: str, **options: Any) -> PipelineSpec:
    return PipelineSpec("one", inputs=(InputSpec("topic", default="tides"),),
                        steps=(LlmStep("ask", model, "Tell me about {topic}", "answer",
                                       **options),))


def registry_with(name: str, provider: Any) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register(name, provider)
    return registry


class Hanging:
    """A provider that never answers (until cancelled)."""

    name = "hang"

    async def complete(self, request: LlmRequest) -> LlmResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        return None


# 1. A mock run routes an unknown bare name to the mock, priced at the default.

def test_mock_run_of_an_unknown_bare_name_runs_on_the_mock_at_the_default_price() -> None:
    registry = registry_with("mock", MockProvider())
    result = execute_sync(one_step("some-unknown-model-xyz"), {}, providers=registry, mock=True)
    assert result.success, result.error
    step = result.trace.step("ask")
    assert result.values["answer"] == "[mock/some-unknown-model-xyz] Tell me about tides"
    assert step.model_used == "some-unknown-model-xyz" and step.cost_estimated
    expected = (DEFAULT_PRICE.input_per_mtok * step.input_tokens
                + DEFAULT_PRICE.output_per_mtok * step.output_tokens) / 1_000_000
    assert step.cost_usd == pytest.approx(expected) and expected > 0


def test_without_mock_an_unknown_bare_name_is_still_a_config_error() -> None:
    result = execute_sync(one_step("some-unknown-model-xyz"), {})
    assert not result.success and result.trace.step("ask").error_kind == "config"


# 2. `sleep` is the backoff wait only, and may be synchronous.

def test_injected_sleep_receives_only_backoff_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    spec = one_step("mock/x?latency_ms=20&fail_first=2",
                    retry=RetryStrategy(max_retries=3, base_delay_seconds=1))
    result = execute_sync(spec, {}, providers=registry_with("mock", MockProvider()),
                          sleep=sleep)
    assert result.success and waits == [1.0, 2.0]  # the mock's latency really slept


def test_the_mocks_latency_can_use_its_own_injected_sleep() -> None:
    latency, backoff = FakeTime(), FakeTime()
    registry = registry_with("mock", MockProvider(sleep=latency.sleep))
    spec = one_step("mock/x?latency_ms=50&fail_first=2",
                    retry=RetryStrategy(max_retries=3, base_delay_seconds=1))
    assert execute_sync(spec, {}, providers=registry, sleep=backoff.sleep).success
    assert backoff.sleeps == [1.0, 2.0] and latency.sleeps == [0.05, 0.05, 0.05]


def test_a_synchronous_sleep_is_accepted() -> None:
    waits: list[float] = []
    registry = registry_with("mock", MockProvider())
    spec = one_step("mock/x?fail_first=2", retry=RetryStrategy(max_retries=3,
                                                              base_delay_seconds=1))
    result = execute_sync(spec, {}, providers=registry, sleep=waits.append)
    assert result.success and waits == [1.0, 2.0]


# 3. Timeouts say what timed out and after how long.

def test_llm_timeout_names_provider_model_and_limit() -> None:
    result = execute_sync(one_step("hang/slow-model", timeout=0.01), {},
                          providers=registry_with("hang", Hanging()))
    message = "hang/slow-model: no reply within 0.01s"
    step = result.trace.step("ask")
    assert step.error_kind == "timeout" and step.error == message
    assert step.attempts[0].error == message
    assert result.error == f"step 'ask' failed: {message}"
    assert json.loads(result.trace.to_json())["error"] == result.error


def test_transform_timeout_names_the_step_and_limit() -> None:
    async def slow() -> str:
        await asyncio.Event().wait()
        return "never"

    spec = PipelineSpec("t", steps=(TransformStep("crawl", slow, "pages", timeout=0.01),))
    result = execute_sync(spec, {})
    step = result.trace.step("crawl")
    assert step.error_kind == "timeout" and step.error == "step 'crawl' timed out after 0.01s"
    assert result.error == "step 'crawl' failed: step 'crawl' timed out after 0.01s"


# 4. An open breaker that would reject the retry sends the step to its fallback at once.

def test_open_breaker_goes_to_the_fallback_without_sleeping() -> None:
    fake = FakeTime()
    registry = registry_with("mock", MockProvider())
    spec = one_step("mock/p?fail=always&error=server_error", fallback=("mock/f",),
                    retry=RetryStrategy(max_retries=3, base_delay_seconds=1),
                    breaker=BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=60))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock,
                          breakers=BreakerRegistry(time_fn=fake.clock))
    step = result.trace.step("ask")
    assert result.success and fake.sleeps == []
    assert [(a.model, a.status) for a in step.attempts] == [
        ("mock/p?fail=always&error=server_error", "failed"), ("mock/f", "success")]
    assert step.retries == 0 and step.model_used == "mock/f"


def test_breaker_turning_half_open_within_the_wait_still_retries() -> None:
    fake = FakeTime()
    registry = registry_with("mock", MockProvider())
    spec = one_step("mock/p?fail=always&error=server_error", fallback=("mock/f",),
                    retry=RetryStrategy(max_retries=2, base_delay_seconds=1),
                    breaker=BreakerPolicy(failure_threshold=1, recovery_timeout_seconds=0.5))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock,
                          breakers=BreakerRegistry(time_fn=fake.clock))
    step = result.trace.step("ask")
    assert fake.sleeps == [1.0, 2.0]  # each wait outlasts the recovery: a trial is admitted
    assert [a.status for a in step.attempts] == ["failed", "failed", "failed", "success"]


# 5 and 6. A `totals` object, and cached input tokens in steps, attempts and totals.

def test_trace_totals_object_with_cached_tokens_and_status_counts() -> None:
    scripted = ScriptedProvider(default=LlmResponse("ok", 1000, 500, cached_input_tokens=400))
    registry = registry_with("scripted", scripted)
    registry.register("mock", MockProvider())
    spec = PipelineSpec("totals", steps=(
        LlmStep("a", "scripted/m", "hello", "a"),
        LlmStep("b", "mock/b?fail_first=1", "again {a}", "b",
                retry=RetryStrategy(max_retries=1, base_delay_seconds=0)),
        LlmStep("c", "mock/c?fail=always&error=bad_request", "x", "c"),
        LlmStep("d", "mock/d", "after {c}", "d"),
        LlmStep("e", "mock/e", "never", "e", when=lambda v: False, when_text="false"),
    ))
    result = execute_sync(spec, {}, providers=registry, sleep=FakeTime().sleep)
    trace = result.trace
    totals = json.loads(trace.to_json())["totals"]
    assert totals == trace.totals
    assert totals["input_tokens"] == trace.total_input_tokens == sum(
        s.input_tokens for s in trace.steps)
    assert totals["output_tokens"] == trace.total_output_tokens
    assert totals["total_tokens"] == trace.total_tokens
    assert totals["cost_usd"] == pytest.approx(trace.total_cost_usd)
    assert totals["cost_estimated"] is trace.cost_estimated
    assert totals["cached_input_tokens"] == 400
    assert totals["attempts"] == 4 and totals["retries"] == 1
    assert totals["steps"] == {"success": 2, "failed": 1, "skipped": 1, "not_run": 1}
    step = json.loads(trace.to_json())["steps"][0]
    assert step["cached_input_tokens"] == 400
    assert step["attempts"][0]["cached_input_tokens"] == 400


# 7. The documented entry points.

def test_run_and_run_sync_are_exported() -> None:
    registry = registry_with("mock", MockProvider())
    spec = one_step("mock/m")
    assert run_sync(spec, {}, providers=registry).outputs == {
        "answer": "[mock/m] Tell me about tides"}
    result = asyncio.run(run(spec, {"topic": "bees"}, providers=registry))
    assert result.outputs == {"answer": "[mock/m] Tell me about bees"}


# 9. Observers by duck typing, and callbacks given as keywords.

def test_an_object_with_only_some_callbacks_observes_a_run() -> None:
    class OnlyEnds:
        def __init__(self) -> None:
            self.ended: list[tuple[str, str]] = []

        def on_step_end(self, step_trace: Any) -> None:
            self.ended.append((step_trace.name, step_trace.status))

    watcher = OnlyEnds()
    result = execute_sync(one_step("mock/m"), {}, observer=watcher,
                          providers=registry_with("mock", MockProvider()))
    assert result.success and watcher.ended == [("ask", "success")]
    assert execute_sync(one_step("mock/m"), {}, observer=object()).success


def test_pipeline_observer_takes_callbacks_as_keywords() -> None:
    events: list[str] = []
    observer = PipelineObserver(
        on_run_start=lambda trace: events.append("run_start"),
        on_step_start=lambda name, kind, model: events.append(f"start {name}"),
        on_attempt=lambda name, attempt: events.append(f"attempt {attempt.number}"),
        on_step_end=lambda st: events.append(f"end {st.name}"),
        on_run_end=lambda trace: events.append("run_end"),
    )
    execute_sync(one_step("mock/m"), {}, observer=observer,
                 providers=registry_with("mock", MockProvider()))
    assert events == ["run_start", "start ask", "attempt 1", "end ask", "run_end"]
    assert observer.last_trace is not None and observer.last_trace.pipeline == "one"


# 10. `now` may be the start time itself.

def test_now_as_epoch_seconds_is_the_start_time() -> None:
    fake = FakeTime()
    registry = registry_with("mock", MockProvider(sleep=fake.sleep))
    result = execute_sync(one_step("mock/m?latency_ms=250"), {}, providers=registry,
                          clock=fake.clock, now=1_700_000_000.0)
    assert result.trace.started_at == "2023-11-14T22:13:20.000Z"
    assert result.trace.ended_at == "2023-11-14T22:13:20.250Z"


# 11. Bad mock options are configuration errors, never retried.

@pytest.mark.parametrize(("option", "named"), [
    ("latency=50", "latency_ms"),
    ("fail=sometimes", "always"),
    ("error=bogus", "rate_limit"),
    ("fail_first=two", "fail_first"),
])
def test_bad_mock_options_fail_the_step_as_config_errors(option: str, named: str) -> None:
    mock = MockProvider()
    fake = FakeTime()
    result = execute_sync(one_step(f"mock/x?{option}", retry=RetryStrategy(max_retries=3)),
                          {}, providers=registry_with("mock", mock), sleep=fake.sleep)
    step = result.trace.step("ask")
    assert step.error_kind == "config" and named in (step.error or "")
    assert option.split("=")[0] in (step.error or "")
    assert len(step.attempts) == 1 and fake.sleeps == []


# 12. `import mmoc_runtime` stays lean.

def test_import_does_not_load_argparse_and_transforms_load_on_first_use() -> None:
    code = ("import sys, mmoc_runtime; print('argparse' in sys.modules, "
            "'mmoc_runtime.transforms' in sys.modules, "
            "mmoc_runtime.transforms.BUILTINS['upper']('ok'), "
            "mmoc_runtime.conditions.exists({'k': 1}, 'k'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False", "OK", "True"]


# 13. Keys are scrubbed from captured content.

def test_captured_content_is_scrubbed_of_key_values(monkeypatch: pytest.MonkeyPatch) -> None:
    openai_key, endpoint_key = "sk-live-planted-0123456789", "endpoint-planted-secret"
    monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    monkeypatch.setenv("LOCAL_LLM_CREDENTIAL", endpoint_key)
    spec = PipelineSpec(
        "leaky", inputs=(InputSpec("topic"),),
        steps=(
            LlmStep("ask", "mock/m", "About {topic}", "answer", system="key {topic}"),
            TransformStep("echo", lambda answer: {"copy": [answer]}, "copy", reads=("answer",)),
        ),
        endpoints=(EndpointSpec("local", "http://127.0.0.1:9", api_key_env="LOCAL_LLM_CREDENTIAL"),),
    )
    result = execute_sync(spec, {"topic": f"{openai_key} and {endpoint_key}"},
                          providers=registry_with("mock", MockProvider()), capture_content=True)
    text = result.trace.to_json()
    assert openai_key not in text and endpoint_key not in text
    ask = result.trace.step("ask")
    assert ask.prompt == "About [REDACTED] and [REDACTED]"
    assert ask.system == "key [REDACTED] and [REDACTED]"
    assert "[REDACTED]" in ask.output
    assert result.trace.step("echo").output == {"copy": [ask.output]}
    assert openai_key in result.values["answer"]  # only the trace is scrubbed, not the data


# 14. The earlier library's trace names.

def test_seed_trace_aliases_are_read_only() -> None:
    trace = execute_sync(one_step("mock/m"), {},
                         providers=registry_with("mock", MockProvider())).trace
    assert trace.pipeline_name == "one" and trace.step_traces is trace.steps
    with pytest.raises(AttributeError):
        trace.pipeline_name = "other"  # type: ignore[misc]
