"""`stream`: run a pipeline and yield its events (`mmoc_runtime.events`) as they happen.

    async for event in mmoc_runtime.stream(spec, inputs, mock=True):
        if isinstance(event, TextDelta):
            print(event.text, end="", flush=True)

The run is `execute`'s, with its llm steps streamed: the executor reports to an observer
(`_Emitter`) that turns each callback into an event, paired with the observer the caller
passed, if any (`_StreamObservers`). Events wait in a queue until the caller takes them; the run goes on
meanwhile. A run that ends (failed or not) yields `RunFinished` last; inputs that are not
valid raise `InputError` from the first `anext`, as `execute` raises it. Leaving the loop
early (break, an exception, `aclose`) cancels the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .events import (
    Event,
    FallbackUsed,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
)
from .executor import execute
from .observer import Observers, safe_call
from .result import RunResult
from .spec import PipelineSpec
from .trace import AttemptTrace, StepTrace, Trace


class _Emitter:
    """The streamed run's own observer: each callback queues its event."""

    def __init__(self, queue: asyncio.Queue[Event | None]) -> None:
        self._put = queue.put_nowait
        self._last: dict[str, AttemptTrace] = {}  # each step's attempt in progress
        self._texted: set[str] = set()  # steps whose current attempt has sent text

    def on_run_start(self, trace: Trace) -> None:
        self._put(RunStarted(trace.pipeline, trace.run_id))

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        self._put(StepStarted(step_name, model, kind))

    def on_text_delta(self, step_name: str, text: str) -> None:
        self._texted.add(step_name)
        self._put(TextDelta(step_name, text))

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        previous = self._last.get(step_name)
        self._last[step_name] = attempt
        if previous is None:
            return
        restarted = step_name in self._texted
        self._texted.discard(step_name)
        if previous.model != attempt.model:
            self._put(FallbackUsed(step_name, previous.model, attempt.model, restarted))
        else:
            self._put(Retrying(step_name, attempt.number, attempt.wait_before_ms / 1000.0,
                               previous.error_kind, restarted))

    def on_step_end(self, st: StepTrace) -> None:
        self._last.pop(st.name, None)
        self._texted.discard(st.name)
        self._put(StepFinished(
            st.name, st.status, st.input_tokens + st.output_tokens, st.cost_usd,
            st.latency_ms / 1000.0, st.ttft_ms / 1000.0 if st.ttft_ms is not None else None,
            st.error,
        ))


class _StreamObservers(Observers):
    """The run's observer in a streamed run: the emitter, then the caller's observer (which
    sees every callback it would see in `run`). Its `on_text_delta` makes the run stream, and
    hands the text to each member that takes it."""

    def __init__(self, emitter: _Emitter, observer: object | None) -> None:
        members = (emitter,) if observer is None else (emitter, observer)
        super().__init__(*members)
        self._on_text = [callback for member in members
                         if callable(callback := getattr(member, "on_text_delta", None))]

    def on_text_delta(self, step_name: str, text: str) -> None:
        for callback in self._on_text:
            safe_call(callback, step_name, text)


async def stream(
    spec: PipelineSpec,
    inputs: Mapping[str, Any],
    *,
    observer: object | None = None,
    **options: Any,
) -> AsyncIterator[Event]:
    """Run `spec` with `inputs` (options as `execute`'s) and yield its events; see the module
    doc. The last event is `RunFinished`, whose outputs are what `run` would return."""
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    observers = _StreamObservers(_Emitter(queue), observer)
    task = asyncio.ensure_future(execute(spec, inputs, observer=observers, **options))
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while True:
            event = await queue.get()
            if event is None:
                break
            yield event
        # Every callback ran before the run's task ended, so its events came before `None`.
        yield _finished(task.result())
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _finished(result: RunResult) -> RunFinished:
    return RunFinished(result.outputs, result.trace, result)
