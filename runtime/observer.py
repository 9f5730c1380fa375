"""`PipelineObserver` (seed name): receives a run's events and keeps its traces.

Subclass it and override the callbacks to feed your own sink (a live terminal view, a log,
metrics). The executor builds the trace itself; the observer only watches. Callbacks run in the
event loop, inline with the step they describe: keep them quick. An exception raised by a
callback is reported as a warning and never fails the run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .trace import AttemptTrace, StepTrace, Trace


class PipelineObserver:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

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

    def clear(self) -> None:
        self.traces.clear()


def safe_call(callback: Callable[..., None], *args: Any) -> None:
    """Call an observer callback; an exception becomes a warning, never a failed run."""
    try:
        callback(*args)
    except Exception as exc:  # noqa: BLE001 - an observer bug must not fail the pipeline
        warnings.warn(f"observer callback {callback.__name__} raised {exc!r}", stacklevel=2)
