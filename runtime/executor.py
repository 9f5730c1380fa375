"""The executor's entry points: `execute` and `execute_sync` run a `PipelineSpec`.

`execute` checks the inputs (raising `InputError` naming every problem, before any step runs),
builds the run's trace, hands the steps to the scheduler (`scheduler.Run`) and returns a
`RunResult`. `concurrency` caps how many llm and transform steps run at once;
`model_concurrency` caps concurrent calls per model (an int for every model, or a mapping from
model id to its cap). Everything that goes wrong inside a step is reported in the result.
`run` and `run_sync` are the same functions under the names issue 2 documents.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .breaker import BreakerRegistry, default_breakers
from .budget import BUDGET_EXCEEDED, Budget
from .call_guard import guard_for
from .cassette import RECORD, Cassette
from .inputs import validate_inputs
from .limiter import LimiterRegistry
from .llm_call import LlmContext
from .observer import Hooks, PipelineObserver, hooks_for, safe_call
from .plan import LLM, Plan, plan_for
from .providers import ProviderRegistry, default_registry
from .replies import FixedReplies, ReplySource, ReplySources
from .response_cache import CacheSource, ResponseCache
from .result import RunResult
from .scheduler import Run
from .spec import PipelineSpec
from .trace import FAILED, NOT_RUN, PENDING, RUNNING, SUCCESS, StepTrace, Trace


def _iso(epoch: float) -> str:
    millis = round(epoch * 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + (
        f".{millis % 1000:03d}Z")


def _new_trace(spec: PipelineSpec, plan: Plan, run_id: str, mock: bool) -> Trace:
    trace = Trace(run_id, spec.name, spec.version, mock=mock,
                  metadata=spec.metadata.get("pipeline"))
    steps = trace.steps
    for step, kind, group in plan.entries:
        model = step.model if kind == LLM else None  # type: ignore[union-attr]
        steps.append(StepTrace(step.name, kind, group, when=step.when_text, model=model))
    return trace


async def execute(
    spec: PipelineSpec,
    inputs: Mapping[str, Any],
    *,
    observer: PipelineObserver | object | None = None,
    mock: bool = False,
    providers: ProviderRegistry | None = None,
    breakers: BreakerRegistry | None = None,
    concurrency: int | None = None,
    model_concurrency: int | Mapping[str, int] | None = None,
    sleep: Callable[[float], Awaitable[Any] | None] | None = None,
    clock: Callable[[], float] | None = None,
    rng: random.Random | None = None,
    capture_content: bool = False,
    now: Callable[[], float] | float | None = None,
    run_id: str | None = None,
    limiters: LimiterRegistry | None = None,
    budget: float | Budget | Sequence[Budget] | None = None,
    replies: Mapping[str, Any] | None = None,
    cassette: Cassette | str | os.PathLike[str] | None = None,
    cache: ResponseCache | bool | None = None,
) -> RunResult:
    """Run `spec` with `inputs`. Raises `InputError` (before any step) for bad inputs and
    `ConfigError` for a malformed spec (a cycle, an unknown `after`); every other failure is
    reported in the returned `RunResult` (see `raise_for_status`). `now` dates the trace: a
    callable giving epoch seconds, or the run's start as epoch seconds (its end is then that
    start plus the run's latency on `clock`). `limiters` are the rate limiters the calls go
    through (default: the process's, `default_limiters()`); `budget` caps the run's spend in
    USD, a number or a shared `Budget` (or several), on top of the spec's own `budget`.
    `replies` gives fixed replies by llm step name (text, or JSON data for a structured step): those steps call no model. `cassette` replays
    the exchanges of a cassette file (a path) or records them (`Cassette(path, "record")`,
    saved when the run ends); see `mmoc_runtime.cassette`. `cache` is the response cache the
    steps with a `cache` policy use: None for the user's (`response_cache`), a
    `ResponseCache`, or False for none (`--no-cache`)."""
    plan = plan_for(spec)
    values = validate_inputs(spec, inputs)
    clock = clock or time.perf_counter
    rid = run_id or os.urandom(8).hex()
    trace = _new_trace(spec, plan, rid, mock)
    hooks = hooks_for(observer)
    llm = LlmContext(
        run_id=rid, mock=mock, providers=providers or default_registry(),
        breakers=breakers or default_breakers(), endpoints=spec.endpoints, hooks=hooks,
        sleep=sleep or asyncio.sleep, clock=clock, rng=rng, capture=capture_content,
        model_concurrency=model_concurrency,
        guard=guard_for(spec, limiters, budget, trace),
    )
    tape = _open_cassette(cassette, llm)
    cached = _cache_source(plan, cache, llm)
    llm.replies = _reply_sources(plan, replies, tape, cached)
    run = Run(plan, values, trace, llm, hooks, clock, concurrency, capture_content)
    wall = _wall_clock(now)
    trace.started_at = _iso(wall(0.0))
    if hooks is not None and hooks.on_run_start is not None:
        safe_call(hooks.on_run_start, trace)
    try:
        await run.drive()
    finally:
        trace.latency_ms = (clock() - run.t0) * 1000.0
        trace.ended_at = _iso(wall(trace.latency_ms / 1000.0))
        for st in trace.steps:  # cancelled runs leave steps unfinished
            if st.status == PENDING:
                st.status = NOT_RUN
            elif st.status == RUNNING:
                st.status = FAILED
        if cached is not None:
            cached.close()
        if tape is not None and tape.mode == RECORD:
            tape.save()
    return _finish(spec, plan, run, trace, hooks)


def _open_cassette(cassette: Cassette | str | os.PathLike[str] | None,
                   llm: LlmContext) -> Cassette | None:
    """The run's cassette, read (a path alone is replayed); recorded text hides the run's
    secrets."""
    if cassette is None:
        return None
    tape = cassette if isinstance(cassette, Cassette) else Cassette(cassette)
    return tape.open(lambda: llm.secrets)


def _cache_source(plan: Plan, cache: ResponseCache | bool | None,
                  llm: LlmContext) -> CacheSource | None:
    """The response cache as a reply source, when some step's policy caches."""
    if cache is False or not any(
            kind == LLM and step.cache is not None and step.cache.enabled  # type: ignore[union-attr]
            for step, kind, _ in plan.entries):
        return None
    store = cache if isinstance(cache, ResponseCache) else ResponseCache()
    return CacheSource(store, lambda: llm.secrets)


def _reply_sources(plan: Plan, replies: Mapping[str, Any] | None,
                   tape: Cassette | None, cached: CacheSource | None) -> ReplySources | None:
    """The sources asked before the provider, in order (`replies`); None when there are none
    (the llm path then takes its shortest way)."""
    sources: list[ReplySource] = []
    if replies:
        fixed = FixedReplies(replies)
        fixed.check_steps((s.name for s, kind, _ in plan.entries if kind == LLM),
                          (s.name for s, kind, _ in plan.entries if kind != LLM))
        sources.append(fixed)
    if tape is not None:
        sources.append(tape)
    if cached is not None:
        sources.append(cached)
    return ReplySources(sources) if sources else None


def _wall_clock(now: Callable[[], float] | float | None) -> Callable[[float], float]:
    """`now` (see `execute`) as one function: epoch seconds at `elapsed` seconds into the run.
    A callable or None is asked each time; a number is the start, and later times add the
    run's latency measured on its `clock`."""
    if now is None:
        return lambda elapsed: time.time()
    if callable(now):
        read = now
        return lambda elapsed: read()
    start = float(now)
    return lambda elapsed: start + elapsed


def _finish(spec: PipelineSpec, plan: Plan, run: Run, trace: Trace,
            hooks: Hooks | None) -> RunResult:
    values = run.values
    failed = tuple(run.failed)
    first_failed = failed[0] if failed else None
    error = None
    if first_failed is not None:
        error = f"step {first_failed!r} failed: {trace.step(first_failed).error}"
    trace.status = FAILED if failed else SUCCESS
    if any(trace.step(name).error_kind == BUDGET_EXCEEDED for name in failed):
        trace.status = BUDGET_EXCEEDED  # its own status: the run was stopped, not broken
    trace.error = error
    trace.failed_step = first_failed
    keys = spec.outputs or plan.produced
    outputs = {key: values[key] for key in keys if key in values}
    if hooks is not None:
        hooks.keep(trace)
        if hooks.on_run_end is not None:
            safe_call(hooks.on_run_end, trace)
    return RunResult(
        success=not failed, outputs=outputs, values=values, trace=trace, error=error,
        failed_step=first_failed, failed_steps=failed,
    )


def execute_sync(spec: PipelineSpec, inputs: Mapping[str, Any], **options: Any) -> RunResult:
    """`execute` in a fresh event loop (`asyncio.run`); not for use inside a running loop."""
    return asyncio.run(execute(spec, inputs, **options))


# The documented entry points (issue 2): `await run(spec, inputs, **options)` and
# `run_sync(spec, inputs, **options)`, the very same functions as `execute`/`execute_sync`.
run = execute
run_sync = execute_sync
