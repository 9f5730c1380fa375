"""Running a map step: its body once per item, the results in item order.

Each item gets its own values (the run's values so far, plus the item under its name) and
runs the body's steps one after another, in an order where every step comes after the
steps it reads from (`body_order`, computed once per spec). Items run concurrently, at most
`concurrency` at a time (`DEFAULT_CONCURRENCY` when unset), by that many workers taking the
next item in turn: a 10,000-item map costs `concurrency` tasks, not 10,000.

`on_error` says what a failed item does: `fail` (the default) stops taking items and fails
the step once the items in flight finish; `skip` leaves the item out of the result;
`collect` puts `{"error": {"kind": ..., "message": ...}, "index": i}` in its place. An item
whose result step a condition skipped is left out of the result.

The trace stays bounded however many items there are: the map step's entry gets the sums of
tokens and cost, and its `map` summary (`MapSummary.to_dict`) holds counts by status,
latency percentiles, the failed items' detail (at most `MAX_FAILURES`) and a sample of the
others (the first `SAMPLE_SIZE`). Body steps call no observer hooks of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from inspect import isawaitable
from types import MappingProxyType
from typing import Any, Protocol

from .errors import MmocRuntimeError, error_kind
from .llm_call import LlmContext, run_llm_step
from .redaction import redact
from .spec import LlmStep, MapStep, TransformStep
from .trace import FAILED, SKIPPED, SUCCESS, StepTrace
from .transform_call import call_transform

DEFAULT_CONCURRENCY = 16
MAX_FAILURES = 20  # failed items described one by one in the trace
SAMPLE_SIZE = 5  # other items described one by one (the first ones)

BodyStep = LlmStep | TransformStep


class MapInputError(MmocRuntimeError):
    """The key a map step iterates over holds no list."""

    kind = "invalid_input"


class ItemFailed(MmocRuntimeError):
    """An item's body failed; with `on_error: fail`, the map step's error, of the item's
    error kind (a rate limit stays a rate limit)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class RunState(Protocol):
    """What a map step needs of the run it belongs to (`scheduler.Run`)."""

    values: dict[str, Any]
    llm: LlmContext
    limit: asyncio.Semaphore | None
    clock: Callable[[], float]


# ---- the body's order ------------------------------------------------------------------

_ORDERS: dict[int, tuple[MapStep, tuple[BodyStep, ...]]] = {}


def body_order(step: MapStep) -> tuple[BodyStep, ...]:
    """The body's steps, each after the body steps producing what it reads (declaration
    order otherwise); cached per spec object. A cycle keeps the remaining steps in
    declaration order (`mmoc check` reports it; a step then meets a missing key)."""
    hit = _ORDERS.get(id(step))
    if hit is not None and hit[0] is step:
        return hit[1]
    producer = {s.output_key: s for s in step.steps}
    ordered: dict[int, BodyStep] = {}
    visiting: set[int] = set()

    def visit(s: BodyStep) -> None:
        if id(s) in ordered or id(s) in visiting:
            return
        visiting.add(id(s))
        for key in (*s.reads, *s.when_reads):
            dep = producer.get(key)
            if dep is not None and dep is not s:
                visit(dep)
        ordered[id(s)] = s

    for s in step.steps:
        visit(s)
    order = tuple(ordered.values())
    if len(_ORDERS) > 256:
        _ORDERS.clear()
    _ORDERS[id(step)] = (step, order)
    return order


# ---- the summary in the trace ----------------------------------------------------------


class MapSummary:
    """What the trace keeps of a map step's items: bounded whatever their number."""

    __slots__ = ("counts", "failures", "items", "latencies", "sample")

    def __init__(self, items: int) -> None:
        self.items = items
        self.counts = {SUCCESS: 0, FAILED: 0, SKIPPED: 0}
        self.latencies: list[float] = []  # per item, ms; reduced to percentiles at the end
        self.failures: list[dict[str, Any]] = []
        self.sample: list[dict[str, Any]] = []

    def record(self, index: int, status: str, latency_ms: float, tokens: int,
               error: tuple[str, str, str] | None) -> None:
        self.counts[status] += 1
        self.latencies.append(latency_ms)
        detail: dict[str, Any] = {"index": index, "status": status,
                                  "latency_ms": latency_ms, "tokens": tokens}
        if error is not None:
            if len(self.failures) < MAX_FAILURES:
                step, kind, message = error
                self.failures.append({**detail, "step": step, "error_kind": kind,
                                      "error": message})
        elif len(self.sample) < SAMPLE_SIZE:
            self.sample.append(detail)

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "items": self.items,
            "counts": dict(self.counts),
            "latency_ms": {f"p{q}": percentile(ordered, q) for q in (50, 90, 99)},
            "failures": sorted(self.failures, key=lambda d: d["index"]),
            "failures_omitted": max(0, self.counts[FAILED] - len(self.failures)),
            "sample": sorted(self.sample, key=lambda d: d["index"]),
        }


def percentile(ordered: list[float], q: int) -> float | None:
    """The nearest-rank `q`th percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    rank = max(1, -(-q * len(ordered) // 100))  # ceil(q/100 * n), at least the first
    return ordered[rank - 1]


# ---- running -----------------------------------------------------------------------------


def items_of(step: MapStep, values: Mapping[str, Any]) -> list[Any]:
    """The items to map over: the list under `for_each`, cut to `limit`."""
    if step.for_each not in values:
        raise MapInputError(f"map step {step.name!r}: key {step.for_each!r} is missing")
    found = values[step.for_each]
    if not isinstance(found, (list, tuple)):
        raise MapInputError(
            f"map step {step.name!r} iterates over {step.for_each!r}, which holds "
            f"{type(found).__name__}, not a list")
    items = list(found)
    return items[: step.limit] if step.limit is not None else items


async def run_map(run: RunState, step: MapStep, st: StepTrace) -> list[Any]:
    """The map step's value; fills `st` (tokens, cost, the `map` summary). Raises the
    step's error: a bad list, or the first failed item with `on_error: fail`."""
    items = items_of(step, run.values)
    order = body_order(step)
    result_key = step.collect or (step.steps[-1].output_key if step.steps else None)
    results: list[Any] = [_LEFT_OUT] * len(items)
    summary = MapSummary(len(items))
    first_failure: list[tuple[int, tuple[str, str, str]]] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(items) and not (first_failure and step.on_error == "fail"):
            index = next_index
            next_index += 1
            started = run.clock()
            outcome, value, error, traces = await _one_item(run, step, order, items[index],
                                                            result_key)
            tokens = _add_usage(st, traces)
            summary.record(index, outcome, (run.clock() - started) * 1000.0, tokens, error)
            if error is not None:
                first_failure.append((index, error))
                if step.on_error == "collect":
                    results[index] = {"error": {"kind": error[1], "message": error[2]},
                                      "index": index}
            elif outcome == SUCCESS:
                results[index] = value

    workers = min(step.concurrency or DEFAULT_CONCURRENCY, len(items))
    try:
        if workers == 1:
            await worker()
        elif workers:
            await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        st.map = summary.to_dict()
    if first_failure and step.on_error == "fail":
        index, (name, kind, message) = min(first_failure)
        raise ItemFailed(f"item {index} failed at step {name!r}: {message}", kind)
    return [r for r in results if r is not _LEFT_OUT]


_LEFT_OUT: Any = object()  # an item with no value in the result (skipped, or failed: skip)


async def _one_item(run: RunState, step: MapStep, order: tuple[BodyStep, ...], item: Any,
                    result_key: str | None
                    ) -> tuple[str, Any, tuple[str, str, str] | None, list[StepTrace]]:
    """Run the body for one item: (status, result, (step, error kind, message) or None,
    the body steps' traces)."""
    values = dict(run.values)
    values[step.item] = item
    skipped: set[str] = set()  # keys a skipped body step did not produce
    traces: list[StepTrace] = []
    for body in order:
        if skipped and any(k in skipped for k in (*body.reads, *body.when_reads)):
            skipped.add(body.output_key)
            continue
        bst = StepTrace(body.name, "llm" if type(body) is LlmStep else "transform",
                        step.name, model=getattr(body, "model", None))
        traces.append(bst)
        try:
            if body.when is not None and not body.when(MappingProxyType(values)):
                skipped.add(body.output_key)
                continue
            values[body.output_key] = await _body_value(run, body, values, bst)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed item is data, not a crash
            message = redact(str(exc) or type(exc).__name__, run.llm.secrets)
            return FAILED, None, (body.name, error_kind(exc), message), traces
    if result_key is None or result_key in skipped or result_key not in values:
        return SKIPPED, None, None, traces
    return SUCCESS, values[result_key], None, traces


async def _body_value(run: RunState, body: BodyStep, values: dict[str, Any],
                      bst: StepTrace) -> Any:
    limit = run.limit
    if limit is not None:
        await limit.acquire()
    try:
        if type(body) is TransformStep:
            value = call_transform(body, values)
            if isawaitable(value):
                if body.timeout is not None:
                    async with asyncio.timeout(body.timeout):
                        return await value
                return await value
            return value
        return await run_llm_step(run.llm, body, values, bst)  # type: ignore[arg-type]
    finally:
        if limit is not None:
            limit.release()


def _add_usage(st: StepTrace, traces: list[StepTrace]) -> int:
    """Add the body steps' tokens and cost to the map step's entry; the item's tokens."""
    tokens = 0
    for bst in traces:
        st.input_tokens += bst.input_tokens
        st.output_tokens += bst.output_tokens
        st.cached_input_tokens += bst.cached_input_tokens
        st.cost_usd += bst.cost_usd
        st.retries += bst.retries
        st.tokens_estimated = st.tokens_estimated or bst.tokens_estimated
        st.cost_estimated = st.cost_estimated or bst.cost_estimated
        tokens += bst.input_tokens + bst.output_tokens
    return tokens
