"""`PipelineObserver` (seed name): receives a run's events and keeps its traces.

Subclass it and override the callbacks, pass callables (`PipelineObserver(on_step_end=fn)`), or
hand the executor any object with some of the callback methods (duck typing): the executor
looks each callback up once per run and skips the missing ones. The executor builds the trace
itself; the observer only watches. Callbacks run in the event loop, inline with the step they
describe: keep them quick. An exception raised by a callback is reported as a warning and never
fails the run.
"""

from __future__ import annotations

import json
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .providers.base import LlmRequest, LlmResponse
from .trace import FAILED, SKIPPED, SUCCESS, AttemptTrace, StepTrace, Trace, now_iso

CALLBACKS: tuple[str, ...] = (
    "on_run_start", "on_step_start", "on_attempt", "on_attempt_end", "on_step_end", "on_run_end",
)


@dataclass(frozen=True)
class LlmCall:
    """What `on_attempt_end` learns of one attempt beyond its `AttemptTrace`: the request as
    sent to the provider, the reply (None when none came: an error, or a breaker that was
    open), and where the request went (`server_url`, None for the mock)."""

    request: LlmRequest
    response: LlmResponse | None
    server_url: str | None


_STATUS_STYLE = {SUCCESS: "green", FAILED: "bold red", SKIPPED: "yellow"}


class TraceHistory(deque[Trace]):
    """A `PipelineObserver`'s recent traces, oldest first, at most `maxlen` of them: an
    observer that watches a long-lived service must not keep every run ever made."""


class PipelineObserver:
    # How many traces `traces` keeps; the oldest are dropped first. Raise it in a subclass
    # (or set it before the first run) to keep more.
    max_traces = 100

    def __init__(
        self,
        console: Any = None,
        *,
        on_run_start: Callable[[Trace], Any] | None = None,
        on_step_start: Callable[[str, str, str | None], Any] | None = None,
        on_attempt: Callable[[str, AttemptTrace], Any] | None = None,
        on_attempt_end: Callable[[str, AttemptTrace, LlmCall], Any] | None = None,
        on_step_end: Callable[[StepTrace], Any] | None = None,
        on_run_end: Callable[[Trace], Any] | None = None,
    ) -> None:
        self.traces = TraceHistory(maxlen=self.max_traces)
        self.console = console  # a Rich Console for `print_result` (None: a new one)
        self.current_trace: Trace | None = None  # set by `start_pipeline` / `end_pipeline`
        # A callable given here replaces the method of that name on this instance.
        given = {"on_run_start": on_run_start, "on_step_start": on_step_start,
                 "on_attempt": on_attempt, "on_attempt_end": on_attempt_end,
                 "on_step_end": on_step_end, "on_run_end": on_run_end}
        for name, callback in given.items():
            if callback is not None:
                setattr(self, name, callback)

    @property
    def last_trace(self) -> Trace | None:
        return self.traces[-1] if self.traces else None

    # -- callbacks: override any of them ---------------------------------------------------

    def on_run_start(self, trace: Trace) -> None:
        """The run starts; `trace.steps` already lists every step (all `pending`)."""

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        """A step starts: its dependencies finished and its condition held."""

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        """An attempt is about to happen: called before the backoff wait (see
        `attempt.wait_before_ms`) and before the call, so a UI can show "retrying"."""

    def on_attempt_end(self, step_name: str, attempt: AttemptTrace, call: LlmCall) -> None:
        """An attempt ended (`attempt.status` says how), with the request and reply details
        the trace does not keep (`LlmCall`): what OpenTelemetry's chat spans report."""

    def on_step_end(self, step_trace: StepTrace) -> None:
        """A step finished, failed, was skipped or will not run."""

    def on_run_end(self, trace: Trace) -> None:
        """The run ended; `trace` is complete."""

    # -- seed-compatible helpers -----------------------------------------------------------

    def build_trace_from_result(self, pipeline: Any, result: Any) -> Trace:
        """The trace of `result` (a `RunResult`); the seed built it after the fact, we record
        it during the run, so this only hands it back (and keeps it if not yet kept)."""
        trace: Trace = result.trace
        if not any(t is trace for t in self.traces):
            self.traces.append(trace)
        return trace

    def start_pipeline(self, pipeline: Any) -> Trace:
        """The earlier library's run bracket: a fresh `current_trace` for `pipeline` (any
        object with a `name`, and optionally `version` and `metadata`)."""
        trace = Trace(pipeline_name=str(getattr(pipeline, "name", pipeline)),
                      pipeline_version=getattr(pipeline, "version", None),
                      metadata=getattr(pipeline, "metadata", None))
        trace.started_at = now_iso()
        self.current_trace = trace
        return trace

    def end_pipeline(self, result: Any = None) -> Trace | None:
        """Close the bracket: the run's own trace when `result` carries one (it was recorded
        during the run), else the hand-filled `current_trace`, finalized. Kept in `traces`."""
        trace = getattr(result, "trace", None)
        if isinstance(trace, Trace):
            self.current_trace = trace
        elif self.current_trace is not None:
            if result is not None and getattr(result, "success", True) is False:
                self.current_trace.status = FAILED
                self.current_trace.error = getattr(result, "error", None)
            self.current_trace.finalize()
        if self.current_trace is not None and not any(
            t is self.current_trace for t in self.traces
        ):
            self.traces.append(self.current_trace)
        return self.current_trace

    def print_result(self, pipeline: Any, result: Any) -> None:
        """Print the run with Rich: one row per step (status, model, latency, tokens, cost),
        the totals, and the final output. Needs Rich (`pip install rich`); the runtime itself
        never imports it."""
        try:  # here only: the runtime never imports Rich otherwise (docs/runtime.md)
            from rich.console import Console
            from rich.panel import Panel
            from rich.table import Table
            from rich.text import Text
        except ImportError as exc:
            raise ImportError(
                "PipelineObserver.print_result needs Rich: pip install rich "
                "(the trace itself needs nothing: print(trace.to_markdown()))"
            ) from exc
        trace = getattr(result, "trace", None)
        if not isinstance(trace, Trace):
            trace = self.current_trace
        name = str(getattr(pipeline, "name", pipeline))
        console = self.console if self.console is not None else Console()
        table = Table(title=f"Pipeline {name}")
        for column in ("Step", "Status", "Model", "Latency (ms)", "Tokens", "Cost ($)"):
            table.add_column(column, justify="right" if column[0] in "LTC" else "left")
        for step in trace.steps if trace is not None else ():
            label = f"  {step.name}" if step.group else step.name
            table.add_row(label, Text(step.status, style=_STATUS_STYLE.get(step.status, "")),
                          step.model_used or step.model or "-", f"{step.latency_ms:.1f}",
                          str(step.tokens_used), f"{step.cost_usd:.6f}")
        console.print(table)
        success = bool(getattr(result, "success", trace is not None and trace.success))
        if trace is not None:
            console.print(Text(f"{'success' if success else 'failed'}: "
                               f"{trace.latency_ms:.1f} ms, {trace.total_tokens} tokens, "
                               f"${trace.total_cost_usd:.6f}",
                               style="green" if success else "bold red"))
        error = getattr(result, "error", None)
        if error:
            console.print(Text(f"error: {error}", style="bold red"), soft_wrap=True)
        final = getattr(result, "final_output", None)
        if final is None:
            final = getattr(result, "outputs", None) or None
        if final is not None:
            text = final if isinstance(final, str) else json.dumps(final, indent=2, default=str)
            console.print(Panel(Text(text), title="Final output"))

    def clear(self) -> None:
        self.traces.clear()


class Observers:
    """Several observers as one (`mmoc run --otel` pairs its progress view with the
    OpenTelemetry observer): each event goes to every member that has its callback, in order,
    and a run's trace is kept by each member that keeps traces."""

    def __init__(self, *members: object) -> None:
        self.members = members
        self._hooks = [Hooks(member) for member in members]

    def _each(self, name: str, *args: Any) -> None:
        for hooks in self._hooks:
            callback = getattr(hooks, name)
            if callback is not None:
                safe_call(callback, *args)

    def on_run_start(self, trace: Trace) -> None:
        self._each("on_run_start", trace)

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        self._each("on_step_start", step_name, kind, model)

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        self._each("on_attempt", step_name, attempt)

    def on_attempt_end(self, step_name: str, attempt: AttemptTrace, call: LlmCall) -> None:
        self._each("on_attempt_end", step_name, attempt, call)

    def on_step_end(self, step_trace: StepTrace) -> None:
        self._each("on_step_end", step_trace)

    def on_run_end(self, trace: Trace) -> None:
        self._each("on_run_end", trace)

    def keep(self, trace: Trace) -> None:
        for hooks in self._hooks:
            hooks.keep(trace)


class Hooks:
    """The callbacks an observer really has, looked up once per run; None where it has none
    (or only inherits `PipelineObserver`'s no-op), so the executor skips them for free."""

    __slots__ = ("observer", *CALLBACKS)

    def __init__(self, observer: object) -> None:
        self.observer = observer
        self.on_run_start = _lookup(observer, "on_run_start")
        self.on_step_start = _lookup(observer, "on_step_start")
        self.on_attempt = _lookup(observer, "on_attempt")
        self.on_attempt_end = _lookup(observer, "on_attempt_end")
        self.on_step_end = _lookup(observer, "on_step_end")
        self.on_run_end = _lookup(observer, "on_run_end")

    def keep(self, trace: Trace) -> None:
        """Add `trace` to the observer's `traces` when they are a `PipelineObserver`'s history
        (its own, or one a wrapper hands on); any other object's `traces` is left alone."""
        if isinstance(self.observer, Observers):
            self.observer.keep(trace)
            return
        traces = getattr(self.observer, "traces", None)
        if isinstance(traces, TraceHistory):
            traces.append(trace)


def _lookup(observer: object, name: str) -> Callable[..., Any] | None:
    callback = getattr(observer, name, None)
    if not callable(callback):
        return None
    inherited_noop = (isinstance(observer, PipelineObserver) and name not in vars(observer)
                      and getattr(type(observer), name) is getattr(PipelineObserver, name))
    return None if inherited_noop else callback


def hooks_for(observer: object | None) -> Hooks | None:
    return None if observer is None else Hooks(observer)


def safe_call(callback: Callable[..., Any], *args: Any) -> None:
    """Call an observer callback; an exception becomes a warning, never a failed run."""
    try:
        callback(*args)
    except Exception as exc:  # noqa: BLE001 - an observer bug must not fail the pipeline
        name = getattr(callback, "__name__", None) or repr(callback)
        warnings.warn(f"observer callback {name} raised {exc!r}", stacklevel=2)
