"""The runtime's retry, fallback and breaker acting on what the loopback server answers.

Specs are built by hand and run through `mmoc_runtime.execute` with real providers over HTTP;
sleeps are injected (and recorded), so no test waits on the clock.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mmoc_runtime import (
    BreakerPolicy,
    BreakerRegistry,
    LlmStep,
    OutputFormat,
    PipelineSpec,
    RetryStrategy,
    RunResult,
    execute,
)
from mmoc_runtime.providers import ProviderRegistry
from support.loopback import (
    OPENAI_KEY,
    PLANTED,
    LoopbackServer,
    Reply,
    openai_completion,
    openai_error,
    rate_limited,
    server_error,
)


class Sleeps:
    """An injected sleep that records every wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(
    step: LlmStep,
    *,
    breakers: BreakerRegistry | None = None,
    sleeps: Sleeps | None = None,
    inputs: dict[str, Any] | None = None,
) -> RunResult:
    spec = PipelineSpec("http_test", inputs=(), steps=(step,))
    return asyncio.run(
        execute(
            spec,
            inputs or {},
            providers=ProviderRegistry(),
            breakers=breakers or BreakerRegistry(time_fn=lambda: 0.0),
            sleep=sleeps or Sleeps(),
        )
    )


def assert_no_key(result: RunResult) -> None:
    text = result.trace.to_json() + result.trace.to_markdown() + str(result.error)
    for key in PLANTED:
        assert key not in text


def test_429_then_success_waits_the_retry_after_floor(provider_env: LoopbackServer) -> None:
    provider_env.queue("openai", rate_limited("openai", retry_after="2"))
    sleeps = Sleeps()
    step = LlmStep(
        "ask",
        "openai/gpt-4o-mini",
        "Say hi",
        "answer",
        retry=RetryStrategy(max_retries=3, base_delay_seconds=0.1, max_delay_seconds=30.0),
    )
    result = run(step, sleeps=sleeps)
    assert result.success, result.error
    assert result.outputs == {"answer": "[openai] Say hi"}
    assert sleeps.waits == [2.0]  # the server's floor, above the 0.1 s backoff
    assert len(provider_env.calls("openai")) == 2
    st = result.trace.step("ask")
    assert [a.status for a in st.attempts] == ["failed", "success"]
    assert st.attempts[0].error_kind == "rate_limit"
    assert st.retries == 1
    # Real token counts from the wire, priced from the table.
    assert (st.input_tokens, st.output_tokens) == (2, 3)
    assert st.cost_usd > 0 and not st.cost_estimated and not st.tokens_estimated
    assert_no_key(result)


def test_primary_that_keeps_failing_falls_back_to_second_provider(
    provider_env: LoopbackServer,
) -> None:
    provider_env.always(
        "anthropic",
        Reply(
            529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        ),
    )
    sleeps = Sleeps()
    step = LlmStep(
        "ask",
        "anthropic/claude-haiku-4-5",
        "Say hi",
        "answer",
        retry=RetryStrategy(max_retries=2, backoff="constant", base_delay_seconds=1.0),
        fallback=("gemini/gemini-2.5-flash",),
    )
    result = run(step, sleeps=sleeps)
    assert result.success, result.error
    assert result.outputs["answer"] == "[gemini] Say hi"
    assert len(provider_env.calls("anthropic")) == 3 and len(provider_env.calls("gemini")) == 1
    assert sleeps.waits == [1.0, 1.0]
    st = result.trace.step("ask")
    assert st.fallback_used and st.model_used == "gemini/gemini-2.5-flash"
    assert [a.error_kind for a in st.attempts[:3]] == ["overloaded"] * 3


def test_breaker_opened_by_5xx_skips_the_model_on_a_later_run(
    provider_env: LoopbackServer,
) -> None:
    provider_env.always("openai", server_error("openai", 503))
    breakers = BreakerRegistry(time_fn=lambda: 0.0)  # frozen clock: the breaker stays open
    step = LlmStep(
        "ask",
        "openai/gpt-4o-mini",
        "Say hi",
        "answer",
        retry=RetryStrategy(max_retries=1, base_delay_seconds=0.0),
        fallback=("gemini/gemini-2.5-flash-lite",),
        breaker=BreakerPolicy(failure_threshold=2, recovery_timeout_seconds=60.0),
    )
    first = run(step, breakers=breakers)
    assert first.success and len(provider_env.calls("openai")) == 2
    assert breakers.peek("openai/gpt-4o-mini").state == "open"

    second = run(step, breakers=breakers)
    assert second.success, second.error
    assert len(provider_env.calls("openai")) == 2  # not called again
    assert len(provider_env.calls("gemini")) == 2
    st = second.trace.step("ask")
    assert st.attempts[0].status == "rejected" and st.attempts[0].error_kind == "circuit_open"
    assert st.breaker_state["openai/gpt-4o-mini"] == "open"


def test_quota_is_never_retried_but_falls_back(provider_env: LoopbackServer) -> None:
    quota = openai_error(
        "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
    )
    provider_env.queue("openai", Reply(429, quota, {"retry-after": "1"}))
    sleeps = Sleeps()
    step = LlmStep(
        "ask",
        "openai/gpt-4o",
        "q",
        "answer",
        retry=RetryStrategy(max_retries=3),
        fallback=("anthropic/claude-3-haiku",),
    )
    result = run(step, sleeps=sleeps)
    assert result.success and sleeps.waits == []
    assert len(provider_env.calls("openai")) == 1
    assert result.trace.step("ask").attempts[0].error_kind == "quota"


def test_invalid_structured_output_is_retried_when_opted_in(
    provider_env: LoopbackServer,
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    provider_env.queue(
        "openai",
        Reply(200, openai_completion('{"n": "three"}')),
        Reply(200, openai_completion('```json\n{"n": 3}\n```')),
    )
    step = LlmStep(
        "count",
        "openai/gpt-4o-mini",
        "How many?",
        "count",
        output_format=OutputFormat("json", schema),
        retry=RetryStrategy(max_retries=2, base_delay_seconds=0.0, retry_on=("invalid_output",)),
    )
    result = run(step)
    assert result.success, result.error
    assert result.outputs == {"count": {"n": 3}}
    first = result.trace.step("count").attempts[0]
    assert first.error_kind == "invalid_output" and "$.n: expected integer" in first.error
    sent = provider_env.calls("openai")[0].body
    assert sent["response_format"]["json_schema"]["schema"] == schema


def test_auth_error_fails_fast_and_the_trace_hides_the_echoed_key(
    provider_env: LoopbackServer,
) -> None:
    bad = openai_error(
        f"Incorrect API key provided: {OPENAI_KEY}.", "invalid_request_error", "invalid_api_key"
    )
    provider_env.always("openai", Reply(401, bad))
    step = LlmStep("ask", "gpt-4o-mini", "q", "answer", retry=RetryStrategy(max_retries=3))
    result = run(step)
    assert not result.success and result.failed_step == "ask"
    assert len(provider_env.calls("openai")) == 1
    st = result.trace.step("ask")
    assert st.attempts[0].error_kind == "auth"
    assert "Incorrect API key provided" in st.attempts[0].error
    assert_no_key(result)
    assert OPENAI_KEY not in json.dumps(result.trace.to_dict())


def test_timeout_and_dropped_connection_are_retried(provider_env: LoopbackServer) -> None:
    provider_env.queue("gemini", Reply(drop=True), Reply(stall=True))
    step = LlmStep(
        "ask",
        "gemini-2.5-flash-lite",
        "Say hi",
        "answer",
        timeout=0.5,  # the stalled second attempt takes this long; the third answers at once
        retry=RetryStrategy(max_retries=2, base_delay_seconds=0.0),
    )
    result = run(step)
    assert result.success, result.error
    kinds = [a.error_kind for a in result.trace.step("ask").attempts]
    assert kinds == ["connection", "timeout", None]


@pytest.mark.parametrize("usage", [True, False])
def test_local_server_without_usage_is_marked_estimated(
    provider_env: LoopbackServer, usage: bool
) -> None:
    provider_env.queue(
        "openai", Reply(200, openai_completion("local reply", "llama3.2", usage=usage))
    )
    result = run(LlmStep("ask", "ollama/llama3.2", "Say hi", "answer"))
    assert result.success, result.error
    assert result.trace.step("ask").tokens_estimated is (not usage)
    assert "authorization" not in provider_env.calls("openai")[0].headers
