"""Streaming over real HTTP: each provider's event format from the loopback server, through
`mmoc_runtime.stream`, with breaks, stalls and error events mid-stream.

Sleeps are injected (backoff waits return at once); the idle-timeout tests use a short step
timeout against a server that stalls until the test ends, so they never race the clock.
"""

from __future__ import annotations

import asyncio

import pytest
from mmoc_runtime import (
    Event,
    FallbackUsed,
    LlmStep,
    PipelineSpec,
    Retrying,
    RetryStrategy,
    RunFinished,
    StepFinished,
    StepStarted,
    TextDelta,
    stream,
)
from mmoc_runtime.providers import ProviderRegistry
from support.loopback import (
    LoopbackServer,
    Reply,
    anthropic_stream,
    anthropic_stream_error,
    gemini_blocked,
    openai_error,
    openai_stream,
)

MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "gemini": "gemini/gemini-2.5-flash-lite",
}
PROMPT = "tell me about streaming events one piece at a time"


async def _no_wait(seconds: float) -> None:
    return None


def stream_step(model: str, *, retries: int = 0, timeout: float | None = None,
                fallback: tuple[str, ...] = ()) -> list[Event]:
    step = LlmStep("answer", model, PROMPT, "answer", timeout=timeout, fallback=fallback,
                   retry=RetryStrategy(max_retries=retries) if retries else None)
    spec = PipelineSpec("streamed", steps=(step,))

    async def collect() -> list[Event]:
        providers = ProviderRegistry()
        try:
            return [e async for e in stream(spec, {}, providers=providers, sleep=_no_wait)]
        finally:
            await providers.aclose_all()

    return asyncio.run(collect())


def text_of(events: list[Event]) -> str:
    """The step's text as a display shows it: restarted after a retry that says so."""
    text = ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, Retrying) and event.restarted:
            text = ""
    return text


def finished(events: list[Event]) -> RunFinished:
    last = events[-1]
    assert isinstance(last, RunFinished)
    return last


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_each_provider_streams_its_reply_in_pieces(provider: str,
                                                   provider_env: LoopbackServer) -> None:
    events = stream_step(MODELS[provider])
    deltas = [e for e in events if isinstance(e, TextDelta)]
    done = finished(events)
    assert done.success, done.error
    answer = done.outputs["answer"]
    assert answer == f"[{provider}] {PROMPT}"
    assert len(deltas) > 5  # pieces, not one block
    assert "".join(d.text for d in deltas) == answer
    assert isinstance(events[1], StepStarted) and events[1].model == MODELS[provider]
    step_end = next(e for e in events if isinstance(e, StepFinished))
    # The loopback's usage (words in, words out) came from the stream's usage event.
    words_in, words_out = len(PROMPT.split()), len(answer.split())
    assert step_end.tokens == words_in + words_out
    assert step_end.ttft is not None and step_end.ttft <= step_end.latency
    st = done.trace.step("answer")
    assert (st.input_tokens, st.output_tokens, st.tokens_estimated) == (words_in, words_out,
                                                                         False)
    assert st.ttft_ms is not None and st.attempts[0].ttft_ms == st.ttft_ms


def test_the_requests_ask_for_a_stream_as_each_api_spells_it(
        provider_env: LoopbackServer) -> None:
    for model in MODELS.values():
        stream_step(model)
    (openai,) = provider_env.calls("openai")
    assert openai.body["stream"] is True
    assert openai.body["stream_options"] == {"include_usage": True}
    assert openai.headers["accept"] == "text/event-stream"
    (anthropic,) = provider_env.calls("anthropic")
    assert anthropic.body["stream"] is True and anthropic.path == "/v1/messages"
    (gemini,) = provider_env.calls("gemini")
    assert gemini.path == "/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse"
    assert "stream" not in gemini.body


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_stream_broken_mid_way_is_retried_and_restarts_the_text(
        provider: str, provider_env: LoopbackServer) -> None:
    provider_env.queue(provider, Reply(break_after=4))
    events = stream_step(MODELS[provider], retries=2)
    done = finished(events)
    assert done.success, done.error
    (retrying,) = [e for e in events if isinstance(e, Retrying)]
    assert retrying.error_kind == "stream_interrupted"
    assert retrying.restarted  # text had been sent before the break
    assert retrying.attempt == 2
    assert text_of(events) == done.outputs["answer"]
    # Without the restart the display would show the broken attempt's text twice over.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) != done.outputs["answer"]
    first = done.trace.step("answer").attempts[0]
    assert (first.status, first.error_kind) == ("failed", "stream_interrupted")


def test_a_break_before_any_text_is_a_retry_without_restart(
        provider_env: LoopbackServer) -> None:
    provider_env.queue("anthropic", Reply(break_after=1))  # after message_start only
    events = stream_step(MODELS["anthropic"], retries=1)
    (retrying,) = [e for e in events if isinstance(e, Retrying)]
    assert (retrying.error_kind, retrying.restarted) == ("stream_interrupted", False)
    assert finished(events).success


def test_a_stream_that_ends_without_its_closing_event_is_interrupted(
        provider_env: LoopbackServer) -> None:
    cut = openai_stream("half a reply")[:-1]  # no [DONE]
    provider_env.queue("openai", Reply(events=cut))
    done = finished(stream_step(MODELS["openai"]))
    st = done.trace.step("answer")
    assert (st.status, st.error_kind) == ("failed", "stream_interrupted")


def test_an_anthropic_error_event_mid_stream_is_its_kind_and_retried(
        provider_env: LoopbackServer) -> None:
    events = anthropic_stream("this reply is overloaded halfway")
    provider_env.queue("anthropic", Reply(events=[*events[:5], anthropic_stream_error()]))
    result = stream_step(MODELS["anthropic"], retries=1)
    (retrying,) = [e for e in result if isinstance(e, Retrying)]
    assert (retrying.error_kind, retrying.restarted) == ("overloaded", True)
    assert finished(result).success


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_an_idle_gap_longer_than_the_timeout_fails_the_attempt(
        provider: str, provider_env: LoopbackServer) -> None:
    provider_env.queue(provider, Reply(stall_after=5))  # some text, then silence for good
    events = stream_step(MODELS[provider], timeout=1.0)
    st = finished(events).trace.step("answer")
    assert (st.status, st.error_kind) == ("failed", "timeout")
    assert any(isinstance(e, TextDelta) for e in events)  # it stalled mid-stream


def test_no_first_byte_within_the_timeout_fails_the_attempt(
        provider_env: LoopbackServer) -> None:
    provider_env.queue("openai", Reply(stall=True))
    done = finished(stream_step(MODELS["openai"], timeout=0.3))
    st = done.trace.step("answer")
    assert (st.status, st.error_kind) == ("failed", "timeout")
    assert st.ttft_ms is None


def test_an_error_status_is_mapped_as_for_a_plain_call(provider_env: LoopbackServer) -> None:
    provider_env.queue("openai", Reply(429, {"error": {"message": "slow down", "type": "x"}},
                                       {"retry-after": "0"}))
    events = stream_step(MODELS["openai"], retries=1)
    (retrying,) = [e for e in events if isinstance(e, Retrying)]
    assert (retrying.error_kind, retrying.restarted) == ("rate_limit", False)
    assert finished(events).success


def test_a_fallback_after_partial_text_says_it_restarts(provider_env: LoopbackServer) -> None:
    provider_env.always("openai", Reply(break_after=4))
    events = stream_step(MODELS["openai"], fallback=(MODELS["gemini"],))
    (used,) = [e for e in events if isinstance(e, FallbackUsed)]
    assert (used.from_model, used.to_model, used.restarted) == (
        MODELS["openai"], MODELS["gemini"], True)
    done = finished(events)
    assert done.outputs["answer"].startswith("[gemini]")
    assert text_of_after_fallback(events) == done.outputs["answer"]


def text_of_after_fallback(events: list[Event]) -> str:
    start = max(i for i, e in enumerate(events) if isinstance(e, FallbackUsed))
    return "".join(e.text for e in events[start:] if isinstance(e, TextDelta))


def test_a_gemini_prompt_blocked_in_the_stream_is_blocked_and_not_retried(
        provider_env: LoopbackServer) -> None:
    provider_env.queue("gemini", Reply(events=[(None, gemini_blocked())]))
    events = stream_step(MODELS["gemini"], retries=2)
    st = finished(events).trace.step("answer")
    assert (st.status, st.error_kind, len(st.attempts)) == ("failed", "blocked", 1)


def test_an_openai_error_object_mid_stream_is_interrupted_and_retried(
        provider_env: LoopbackServer) -> None:
    events = openai_stream("some text before the error")
    error = openai_error("The server had an error", "server_error")
    provider_env.queue("openai", Reply(events=[*events[:4], (None, error)]))
    result = stream_step(MODELS["openai"], retries=1)
    (retrying,) = [e for e in result if isinstance(e, Retrying)]
    assert (retrying.error_kind, retrying.restarted) == ("stream_interrupted", True)
    assert finished(result).success
