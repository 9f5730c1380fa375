"""The Ray backend of batch runs (issue 13): throughput, overhead, start-up, scaling.

1. throughput: 2,000 rows of a one-step pipeline against the loopback server answering each
   request after 20 ms (bench_providers' server, its own process), the local backend
   (`--concurrency C`, for C = 8 and 32) against the Ray backend on this machine (2 workers,
   C/2 rows each: the same rows in flight). Target: Ray's rows/s at least 0.5x the local
   backend's. (The local backend slows as C grows here: its HTTP pool's bookkeeping, see the
   report of issue 13; compare at each C.)
2. per-row overhead: the same rows on the zero-latency mock, one worker against the local
   backend at the same concurrency: (Ray's seconds - local seconds) / rows.
3. start-up: `ray.init` of a new local cluster (2 CPUs), then each batch's own start (shipping
   the code, starting the worker processes, importing the module: `RayStats.startup_seconds`).
4. scaling: rows/s with 1 and 2 worker processes (concurrency 1 each, 20 ms replies), without
   a rate limit and with one the cluster shares (rpm below what two workers could do): the
   second worker doubles the rate until the limit binds. A simulation of two machines.

    python -m bench.bench_ray [--rows N] [--concurrency C] [--scale-rows N] [--rpm N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEY_ENV = "MMOC_BENCH_RAY_KEY"
LATENCY = 0.020

SOURCE = """\
pipeline bench_ray {{
  input text: str
  provider lb = openai_compatible(base_url: "{base}/v1", api_key_env: "{key}")
  step a = llm {model} {{
    prompt "Classify {{text}}"
  }} -> label
}}
"""


def _module(folder: Path, base: str, model: str, name: str) -> Any:
    from mmoc.driver import compile_file
    from mmoc.modules import load_module

    path = folder / f"{name}.mmo"
    path.write_text(SOURCE.format(base=base, key=KEY_ENV, model=model), encoding="utf-8")
    result = compile_file(path)
    assert result.ok and result.code is not None, result.diagnostics
    return load_module(result.code, name)


def _rows(count: int) -> list[dict[str, str]]:
    return [{"id": f"r{i}", "text": f"ticket number {i}"} for i in range(count)]


async def _timed(spec: Any, rows: list[dict[str, str]], **options: Any) -> float:
    from mmoc_runtime import run_batch

    started = time.perf_counter()
    done = 0
    async for result in run_batch(spec, rows, **options):
        assert result.ok, result.error
        done += 1
    assert done == len(rows)
    return time.perf_counter() - started


def _ray_run(spec: Any, rows: list[dict[str, str]], **options: Any) -> tuple[float, Any]:
    """(seconds without the batch's start-up, stats) of a Ray batch."""
    from mmoc_runtime.ray_batch import RayStats

    stats = RayStats()
    seconds = asyncio.run(_timed(spec, rows, backend="ray", stats=stats, **options))
    return seconds - stats.startup_seconds, stats


def throughput(spec: Any, rows: int, concurrency: int) -> None:
    data = _rows(rows)
    asyncio.run(_timed(spec, data[:100], concurrency=concurrency))  # warm: imports, pools
    local = asyncio.run(_timed(spec, data, concurrency=concurrency))
    on_ray, stats = _ray_run(spec, data, workers=2, concurrency=max(1, concurrency // 2))
    print(f"{rows} rows, 20 ms replies: local {rows / local:.0f} rows/s (concurrency "
          f"{concurrency}); Ray {rows / on_ray:.0f} rows/s (2 workers x {concurrency // 2}; "
          f"{rows / (on_ray + stats.startup_seconds):.0f} rows/s with its "
          f"{stats.startup_seconds:.2f}s start); Ray/local {local / on_ray:.2f}x "
          f"(target >= 0.5x)")


def overhead(spec: Any, rows: int, concurrency: int) -> None:
    data = _rows(rows)
    local = asyncio.run(_timed(spec, data, concurrency=concurrency, mock=True))
    on_ray, _ = _ray_run(spec, data, workers=1, concurrency=concurrency, mock=True)
    print(f"per-row overhead (mock, 1 worker, concurrency {concurrency}): local "
          f"{local / rows * 1e3:.3f} ms/row, Ray {on_ray / rows * 1e3:.3f} ms/row, Ray adds "
          f"{(on_ray - local) / rows * 1e3:.3f} ms/row")


def scaling(spec: Any, rows: int, rpm: float) -> None:
    from mmoc_runtime import LimiterRegistry, Limits

    for limit in (None, rpm):
        registry = LimiterRegistry()
        if limit is not None:
            registry.configure({"lb/small": Limits(rpm=limit)})
        # With a limit the first `burst` (one second's worth) rows go at once from the full
        # bucket: the rate the limit holds is the rest over the time.
        burst = 0.0 if limit is None else limit / 60.0
        rates = []
        for workers in (1, 2):
            seconds, _ = _ray_run(spec, _rows(rows), workers=workers, concurrency=1,
                                  limiters=registry)
            rates.append((rows - min(burst, rows / 2)) / seconds)
        label = "no limit" if limit is None else \
            f"rpm {limit:g} ({limit / 60:.0f}/s, rows past the first {burst:.0f})"
        print(f"scaling, {label}: 1 worker {rates[0]:.1f} rows/s, 2 workers {rates[1]:.1f} "
              f"rows/s ({rates[1] / rates[0]:.2f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scale-rows", type=int, default=300)
    parser.add_argument("--rpm", type=float, default=3_000.0)
    args = parser.parse_args(argv if argv is not None else [])
    try:
        import ray
    except ImportError:
        print('bench_ray: skipped (pip install "mmoc[ray]")')
        return 0
    from bench.bench_providers import start_server

    with start_server(LATENCY) as base:
        os.environ[KEY_ENV] = "bench-key"  # before Ray starts: the workers inherit it
        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="mmoc")
        print(f"start-up: ray.init of a local cluster {time.perf_counter() - started:.2f}s")
        try:
            with tempfile.TemporaryDirectory() as folder:
                module = _module(Path(folder), base, "lb/small", "bench_ray_gen")
                for concurrency in sorted({8, args.concurrency}):
                    throughput(module.PIPELINE, args.rows, concurrency)
                overhead(module.PIPELINE, args.rows, 8)
                scaling(module.PIPELINE, args.scale_rows, args.rpm)
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
