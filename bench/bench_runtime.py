"""The llm-step path of `mmoc_runtime` against raw asyncio calling the same mock directly.

    python -m bench.bench_runtime            (from the project root; `make bench` runs it too)

Three figures, each measured side by side in one process:

1. llm chain: N llm steps in a chain on the mock provider at zero latency, run by `execute`
   with an observer, a retry policy and a circuit breaker on every step, against a loop that
   renders each prompt and awaits `MockProvider.complete` directly (no trace, no policies).
2. llm fan-out: one source step and W independent llm steps reading it, same two columns.
3. import: `import mmoc_runtime` over `import asyncio`, in fresh interpreters.

Per-step overhead is (executor - raw) / steps. Figures are medians over repeats.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from mmoc_runtime import (
    BreakerPolicy,
    BreakerRegistry,
    InputSpec,
    LlmStep,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    execute,
)
from mmoc_runtime.providers.base import LlmRequest
from mmoc_runtime.providers.mock import MockProvider
from mmoc_runtime.template import render

from bench import installed_env

RETRY = RetryStrategy(max_retries=3, base_delay_seconds=1.0, jitter="full")
BREAKER = BreakerPolicy(failure_threshold=5, recovery_timeout_seconds=60)


def chain_spec(n: int) -> PipelineSpec:
    steps = [LlmStep("s0", "mock/bench", "Start with {topic}", "k0", retry=RETRY,
                     breaker=BREAKER)]
    steps += [LlmStep(f"s{i}", "mock/bench", f"Step {i}: {{k{i - 1}}}", f"k{i}", retry=RETRY,
                      breaker=BREAKER) for i in range(1, n)]
    return PipelineSpec("llm_chain", inputs=(InputSpec("topic"),), steps=tuple(steps))


def fanout_spec(width: int) -> PipelineSpec:
    steps = [LlmStep("src", "mock/bench", "Start with {topic}", "src", retry=RETRY,
                     breaker=BREAKER)]
    steps += [LlmStep(f"f{i}", "mock/bench", f"Branch {i}: {{src}}", f"f{i}", retry=RETRY,
                      breaker=BREAKER) for i in range(width)]
    return PipelineSpec("llm_fanout", inputs=(InputSpec("topic"),), steps=tuple(steps))


def raw_chain(spec: PipelineSpec, provider: MockProvider) -> Callable[[], Awaitable[object]]:
    """The same calls with nothing around them: render, call, store."""
    steps = [s for s in spec.steps if isinstance(s, LlmStep)]

    async def run() -> object:
        values: dict[str, object] = {"topic": "bench"}
        for step in steps:
            request = LlmRequest(provider="mock", model="bench",
                                 prompt=render(step.prompt, values), step=step.name)
            values[step.output_key] = (await provider.complete(request)).text
        return values

    return run


def raw_fanout(spec: PipelineSpec, provider: MockProvider) -> Callable[[], Awaitable[object]]:
    first, *rest = [s for s in spec.steps if isinstance(s, LlmStep)]

    async def call(step: LlmStep, values: dict[str, object]) -> str:
        request = LlmRequest(provider="mock", model="bench",
                             prompt=render(step.prompt, values), step=step.name)
        return (await provider.complete(request)).text

    async def run() -> object:
        values: dict[str, object] = {"topic": "bench"}
        values[first.output_key] = await call(first, values)
        texts = await asyncio.gather(*(call(s, values) for s in rest))
        values.update((s.output_key, t) for s, t in zip(rest, texts))
        return values

    return run


def mmoc_runner(spec: PipelineSpec) -> Callable[[], Awaitable[object]]:
    registry = ProviderRegistry()
    registry.register("mock", MockProvider())
    breakers = BreakerRegistry()
    observer = PipelineObserver()

    async def run() -> object:
        result = await execute(spec, {"topic": "bench"}, providers=registry,
                               breakers=breakers, observer=observer)
        if not result.success:
            raise RuntimeError(result.error)
        observer.traces.clear()  # keep memory flat across repeats
        return result.values

    return run


async def _median(run: Callable[[], Awaitable[object]], repeats: int) -> float:
    for _ in range(3):
        await run()
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def compare(label: str, spec: PipelineSpec, raw: Callable[[], Awaitable[object]],
                  repeats: int) -> dict[str, float]:
    steps = len(spec.steps)
    # Interleave the two columns so machine noise hits both alike.
    raw_t, mmoc_t = [], []
    runner = mmoc_runner(spec)
    for _ in range(3):
        raw_t.append(await _median(raw, repeats))
        mmoc_t.append(await _median(runner, repeats))
    r, m = statistics.median(raw_t), statistics.median(mmoc_t)
    row = {"raw_ms": r * 1e3, "mmoc_ms": m * 1e3, "ratio": m / r,
           "overhead_us_per_step": (m - r) / steps * 1e6}
    print(f"| {label:<22} | {r * 1e3:9.2f} | {m * 1e3:9.2f} | {m / r:6.2f} "
          f"| {row['overhead_us_per_step']:8.1f} |", flush=True)
    return row


def import_overhead(runs: int = 20) -> dict[str, float]:
    """`import asyncio` vs `import asyncio, mmoc_runtime` in fresh interpreters, interleaved
    so that machine load hits both alike; the minimum is the least disturbed figure."""

    env = installed_env()

    def once(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        return time.perf_counter() - started

    once("import asyncio, mmoc_runtime")  # warm the bytecode cache
    base: list[float] = []
    with_runtime: list[float] = []
    for _ in range(runs):
        base.append(once("import asyncio"))
        with_runtime.append(once("import asyncio, mmoc_runtime"))
    return {
        "asyncio_ms": statistics.median(base) * 1e3,
        "extra_median_ms": (statistics.median(with_runtime) - statistics.median(base)) * 1e3,
        "extra_min_ms": (min(with_runtime) - min(base)) * 1e3,
    }


def main(n: int = 200, width: int = 100, repeats: int = 7) -> dict[str, object]:
    print("llm-step path: mmoc_runtime.execute (observer, retry, breaker, trace) vs raw asyncio")
    print("calling the same MockProvider at zero latency\n")
    print("| scenario               |  raw (ms) | mmoc (ms) |  ratio | us/step |")
    print("|------------------------|-----------|-----------|--------|---------|")
    chain, fan = chain_spec(n), fanout_spec(width)
    results: dict[str, object] = {}
    results["chain"] = asyncio.run(compare(f"chain of {n}", chain,
                                           raw_chain(chain, MockProvider()), repeats))
    results["fanout"] = asyncio.run(compare(f"fan-out 1->{width}", fan,
                                            raw_fanout(fan, MockProvider()), repeats))
    imports = import_overhead()
    results["import"] = imports
    print(f"\nimport mmoc_runtime over import asyncio ({imports['asyncio_ms']:.1f} ms): "
          f"+{imports['extra_median_ms']:.1f} ms median, +{imports['extra_min_ms']:.1f} ms min "
          "(fresh interpreters, interleaved)")
    return results


if __name__ == "__main__":
    main()
