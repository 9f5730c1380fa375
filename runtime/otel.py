"""OpenTelemetry spans of a run, live, following the GenAI semantic conventions.

Needs the `otel` extra (`pip install "mmoc[otel]"`): this module is the only place in the
runtime that imports opentelemetry, and `import mmoc_runtime` never imports it.

`OtelObserver` opens each span when its part of the run starts and ends it when that part
ends, and makes it the current span meanwhile, so spans of instrumented libraries (httpx,
...) made during a model call nest under it, and a hung step is an open span while it hangs:

    invoke_workflow <pipeline>          gen_ai.operation.name=invoke_workflow, one per run
      step <name>                       one per step (a group's members under the group)
        chat <model>                    CLIENT, one per model the step calls: covers its
                                        retries, each attempt an `mmoc.attempt` event

A step that falls back to another model has one `chat` span per model, in order. Prompt and
output text are exported only when the run captures them (`capture_content=True`), as the
conventions' opt-in `gen_ai.system_instructions` / `gen_ai.input.messages` /
`gen_ai.output.messages` attributes (JSON strings) on the chat spans.

`export_trace` builds the same tree after the fact from a finished `Trace` (a stored one, say),
with times taken from the trace; it lacks what only a live run sees (the reply's id, model and
finish reason, the request's settings and server). `otlp_observer` sets up export over
OTLP/HTTP for `mmoc run --otel` and a generated module's `--otel`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from datetime import datetime
from itertools import groupby
from typing import Any
from urllib.parse import urlsplit

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace as otel_trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "mmoc_runtime.otel needs OpenTelemetry: install it with pip install \"mmoc[otel]\""
    ) from exc

from .abi import RUNTIME_VERSION
from .catalog import parse_model_id
from .errors import MmocRuntimeError
from .observer import LlmCall, PipelineObserver
from .trace import FAILED, SUCCESS, AttemptTrace, StepTrace, Trace

INSTRUMENTATION_NAME = "mmoc_runtime"
OTLP_INSTALL_HINT = (
    "OTLP export needs the OpenTelemetry exporter: install it with pip install \"mmoc[otel]\" "
    "(or pip install opentelemetry-exporter-otlp-proto-http)"
)
ATTEMPT_EVENT = "mmoc.attempt"

# Our provider names -> the GenAI conventions' `gen_ai.provider.name` well-known values.
# Anything else (ollama, mock, a named OpenAI-compatible endpoint) is exported as written.
_PROVIDER_NAMES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


# -- attributes (live and after the fact alike) ----------------------------------------------


def run_start_attributes(trace: Trace) -> dict[str, Any]:
    return _drop_none({
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": trace.pipeline,
        "mmoc.run_id": trace.run_id,
        "mmoc.pipeline.version": trace.version,
        "mmoc.mock": trace.mock,
    })


def _end_run(root: Span, trace: Trace) -> None:
    root.set_attributes(_drop_none({
        "gen_ai.usage.input_tokens": trace.total_input_tokens,
        "gen_ai.usage.output_tokens": trace.total_output_tokens,
        "mmoc.status": trace.status,
        "mmoc.cost_usd": trace.total_cost_usd,
        "mmoc.cost_estimated": trace.cost_estimated,
        "mmoc.failed_step": trace.failed_step,
    }))
    if trace.status == FAILED:
        failed = _find(trace.steps, trace.failed_step)
        root.set_attribute("error.type", (failed and failed.error_kind) or "error")
        root.set_status(Status(StatusCode.ERROR, trace.error))


def step_start_attributes(step: StepTrace) -> dict[str, Any]:
    return _drop_none({
        "mmoc.step.name": step.name,
        "mmoc.step.kind": step.kind,
        "mmoc.step.group": step.group,
        "mmoc.step.model": _model_name(step.model),
    })


def _end_step(span: Span, step: StepTrace) -> None:
    llm = step.kind == "llm"
    span.set_attributes(_drop_none({
        "mmoc.step.status": step.status,
        "mmoc.step.when": step.when,
        "mmoc.step.skip_reason": step.skip_reason,
        "mmoc.step.retries": step.retries if llm else None,
        "mmoc.step.fallback_used": step.fallback_used if llm else None,
        "mmoc.step.model_used": _model_name(step.model_used),
        "gen_ai.usage.input_tokens": step.input_tokens if llm else None,
        "gen_ai.usage.output_tokens": step.output_tokens if llm else None,
        "mmoc.cost_usd": step.cost_usd if llm else None,
    }))
    if step.status == FAILED:
        span.set_attribute("error.type", step.error_kind or "error")
        span.set_status(Status(StatusCode.ERROR, step.error))
    elif step.status == SUCCESS:
        span.set_status(Status(StatusCode.OK))


def chat_start_attributes(model: str, mock: bool) -> dict[str, Any]:
    return _drop_none({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mock" if mock else _provider_name(model),
        "gen_ai.request.model": _model_name(model) or model,
    })


def attempt_event_attributes(attempt: AttemptTrace) -> dict[str, Any]:
    replied = attempt.input_tokens or attempt.output_tokens
    return _drop_none({
        "mmoc.attempt.number": attempt.number,
        "mmoc.attempt.status": attempt.status,
        "mmoc.attempt.wait_before_ms": attempt.wait_before_ms,
        "mmoc.attempt.latency_ms": attempt.latency_ms,
        "error.type": attempt.error_kind if attempt.status != SUCCESS else None,
        "mmoc.attempt.error": attempt.error if attempt.status != SUCCESS else None,
        "gen_ai.usage.input_tokens": attempt.input_tokens if replied else None,
        "gen_ai.usage.output_tokens": attempt.output_tokens if replied else None,
    })


def call_attributes(call: LlmCall) -> dict[str, Any]:
    """What a live attempt adds to its chat span: the request's settings and server, and the
    reply's own account of itself (a model name from the reply, not the request's)."""
    request, response = call.request, call.response
    attributes: dict[str, Any] = {
        "gen_ai.request.temperature": request.temperature,
        "gen_ai.request.max_tokens": request.max_tokens,
        "gen_ai.request.stop_sequences": list(request.stop) if request.stop else None,
        "gen_ai.output.type": "json" if request.json_output else "text",
    }
    if call.server_url:
        parts = urlsplit(call.server_url)
        attributes["server.address"] = parts.hostname
        attributes["server.port"] = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    if response is not None:
        attributes["gen_ai.response.model"] = response.model
        attributes["gen_ai.response.id"] = response.response_id
        if response.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [response.finish_reason]
    return _drop_none(attributes)


def _end_chat(span: Span, step: StepTrace | None, attempts: list[AttemptTrace],
              finish_reason: str | None) -> None:
    """Usage over the model's attempts (a reply that failed the JSON check was billed too),
    and the outcome of its last attempt."""
    last = attempts[-1] if attempts else None
    span.set_attribute("mmoc.attempts", len(attempts))
    if any(a.input_tokens or a.output_tokens for a in attempts):
        span.set_attribute("gen_ai.usage.input_tokens", sum(a.input_tokens for a in attempts))
        span.set_attribute("gen_ai.usage.output_tokens", sum(a.output_tokens for a in attempts))
        cached = sum(a.cached_input_tokens for a in attempts)
        if cached:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", cached)
    answered = last is not None and last.status == SUCCESS
    if not answered:
        # `rejected`: the breaker was open and no call was made; still an error for the step.
        span.set_attribute("error.type", (last and last.error_kind) or "error")
        span.set_status(Status(StatusCode.ERROR, last.error if last else None))
    if step is not None:
        _set_content(span, step, answered=answered, finish_reason=finish_reason or "stop")


def _set_content(span: Span, step: StepTrace, *, answered: bool, finish_reason: str) -> None:
    """Captured content (present only with `capture_content=True`, already scrubbed of keys):
    every attempt sent the same prompt; only the model that answered has the output."""
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
            [{"role": "assistant", "parts": [part], "finish_reason": finish_reason}]))


# -- live spans ------------------------------------------------------------------------------


class _Chat:
    """The open `chat` span of one model of a step."""

    __slots__ = ("answered_ns", "attempts", "context", "finish_reason", "model", "span")

    def __init__(self, span: Span, model: str, context: otel_context.Context) -> None:
        self.span = span
        self.model = model
        self.context = context
        self.attempts: list[AttemptTrace] = []
        self.answered_ns: int | None = None  # when the answer came (the span ends there)
        self.finish_reason: str | None = None


class _Step:
    __slots__ = ("chat", "context", "outer", "span")

    def __init__(self, span: Span, context: otel_context.Context,
                 outer: otel_context.Context) -> None:
        self.span = span
        self.context = context  # current while the step runs
        self.outer = outer  # current before it started: restored when it ends
        self.chat: _Chat | None = None


class _Run:
    __slots__ = ("by_name", "outer", "root", "steps", "token", "trace")

    def __init__(self, trace: Trace, root: Span, outer: otel_context.Context) -> None:
        self.trace = trace
        self.root = root
        self.outer = outer
        self.by_name = {step.name: step for step in trace.steps}
        self.steps: dict[str, _Step] = {}
        self.token: Token[_Run | None] | None = None


# The run a callback belongs to. Set at the run's start in the task that runs it, so every
# step's task inherits it: one observer serves concurrent runs, each its own.
_CURRENT_RUN: ContextVar[_Run | None] = ContextVar("mmoc_otel_run", default=None)


class OtelObserver(PipelineObserver):
    """An observer that turns each run into live spans. Pass a `tracer`, or a
    `tracer_provider` to take the `mmoc_runtime` tracer from; neither: the global provider
    (the one instrumented libraries use, so their spans share the trace)."""

    def __init__(self, tracer: Tracer | None = None, *,
                 tracer_provider: otel_trace.TracerProvider | None = None) -> None:
        super().__init__()
        if tracer is None and tracer_provider is not None:
            tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, RUNTIME_VERSION)
        self.tracer = tracer

    def _tracer(self) -> Tracer:
        return self.tracer or otel_trace.get_tracer(INSTRUMENTATION_NAME, RUNTIME_VERSION)

    def on_run_start(self, trace: Trace) -> None:
        root = self._tracer().start_span(f"invoke_workflow {trace.pipeline}",
                                         kind=SpanKind.INTERNAL,
                                         attributes=run_start_attributes(trace))
        outer = otel_context.get_current()
        run = _Run(trace, root, outer)
        run.token = _CURRENT_RUN.set(run)
        otel_context.attach(otel_trace.set_span_in_context(root, outer))

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        run = _CURRENT_RUN.get()
        step = run.by_name.get(step_name) if run is not None else None
        if run is None or step is None:
            return
        outer = otel_context.get_current()
        span = self._tracer().start_span(
            f"step {step_name}", context=otel_trace.set_span_in_context(self._parent(run, step)),
            kind=SpanKind.INTERNAL, attributes=step_start_attributes(step))
        context = otel_trace.set_span_in_context(span, outer)
        run.steps[step_name] = _Step(span, context, outer)
        otel_context.attach(context)

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        run = _CURRENT_RUN.get()
        live = run.steps.get(step_name) if run is not None else None
        if run is None or live is None:
            return
        if live.chat is not None and live.chat.model != attempt.model:
            self._close_chat(run, step_name, live)  # a fallback: the next model's operation
        if live.chat is None:
            span = self._tracer().start_span(
                f"chat {_model_name(attempt.model) or attempt.model}",
                context=live.context, kind=SpanKind.CLIENT,
                attributes=chat_start_attributes(attempt.model, run.trace.mock))
            live.chat = _Chat(span, attempt.model,
                              otel_trace.set_span_in_context(span, live.context))
        otel_context.attach(live.chat.context)  # the call (and its HTTP spans) runs under it

    def on_attempt_end(self, step_name: str, attempt: AttemptTrace, call: LlmCall) -> None:
        run = _CURRENT_RUN.get()
        live = run.steps.get(step_name) if run is not None else None
        chat = live.chat if live is not None else None
        if live is None or chat is None:
            return
        chat.attempts.append(attempt)
        chat.span.set_attributes(call_attributes(call))
        chat.span.add_event(ATTEMPT_EVENT, attempt_event_attributes(attempt))
        if attempt.status == SUCCESS:
            chat.answered_ns = time.time_ns()
            chat.finish_reason = call.response.finish_reason if call.response else None
        if otel_trace.get_current_span() is chat.span:
            otel_context.attach(live.context)

    def on_step_end(self, step_trace: StepTrace) -> None:
        run = _CURRENT_RUN.get()
        if run is None:
            return
        live = run.steps.pop(step_trace.name, None)
        if live is None:  # it never started (skipped, not run): a zero-length span says why
            now = time.time_ns()
            span = self._tracer().start_span(
                f"step {step_trace.name}",
                context=otel_trace.set_span_in_context(self._parent(run, step_trace)),
                kind=SpanKind.INTERNAL, start_time=now,
                attributes=step_start_attributes(step_trace))
            _end_step(span, step_trace)
            span.end(end_time=now)
            return
        if live.chat is not None:
            self._close_chat(run, step_trace.name, live)
        _end_step(live.span, step_trace)
        live.span.end()
        if otel_trace.get_current_span() is live.span:
            otel_context.attach(live.outer)

    def on_run_end(self, trace: Trace) -> None:
        run = _CURRENT_RUN.get()
        if run is None or run.trace is not trace:
            return
        for name in list(run.steps):  # steps a crash left open
            self.on_step_end(run.by_name[name])
        _end_run(run.root, trace)
        run.root.end()
        if run.token is not None:
            try:
                _CURRENT_RUN.reset(run.token)
            except ValueError:  # ended in another context than it started: just forget it
                _CURRENT_RUN.set(None)
        if otel_trace.get_current_span() is run.root:
            otel_context.attach(run.outer)

    @staticmethod
    def _parent(run: _Run, step: StepTrace) -> Span:
        group = run.steps.get(step.group) if step.group else None
        return group.span if group is not None else run.root

    @staticmethod
    def _close_chat(run: _Run, step_name: str, live: _Step) -> None:
        chat, live.chat = live.chat, None
        if chat is None:
            return
        _end_chat(chat.span, run.by_name.get(step_name), chat.attempts, chat.finish_reason)
        chat.span.end(end_time=chat.answered_ns)
        if otel_trace.get_current_span() is chat.span:
            otel_context.attach(live.context)


# -- after the fact --------------------------------------------------------------------------


def export_trace(trace: Trace, tracer: Tracer | None = None) -> Span:
    """Emit a finished `trace` as the same span tree (times from the trace) on `tracer`
    (default: the global tracer provider's `mmoc_runtime` tracer); the root span, ended."""
    if tracer is None:
        tracer = otel_trace.get_tracer(INSTRUMENTATION_NAME, RUNTIME_VERSION)
    run_start = _epoch_ns(trace.started_at)
    run_end = run_start + _ns(trace.latency_ms)
    root = tracer.start_span(f"invoke_workflow {trace.pipeline}", kind=SpanKind.INTERNAL,
                             start_time=run_start, attributes=run_start_attributes(trace))
    _end_run(root, trace)
    # A group's entry precedes its members (docs/trace.md), so its span exists by then.
    group_spans: dict[str, Span] = {}
    for step in trace.steps:
        parent = group_spans.get(step.group, root) if step.group else root
        span = _export_step(tracer, trace, step, parent, run_start, run_end)
        if step.kind == "group":
            group_spans[step.name] = span
    root.end(end_time=run_end)
    return root


def _export_step(tracer: Tracer, trace: Trace, step: StepTrace, parent: Span,
                 run_start: int, run_end: int) -> Span:
    # A step that never ran (skipped, not run) has no start: a zero-length span at the run's
    # start keeps it visible, with its reason, without inventing a duration.
    start = run_start + _ns(step.start_ms) if step.start_ms is not None else run_start
    end = min(start + _ns(step.latency_ms), max(run_end, start))
    span = tracer.start_span(f"step {step.name}",
                             context=otel_trace.set_span_in_context(parent),
                             kind=SpanKind.INTERNAL, start_time=start,
                             attributes=step_start_attributes(step))
    _end_step(span, step)
    # Attempts carry no start of their own: they run back to back within the step, each
    # after its backoff wait, so their times follow from the waits and latencies.
    cursor = start
    for model, attempts in _by_model(step.attempts):
        chat = tracer.start_span(
            f"chat {_model_name(model) or model}",
            context=otel_trace.set_span_in_context(span), kind=SpanKind.CLIENT,
            start_time=cursor, attributes=chat_start_attributes(model, trace.mock))
        for attempt in attempts:
            cursor += _ns(attempt.wait_before_ms) + _ns(attempt.latency_ms)
            chat.add_event(ATTEMPT_EVENT, attempt_event_attributes(attempt), timestamp=cursor)
        _end_chat(chat, step, attempts, None)
        chat.end(end_time=cursor)
    span.end(end_time=end)
    return span


def _by_model(attempts: list[AttemptTrace]) -> Iterator[tuple[str, list[AttemptTrace]]]:
    """The step's model operations: each run of consecutive attempts on one model."""
    for model, group in groupby(attempts, key=lambda attempt: attempt.model):
        yield model, list(group)


# -- OTLP ------------------------------------------------------------------------------------


def otlp_observer() -> tuple[OtelObserver, Callable[[], None]]:
    """An observer whose spans go over OTLP/HTTP (to `OTEL_EXPORTER_OTLP_ENDPOINT`, or
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; default http://localhost:4318), and the function
    that flushes and shuts the export down (call it once the run is over).

    When the process already has a tracer provider (set up by the application or by
    `opentelemetry-instrument`), its setup wins: the observer uses it and adds no exporter.
    Otherwise a provider exporting to OTLP becomes the global one, so instrumented libraries'
    spans go the same way. `service.name` is `mmoc` unless `OTEL_SERVICE_NAME` says otherwise.
    Raises ImportError naming what to install when the exporter is missing."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ImportError(OTLP_INSTALL_HINT) from exc
    current = otel_trace.get_tracer_provider()
    if not isinstance(current, otel_trace.ProxyTracerProvider):
        return OtelObserver(), lambda: None
    defaults = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "mmoc"}
    provider = TracerProvider(resource=Resource.create(defaults))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    otel_trace.set_tracer_provider(provider)
    return OtelObserver(tracer_provider=provider), provider.shutdown


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
