"""mmoc adapter for the side-by-side harness `../shared/bench/bench_peers.py`.

Run from the project root:

    .bench-venv/bin/python ../shared/bench/bench_peers.py --adapter mmoc=bench.adapter:build

Each abstract step becomes a transform step of a `PipelineSpec` whose function awaits the
harness's own step coroutine with its dependencies' values; `execute` runs the spec exactly as
it runs a generated module's (trace and all), so the figures are the executor's overhead.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmoc_runtime import PipelineSpec, TransformStep, execute

HARNESS_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench"


def _harness_run_step() -> Callable[[Any, Sequence[int]], Awaitable[int]]:
    """The harness's step body: from the running harness (`__main__`), else imported."""
    main = sys.modules.get("__main__")
    found = getattr(main, "run_step", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if str(HARNESS_DIR) not in sys.path:
        sys.path.insert(0, str(HARNESS_DIR))
    from bench_peers import run_step  # type: ignore[import-not-found]

    return run_step  # type: ignore[no-any-return]


def _step_function(step: Any, run_step: Callable[[Any, Sequence[int]], Awaitable[int]]
                   ) -> Callable[..., Awaitable[int]]:
    deps = tuple(step.deps)

    async def call(**values: int) -> int:
        return await run_step(step, [values[d] for d in deps])

    call.__name__ = step.name
    return call


def spec_of(dag: Any) -> PipelineSpec:
    run_step = _harness_run_step()
    steps = tuple(
        TransformStep(s.name, _step_function(s, run_step), output_key=s.name, reads=tuple(s.deps))
        for s in dag.steps
    )
    return PipelineSpec(f"bench_{dag.name}", steps=steps)


def build(dag: Any) -> Callable[[], Awaitable[Mapping[str, int]]]:
    spec = spec_of(dag)

    async def run() -> Mapping[str, int]:
        result = await execute(spec, {})
        if not result.success:
            raise RuntimeError(result.error)
        return result.values

    return run
