"""OpenTelemetry export of a run's trace, following the GenAI semantic conventions.

Needs the `otel` extra (`pip install "mmoc[otel]"`): this module is the only place in the
runtime that imports opentelemetry, and `import mmoc_runtime` never imports it.

One finished `Trace` becomes a span tree, built after the run from the trace's own timings:

    invoke_workflow <pipeline>          gen_ai.operation.name=invoke_workflow
      step <name>                       one per step (a group's members under the group)
        chat <model>                    one per attempt: gen_ai.operation.name=chat, CLIENT

Spans are created after the fact (at `on_run_end`) rather than live, so a run that is traced
costs nothing extra while it runs and the exported tree always matches the JSON trace. Prompt
and output text are exported only when the trace captured them (`capture_content=True`), as the
conventions' opt-in `gen_ai.system_instructions` / `gen_ai.input.messages` /
`gen_ai.output.messages` attributes (JSON strings) on the chat spans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

try:
    from opentelemetry import trace as otel_trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "mmoc_runtime.otel needs OpenTelemetry: install it with pip install \"mmoc[otel]\""
    ) from exc

from .abi import RUNTIME_VERSION
from .catalog import parse_model_id
from .errors import MmocRuntimeError
from .observer import PipelineObserver
from .trace import FAILED, SUCCESS, AttemptTrace, StepTrace, Trace

INSTRUMENTATION_NAME = "mmoc_runtime"

# Our provider names -> the GenAI conventions' `gen_ai.provider.name` well-known values.
# Anything else (ollama, mock, a named OpenAI-compatible endpoint) is exported as written.
_PROVIDER_NAMES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
}


def export_trace(trace: Trace, tracer: Tracer | None = None) -> Span:
    """Emit `trace` as a finished span tree on `tracer` (default: the global tracer provider's
    `mmoc_runtime` tracer) and return the root span (already ended)."""
    if tracer is None:
        tracer = otel_trace.get_tracer(INSTRUMENTATION_NAME, RUNTIME_VERSION)
    run_start = _epoch_ns(trace.started_at)
    run_end = run_start + _ns(trace.latency_ms)
    root = tracer.start_span(
        f"invoke_workflow {trace.pipeline}",
        kind=SpanKind.INTERNAL,
        start_time=run_start,
        attributes=_drop_none({
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": trace.pipeline,
            "gen_ai.usage.input_tokens": trace.total_input_tokens,
            "gen_ai.usage.output_tokens": trace.total_output_tokens,
            "mmoc.run_id": trace.run_id,
            "mmoc.pipeline.version": trace.version,
            "mmoc.mock": trace.mock,
            "mmoc.status": trace.status,
            "mmoc.cost_usd": trace.total_cost_usd,
            "mmoc.cost_estimated": trace.cost_estimated,
            "mmoc.failed_step": trace.failed_step,
        }),
    )
    if trace.status == FAILED:
        failed = _find(trace.steps, trace.failed_step)
        root.set_attribute("error.type", (failed and failed.error_kind) or "error")
        root.set_status(Status(StatusCode.ERROR, trace.error))
    # A group's entry precedes its members (docs/trace.md), so its span exists by then.
    group_spans: dict[str, Span] = {}
    for step in trace.steps:
        parent = group_spans.get(step.group, root) if step.group else root
        span = _export_step(tracer, trace, step, parent, run_start, run_end)
        if step.kind == "group":
            group_spans[step.name] = span
    root.end(end_time=run_end)
    return root


class OtelObserver(PipelineObserver):
    """An observer that exports every finished run with `export_trace`. Pass a `tracer`, or a
    `tracer_provider` to take the `mmoc_runtime` tracer from; neither: the global provider."""

    def __init__(self, tracer: Tracer | None = None, *,
                 tracer_provider: otel_trace.TracerProvider | None = None) -> None:
        super().__init__()
        if tracer is None and tracer_provider is not None:
            tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, RUNTIME_VERSION)
        self.tracer = tracer

    def on_run_end(self, trace: Trace) -> None:
        export_trace(trace, self.tracer)


# -- steps and attempts ----------------------------------------------------------------------


def _export_step(tracer: Tracer, trace: Trace, step: StepTrace, parent: Span,
                 run_start: int, run_end: int) -> Span:
    # A step that never ran (skipped, not run) has no start: a zero-length span at the run's
    # start keeps it visible, with its reason, without inventing a duration.
    start = run_start + _ns(step.start_ms) if step.start_ms is not None else run_start
    end = min(start + _ns(step.latency_ms), max(run_end, start))
    span = tracer.start_span(
        f"step {step.name}",
        context=otel_trace.set_span_in_context(parent),
        kind=SpanKind.INTERNAL,
        start_time=start,
        attributes=_drop_none({
            "mmoc.step.name": step.name,
            "mmoc.step.kind": step.kind,
            "mmoc.step.status": step.status,
            "mmoc.step.group": step.group,
            "mmoc.step.when": step.when,
            "mmoc.step.skip_reason": step.skip_reason,
            "mmoc.step.retries": step.retries if step.kind == "llm" else None,
            "mmoc.step.fallback_used": step.fallback_used if step.kind == "llm" else None,
            "gen_ai.request.model": _model_name(step.model),
            "gen_ai.response.model": _model_name(step.model_used),
            "gen_ai.usage.input_tokens": step.input_tokens if step.kind == "llm" else None,
            "gen_ai.usage.output_tokens": step.output_tokens if step.kind == "llm" else None,
            "mmoc.cost_usd": step.cost_usd if step.kind == "llm" else None,
        }),
    )
    if step.status == FAILED:
        span.set_attribute("error.type", step.error_kind or "error")
        span.set_status(Status(StatusCode.ERROR, step.error))
    elif step.status == SUCCESS:
        span.set_status(Status(StatusCode.OK))
    # Attempts carry no start of their own: they run back to back within the step, each
    # after its backoff wait, so their times follow from the waits and latencies.
    cursor = start
    last = len(step.attempts) - 1
    for index, attempt in enumerate(step.attempts):
        cursor += _ns(attempt.wait_before_ms)
        attempt_end = cursor + _ns(attempt.latency_ms)
        _export_attempt(tracer, trace, step, attempt, span, cursor, attempt_end,
                        answered=(index == last and attempt.status == SUCCESS))
        cursor = attempt_end
    span.end(end_time=end)
    return span


def _export_attempt(tracer: Tracer, trace: Trace, step: StepTrace, attempt: AttemptTrace,
                    parent: Span, start: int, end: int, *, answered: bool) -> None:
    name = _model_name(attempt.model) or attempt.model
    span = tracer.start_span(
        f"chat {name}",
        context=otel_trace.set_span_in_context(parent),
        kind=SpanKind.CLIENT,
        start_time=start,
        attributes=_drop_none({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "mock" if trace.mock else _provider_name(attempt.model),
            "gen_ai.request.model": name,
            "mmoc.attempt.number": attempt.number,
            "mmoc.attempt.status": attempt.status,
            "mmoc.attempt.wait_before_ms": attempt.wait_before_ms,
        }),
    )
    if attempt.status == SUCCESS:
        span.set_attribute("gen_ai.response.model", name)
        span.set_attribute("gen_ai.usage.input_tokens", attempt.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", attempt.output_tokens)
        if attempt.cached_input_tokens:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens",
                               attempt.cached_input_tokens)
    else:
        # `rejected`: the breaker was open and no call was made; still an error for the step.
        span.set_attribute("error.type", attempt.error_kind or "error")
        span.set_status(Status(StatusCode.ERROR, attempt.error))
    _set_content(span, step, answered=answered)
    span.end(end_time=end)


def _set_content(span: Span, step: StepTrace, *, answered: bool) -> None:
    """Captured content (present only with `capture_content=True`, already scrubbed of keys):
    every attempt sent the same prompt; only the answering attempt has the output."""
    if step.system is not None:
        span.set_attribute("gen_ai.system_instructions",
                           _json([{"type": "text", "content": step.system}]))
    if step.prompt is not None:
        span.set_attribute("gen_ai.input.messages", _json(
            [{"role": "user", "parts": [{"type": "text", "content": step.prompt}]}]))
    if answered and step.output is not None:
        output = step.output
        part = ({"type": "text", "content": output} if isinstance(output, str)
                else {"type": "json", "content": output})
        span.set_attribute("gen_ai.output.messages", _json(
            [{"role": "assistant", "parts": [part], "finish_reason": "stop"}]))


# -- helpers ---------------------------------------------------------------------------------


def _ns(ms: float) -> int:
    return round(ms * 1_000_000)


def _epoch_ns(iso: str | None) -> int:
    """The trace's `started_at` (ISO 8601 UTC, milliseconds) as epoch nanoseconds."""
    if not iso:
        raise ValueError("the trace has no started_at: export a trace of a finished run")
    stamp = datetime.fromisoformat(iso)  # 3.11 reads the trailing Z
    return round(stamp.timestamp() * 1000) * 1_000_000


def _model_name(model: str | None) -> str | None:
    """`gpt-4o` from `openai/gpt-4o?temperature=0`; the id as written if it does not parse."""
    if model is None:
        return None
    try:
        return parse_model_id(model).name
    except MmocRuntimeError:
        return model.partition("?")[0]


def _provider_name(model: str) -> str | None:
    try:
        provider = parse_model_id(model).provider
    except MmocRuntimeError:
        return None
    return _PROVIDER_NAMES.get(provider, provider)


def _find(steps: Iterable[StepTrace], name: str | None) -> StepTrace | None:
    return next((s for s in steps if s.name == name), None)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _drop_none(attributes: dict[str, Any]) -> dict[str, Any]:
    # OpenTelemetry rejects None attribute values (with a warning): leave them out.
    return {k: v for k, v in attributes.items() if v is not None}
