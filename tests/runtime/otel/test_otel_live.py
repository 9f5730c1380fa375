"""Live spans: open while their part of the run runs, current during the model call (so an
instrumented HTTP client's spans nest under the chat span), with what the reply says."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from mmoc_runtime import LlmStep, PipelineSpec, ProviderRegistry, execute
from mmoc_runtime.otel import OtelObserver
from mmoc_runtime.providers.base import LlmRequest, LlmResponse
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from support.loopback import OPENAI_KEY, LoopbackServer


class Recorder(SpanProcessor):
    """Every span as it starts and as it ends."""

    def __init__(self) -> None:
        self.started: list[Span] = []
        self.ended: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.started.append(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def recording_provider() -> tuple[Recorder, TracerProvider]:
    recorder = Recorder()
    provider = TracerProvider()
    provider.add_span_processor(recorder)
    return recorder, provider


class HangingProvider:
    """Answers only when released; meanwhile it opens a span of its own, as an instrumented
    HTTP client would, in whatever context the runtime calls it in."""

    name = "hang"

    def __init__(self, tracer: otel_trace.Tracer) -> None:
        self.tracer = tracer
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def complete(self, request: LlmRequest) -> LlmResponse:
        with self.tracer.start_as_current_span("POST /chat"):
            self.entered.set()
            await self.release.wait()
        return LlmResponse("ok", 3, 2, finish_reason="length", model="m-2026",
                           response_id="resp-1")

    async def aclose(self) -> None:
        return None


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_a_hung_call_is_open_spans_and_the_http_span_nests_under_its_chat_span() -> None:
    recorder, tracer_provider = recording_provider()
    hanging = HangingProvider(tracer_provider.get_tracer("http"))
    registry = ProviderRegistry()
    registry.register("hang", hanging)
    spec = PipelineSpec("p", steps=(LlmStep("ask", "hang/m", "hi", "answer", max_tokens=9),))

    async def scenario() -> None:
        run = asyncio.create_task(execute(spec, {}, providers=registry,
                                          observer=OtelObserver(tracer_provider=tracer_provider)))
        await asyncio.wait_for(hanging.entered.wait(), timeout=60)
        # While the call hangs: the run, its step and the chat span are open, none ended.
        assert [s.name for s in recorder.started] == [
            "invoke_workflow p", "step ask", "chat m", "POST /chat"]
        assert recorder.ended == []
        root, step, chat, http = recorder.started
        assert parent_of(step) == root.context.span_id
        assert parent_of(chat) == step.context.span_id
        assert parent_of(http) == chat.context.span_id
        hanging.release.set()
        result = await run
        assert result.success, result.error
        # Nothing of the run stays current once it is over.
        assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN

    asyncio.run(scenario())
    ended = {span.name: span for span in recorder.ended}
    assert list(ended) == ["POST /chat", "chat m", "step ask", "invoke_workflow p"]
    attributes = dict(ended["chat m"].attributes or {})
    assert attributes["gen_ai.response.model"] == "m-2026"  # from the reply, not the request
    assert attributes["gen_ai.request.model"] == "m"
    assert attributes["gen_ai.response.id"] == "resp-1"
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert attributes["gen_ai.request.max_tokens"] == 9
    assert "gen_ai.request.temperature" not in attributes  # the step set none
    assert "server.address" not in attributes  # this provider has no URL


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    yield server
    server.stop()


def test_a_call_over_http_reports_server_request_and_response(loopback: LoopbackServer) -> None:
    recorder, tracer_provider = recording_provider()
    spec = PipelineSpec("p", steps=(LlmStep("ask", "openai/gpt-4o-mini", "hi", "answer",
                                            temperature=0.3, max_tokens=20, stop=("END",)),))
    result = asyncio.run(execute(spec, {}, observer=OtelObserver(tracer_provider=tracer_provider)))
    assert result.success, result.error
    chat = next(s for s in recorder.ended if s.name == "chat gpt-4o-mini")
    attributes = dict(chat.attributes or {})
    port = int(loopback.url.rsplit(":", 1)[1])
    assert {k: attributes[k] for k in (
        "gen_ai.provider.name", "server.address", "server.port", "gen_ai.request.temperature",
        "gen_ai.request.max_tokens", "gen_ai.request.stop_sequences", "gen_ai.response.id",
        "gen_ai.response.model", "gen_ai.response.finish_reasons", "gen_ai.usage.input_tokens",
    )} == {
        "gen_ai.provider.name": "openai", "server.address": "127.0.0.1", "server.port": port,
        "gen_ai.request.temperature": 0.3, "gen_ai.request.max_tokens": 20,
        "gen_ai.request.stop_sequences": ("END",), "gen_ai.response.id": "chatcmpl-loopback",
        "gen_ai.response.model": "gpt-4o-mini", "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1,
    }


def test_concurrent_runs_sharing_one_observer_keep_their_own_trees() -> None:
    recorder, tracer_provider = recording_provider()
    observer = OtelObserver(tracer_provider=tracer_provider)
    specs = [PipelineSpec(name, steps=(LlmStep("a", "mock/x?latency_ms=5", "hi", "a"),
                                       LlmStep("b", "mock/y", "{a}", "b")))
             for name in ("one", "two")]

    async def both() -> None:
        results = await asyncio.gather(*(execute(spec, {}, mock=True, observer=observer)
                                         for spec in specs))
        assert all(result.success for result in results)

    asyncio.run(both())
    spans = recorder.ended
    for name in ("one", "two"):
        root = next(s for s in spans if s.name == f"invoke_workflow {name}")
        steps = [s for s in spans if s.name.startswith("step ")
                 and parent_of(s) == root.context.span_id]
        assert sorted(s.name for s in steps) == ["step a", "step b"]
        for step in steps:
            (chat,) = [s for s in spans if parent_of(s) == step.context.span_id]
            assert chat.context.trace_id == root.context.trace_id
    assert len(spans) == 2 * (1 + 2 + 2)
