"""OpenTelemetry: a mock run with a retry and a fallback becomes the documented span tree, live
(`OtelObserver`) and after the fact (`export_trace`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from mmoc_runtime import (
    InputSpec,
    LlmStep,
    MockProvider,
    ParallelGroup,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    TransformStep,
    execute_sync,
)
from mmoc_runtime.otel import OtelObserver, export_trace
from mmoc_runtime.trace import AttemptTrace, StepTrace, Trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

EPOCH = 1_700_000_000.0  # the run's start, injected: span times are exact
EPOCH_NS = 1_700_000_000 * 10**9
MS = 1_000_000  # ns


class FakeTime:
    """A clock that moves only when something sleeps (backoff waits and mock latency)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def exporter_and_provider() -> tuple[InMemorySpanExporter, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


def run_with_otel(spec: PipelineSpec, **options: Any,
                  ) -> tuple[Any, dict[str, ReadableSpan], list[ReadableSpan]]:
    """The result, the spans by name (the last of a name wins) and every span in order."""
    fake = FakeTime()
    registry = ProviderRegistry()
    registry.register("mock", MockProvider(sleep=fake.sleep))
    exporter, provider = exporter_and_provider()
    result = execute_sync(spec, {"topic": "bees"}, providers=registry, sleep=fake.sleep,
                          clock=fake.clock, now=EPOCH,
                          observer=OtelObserver(tracer_provider=provider), **options)
    spans = exporter.get_finished_spans()
    by_name = {span.name: span for span in spans}
    return result, by_name, list(spans)


PRIMARY = "mock/primary?fail=always&error=server_error&latency_ms=10"
BACKUP = "mock/backup?latency_ms=30"


def retry_and_fallback_spec() -> PipelineSpec:
    return PipelineSpec("brief", version="2.1", inputs=(InputSpec("topic"),), steps=(
        LlmStep("draft", PRIMARY, "Write about {topic}", "draft", system="Be brief.",
                retry=RetryStrategy(max_retries=1, base_delay_seconds=1), fallback=(BACKUP,)),
        TransformStep("shout", lambda draft: draft.upper(), "loud", reads=("draft",)),
    ))


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(event.attributes or {}) for event in span.events if event.name == "mmoc.attempt"]


def test_retry_and_fallback_become_a_run_a_step_and_a_chat_span_per_model() -> None:
    result, spans, every = run_with_otel(retry_and_fallback_spec())
    assert result.success, result.error
    assert len(every) == 1 + 2 + 2  # the run, two steps, one chat span per model
    root = spans["invoke_workflow brief"]
    draft, shout = spans["step draft"], spans["step shout"]
    assert root.parent is None
    assert parent_of(draft) == parent_of(shout) == root.context.span_id
    primary, backup = spans["chat primary"], spans["chat backup"]
    assert parent_of(primary) == parent_of(backup) == draft.context.span_id
    assert [e["mmoc.attempt.number"] for e in events(primary)] == [1, 2]
    assert [e["mmoc.attempt.number"] for e in events(backup)] == [3]
    assert {s.context.trace_id for s in spans.values()} == {root.context.trace_id}

    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "brief"
    assert root.attributes["mmoc.pipeline.version"] == "2.1"
    assert root.attributes["mmoc.run_id"] == result.trace.run_id
    assert root.status.status_code is StatusCode.UNSET
    assert draft.status.status_code is StatusCode.OK
    assert draft.attributes is not None
    assert draft.attributes["mmoc.step.retries"] == 1
    assert draft.attributes["mmoc.step.fallback_used"] is True
    assert draft.attributes["mmoc.step.model"] == "primary"
    assert draft.attributes["mmoc.step.model_used"] == "backup"
    assert shout.attributes is not None and shout.attributes["mmoc.step.kind"] == "transform"
    assert "mmoc.step.model" not in shout.attributes


def test_chat_spans_carry_the_gen_ai_attributes_and_errors() -> None:
    _, spans, every = run_with_otel(retry_and_fallback_spec())
    backup = spans["chat backup"]
    assert backup.kind is SpanKind.CLIENT
    assert backup.attributes is not None
    usage = {k: backup.attributes[k]
             for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")}
    assert dict(backup.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mock",
        "gen_ai.request.model": "backup",
        "gen_ai.response.model": "mock/backup",  # as the reply names it
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.output.type": "text",
        "mmoc.attempts": 1,
        **usage,
    }
    assert all(isinstance(v, int) and v > 0 for v in usage.values())
    assert backup.status.status_code is StatusCode.UNSET
    (answer,) = events(backup)
    assert answer["mmoc.attempt.status"] == "success" and "error.type" not in answer
    # The primary model's two failed attempts: one span, an event each, and the last
    # attempt's error as the span's.
    primary = spans["chat primary"]
    assert primary.attributes is not None
    assert primary.attributes["error.type"] == "server_error"
    assert primary.attributes["mmoc.attempts"] == 2
    assert "gen_ai.response.model" not in primary.attributes
    assert "gen_ai.usage.input_tokens" not in primary.attributes
    assert primary.status.status_code is StatusCode.ERROR
    assert "simulated server_error" in (primary.status.description or "")
    assert [(e["mmoc.attempt.wait_before_ms"], e["error.type"]) for e in events(primary)] == [
        (0.0, "server_error"), (1000.0, "server_error")]
    # No content was captured: none is exported.
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output.messages", "gen_ai.system_"))
                   for s in every for k in (s.attributes or {}))


def test_span_times_come_from_the_trace() -> None:
    exporter, provider = exporter_and_provider()
    fake = FakeTime()
    registry = ProviderRegistry()
    registry.register("mock", MockProvider(sleep=fake.sleep))
    result = execute_sync(retry_and_fallback_spec(), {"topic": "bees"}, providers=registry,
                          sleep=fake.sleep, clock=fake.clock, now=EPOCH)
    root = export_trace(result.trace, provider.get_tracer("test"))
    spans = exporter.get_finished_spans()
    chats = sorted((s for s in spans if s.name.startswith("chat ")),
                   key=lambda s: s.start_time or 0)
    assert root.is_recording() is False  # handed back ended
    run = next(s for s in spans if s.parent is None)
    assert run.start_time == EPOCH_NS
    # 10 ms call, 1 s backoff, 10 ms call, 30 ms fallback call: 1050 ms in all.
    assert run.end_time == EPOCH_NS + 1050 * MS
    assert [(s.name, s.start_time, s.end_time) for s in chats] == [
        ("chat primary", EPOCH_NS, EPOCH_NS + 1020 * MS),
        ("chat backup", EPOCH_NS + 1020 * MS, EPOCH_NS + 1050 * MS),
    ]
    # Each attempt's event is stamped when it ended.
    assert [(e.attributes or {})["mmoc.attempt.number"] for e in chats[0].events] == [1, 2]
    assert [e.timestamp for c in chats for e in c.events] == [
        EPOCH_NS + 10 * MS, EPOCH_NS + 1020 * MS, EPOCH_NS + 1050 * MS]
    draft = next(s for s in spans if s.name == "step draft")
    assert (draft.start_time, draft.end_time) == (EPOCH_NS, EPOCH_NS + 1050 * MS)


def test_a_failed_run_marks_the_run_and_the_step_and_shows_what_did_not_run() -> None:
    spec = PipelineSpec("doomed", inputs=(InputSpec("topic"),), steps=(
        LlmStep("ask", "mock/x?fail=always&error=rate_limit", "{topic}", "answer"),
        TransformStep("after", lambda answer: answer, "done", reads=("answer",)),
    ))
    result, spans, _ = run_with_otel(spec)
    assert not result.success
    root, ask, after = spans["invoke_workflow doomed"], spans["step ask"], spans["step after"]
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == result.error
    assert root.attributes is not None and root.attributes["error.type"] == "rate_limit"
    assert root.attributes["mmoc.failed_step"] == "ask"
    assert ask.status.status_code is StatusCode.ERROR
    assert ask.attributes is not None and ask.attributes["error.type"] == "rate_limit"
    assert spans["chat x"].status.status_code is StatusCode.ERROR
    # The dependant never ran: a zero-length span, with its reason.
    assert after.attributes is not None
    assert after.attributes["mmoc.step.status"] == "not_run"
    assert after.attributes["mmoc.step.skip_reason"] == "dependency 'ask' failed"
    assert after.start_time == after.end_time
    assert after.status.status_code is StatusCode.UNSET


def test_group_members_are_children_of_the_group_span() -> None:
    spec = PipelineSpec("fan", inputs=(InputSpec("topic"),), steps=(
        ParallelGroup("both", (LlmStep("a", "mock/a", "A {topic}", "a"),
                               LlmStep("b", "mock/b", "B {topic}", "b"))),
        TransformStep("skipped", lambda: 1, "s", when=lambda v: False, when_text="never"),
    ))
    result, spans, _ = run_with_otel(spec)
    assert result.success, result.error
    group = spans["step both"]
    assert parent_of(group) == spans["invoke_workflow fan"].context.span_id
    assert parent_of(spans["step a"]) == parent_of(spans["step b"]) == group.context.span_id
    assert parent_of(spans["chat a"]) == spans["step a"].context.span_id
    assert group.attributes is not None and group.attributes["mmoc.step.kind"] == "group"
    skipped = spans["step skipped"].attributes
    assert skipped is not None and skipped["mmoc.step.status"] == "skipped"
    assert skipped["mmoc.step.when"] == "never"


def test_captured_content_is_exported_as_gen_ai_messages_only_when_captured() -> None:
    _, spans, _ = run_with_otel(retry_and_fallback_spec(), capture_content=True)
    backup = spans["chat backup"].attributes
    primary = spans["chat primary"].attributes
    assert backup is not None and primary is not None
    messages = json.loads(str(backup["gen_ai.input.messages"]))
    assert messages == [{"role": "user",
                         "parts": [{"type": "text", "content": "Write about bees"}]}]
    assert json.loads(str(backup["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}]
    output = json.loads(str(backup["gen_ai.output.messages"]))
    assert output[0]["role"] == "assistant"
    assert output[0]["parts"][0]["content"] == "[mock/backup] Write about bees"
    # A failed attempt sent the same prompt but produced no output.
    assert "gen_ai.input.messages" in primary and "gen_ai.output.messages" not in primary


def hand_built_trace(model: str) -> Trace:
    trace = Trace("r1", "hand")
    trace.started_at, trace.latency_ms, trace.status = "2025-11-26T01:02:03.456Z", 5.0, "success"
    step = StepTrace("s", "llm", model=model, status="success")
    step.start_ms, step.latency_ms, step.model_used = 1.0, 4.0, model
    attempt = AttemptTrace(1, model)
    attempt.status, attempt.latency_ms, attempt.input_tokens = "success", 4.0, 7
    attempt.cached_input_tokens = 3
    step.attempts.append(attempt)
    trace.steps.append(step)
    return trace


@pytest.mark.parametrize(("model", "provider", "name"), [
    ("openai/gpt-4o?temperature=0", "openai", "gpt-4o"),
    ("gemini-2.5-flash", "gcp.gemini", "gemini-2.5-flash"),
    ("claude-sonnet-4", "anthropic", "claude-sonnet-4"),
    ("ollama/llama3", "ollama", "llama3"),
    ("local_vllm/qwen", "local_vllm", "qwen"),
])
def test_provider_names_follow_the_conventions(model: str, provider: str, name: str) -> None:
    exporter, tracer_provider = exporter_and_provider()
    export_trace(hand_built_trace(model), tracer_provider.get_tracer("test"))
    chat = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat "))
    assert chat.name == f"chat {name}"
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.provider.name"] == provider
    assert chat.attributes["gen_ai.request.model"] == name
    assert chat.attributes["gen_ai.usage.cache_read.input_tokens"] == 3
    started = 1764118923456 * MS  # 2025-11-26T01:02:03.456Z
    assert (chat.start_time, chat.end_time) == (started + 1 * MS, started + 5 * MS)


def test_a_trace_without_a_start_is_refused_clearly() -> None:
    _, tracer_provider = exporter_and_provider()
    with pytest.raises(ValueError, match="no started_at"):
        export_trace(Trace("r", "p"), tracer_provider.get_tracer("test"))
