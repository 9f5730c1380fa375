"""`stream`: run a pipeline and yield its events (`mmoc_runtime.events`) as they happen.

    async for event in mmoc_runtime.stream(spec, inputs, mock=True):
        if isinstance(event, TextDelta):
            print(event.text, end="", flush=True)

The run is `execute`'s, with its llm steps streamed: the executor reports to an observer
(`_EventObserver`) that turns each callback into an event and hands it on to the observer the
caller passed, if any. Events wait in a queue until the caller takes them; the run goes on
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
from .observer import Hooks, hooks_for, safe_call
from .result import RunResult
from .spec import PipelineSpec
from .trace import AttemptTrace, StepTrace, Trace


class _EventObserver:
    """The run's observer in a streamed run: each callback queues its event, then calls the
    caller's own observer (looked up once, as the executor looks up callbacks)."""

    def __init__(self, queue: asyncio.Queue[Event | None], observer: object | None) -> None:
        self._put = queue.put_nowait
        self._user: Hooks | None = hooks_for(observer)
        self._user_text = getattr(observer, "on_text_delta", None) if observer else None
        self.traces = getattr(observer, "traces", None)  # the executor keeps the trace there
        self._last: dict[str, AttemptTrace] = {}  # each step's attempt in progress
        self._texted: set[str] = set()  # steps whose current attempt has sent text

    def on_run_start(self, trace: Trace) -> None:
        self._put(RunStarted(trace.pipeline, trace.run_id))
        user = self._user
        if user is not None and user.on_run_start is not None:
            safe_call(user.on_run_start, trace)

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        self._put(StepStarted(step_name, model, kind))
        user = self._user
        if user is not None and user.on_step_start is not None:
            safe_call(user.on_step_start, step_name, kind, model)

    def on_text_delta(self, step_name: str, text: str) -> None:
        self._texted.add(step_name)
        self._put(TextDelta(step_name, text))
        if self._user_text is not None:
            safe_call(self._user_text, step_name, text)

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        previous = self._last.get(step_name)
        self._last[step_name] = attempt
        if previous is not None:
            restarted = step_name in self._texted
            self._texted.discard(step_name)
            if previous.model != attempt.model:
                self._put(FallbackUsed(step_name, previous.model, attempt.model, restarted))
            else:
                self._put(Retrying(step_name, attempt.number, attempt.wait_before_ms / 1000.0,
                                   previous.error_kind, restarted))
        user = self._user
        if user is not None and user.on_attempt is not None:
            safe_call(user.on_attempt, step_name, attempt)

    def on_step_end(self, st: StepTrace) -> None:
        self._last.pop(st.name, None)
        self._texted.discard(st.name)
        self._put(StepFinished(
            st.name, st.status, st.input_tokens + st.output_tokens, st.cost_usd,
            st.latency_ms / 1000.0, st.ttft_ms / 1000.0 if st.ttft_ms is not None else None,
            st.error,
        ))
        user = self._user
        if user is not None and user.on_step_end is not None:
            safe_call(user.on_step_end, st)

    def on_run_end(self, trace: Trace) -> None:
        user = self._user
        if user is not None and user.on_run_end is not None:
            safe_call(user.on_run_end, trace)


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
    events = _EventObserver(queue, observer)
    task = asyncio.ensure_future(execute(spec, inputs, observer=events, **options))
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
