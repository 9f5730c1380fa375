"""A map step over 10,000 items against the runtime's per-step overhead (issue 12).

    python -m bench.bench_map            (from the project root; `make bench` runs it too)

Measured side by side in one process, on the mock provider at zero latency, every llm step
with the same retry policy and circuit breaker:

1. per-step overhead: a chain of N llm steps run by `execute`, against a loop that renders
   each prompt and awaits `MockProvider.complete` directly; (executor - raw) / N.
2. per-item overhead: one map step over 10,000 items whose body is one llm step, against a
   loop making the same 10,000 calls directly; (executor - raw) / 10,000.

The target: per-item overhead within 3x of the per-step overhead. Figures are medians over
repeats, the two columns interleaved so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable

from mmoc_runtime import (
    BreakerRegistry,
    InputSpec,
    LlmStep,
    MapStep,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    execute,
)
from mmoc_runtime.providers.base import LlmRequest
from mmoc_runtime.providers.mock import MockProvider
from mmoc_runtime.template import render

from bench.bench_runtime import BREAKER, RETRY, _median, chain_spec, mmoc_runner, raw_chain

ITEMS = 10_000


def map_spec(concurrency: int) -> PipelineSpec:
    body = LlmStep("say", "mock/bench", "Item: {item} on {topic}", "said", retry=RETRY,
                   breaker=BREAKER)
    step = MapStep("each", for_each="items", steps=(body,), output_key="all_said",
                   concurrency=concurrency)
    return PipelineSpec("map_bench", inputs=(InputSpec("topic"), InputSpec("items", "json")),
                        steps=(step,))


def raw_items(items: list[str], provider: MockProvider) -> Callable[[], Awaitable[object]]:
    """The same 10,000 calls with nothing around them: render, call, keep in order."""

    async def run() -> object:
        values: dict[str, object] = {"topic": "bench"}
        out = []
        for item in items:
            values["item"] = item
            request = LlmRequest(provider="mock", model="bench",
                                 prompt=render("Item: {item} on {topic}", values), step="say")
            out.append((await provider.complete(request)).text)
        return out

    return run


def map_runner(spec: PipelineSpec, items: list[str]) -> Callable[[], Awaitable[object]]:
    """`execute` as `bench_runtime.mmoc_runner` runs it (an observer, shared registries),
    with the items as an input."""
    registry = ProviderRegistry()
    registry.register("mock", MockProvider())
    breakers = BreakerRegistry()
    observer = PipelineObserver()

    async def run() -> object:
        result = await execute(spec, {"topic": "bench", "items": items}, providers=registry,
                               breakers=breakers, observer=observer)
        if not result.success:
            raise RuntimeError(result.error)
        observer.traces.clear()  # keep memory flat across repeats
        return result.values

    return run


async def _pair(raw: Callable[[], Awaitable[object]], runner: Callable[[], Awaitable[object]],
                repeats: int) -> tuple[float, float]:
    raw_t, mmoc_t = [], []
    for _ in range(3):
        raw_t.append(await _median(raw, repeats))
        mmoc_t.append(await _median(runner, repeats))
    return statistics.median(raw_t), statistics.median(mmoc_t)


def main(n: int = 200, repeats: int = 3, concurrency: int = 16) -> dict[str, float]:
    print("map step over 10,000 items vs the runtime's per-step overhead (mock, zero latency,")
    print("retry and breaker on every llm step)\n")
    chain = chain_spec(n)
    raw_c, mmoc_c = asyncio.run(_pair(raw_chain(chain, MockProvider()), mmoc_runner(chain),
                                      repeats * 3))
    per_step = (mmoc_c - raw_c) / n
    items = [f"item {i}" for i in range(ITEMS)]
    raw_m, mmoc_m = asyncio.run(_pair(raw_items(items, MockProvider()),
                                      map_runner(map_spec(concurrency), items), repeats))
    per_item = (mmoc_m - raw_m) / ITEMS
    ratio = per_item / per_step
    print("| scenario                 |  raw (ms) | mmoc (ms) | overhead (us) |")
    print("|--------------------------|-----------|-----------|---------------|")
    for label, raw, timed, per, unit in (
        (f"chain of {n} llm steps", raw_c, mmoc_c, per_step, "step"),
        (f"map over {ITEMS} items", raw_m, mmoc_m, per_item, "item"),
    ):
        print(f"| {label:<24} | {raw * 1e3:9.2f} | {timed * 1e3:9.2f} | "
              f"{per * 1e6:7.1f} /{unit} |")
    verdict = "within" if ratio <= 3 else "NOT within"
    print(f"\nper-item overhead / per-step overhead = {ratio:.2f} ({verdict} the 3x target; "
          f"map concurrency {concurrency})")
    return {"per_step_us": per_step * 1e6, "per_item_us": per_item * 1e6, "ratio": ratio}


if __name__ == "__main__":
    main()
