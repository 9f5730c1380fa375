"""`run_batch` with a choice of backend: `local` (this process, `batch.run_batch`) or `ray`
(a Ray cluster, `ray_batch.run_batch_ray`, imported only when asked for)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from .batch import Row, RowResult
from .batch import run_batch as run_local
from .spec import PipelineSpec

BACKENDS = ("local", "ray")


def run_batch(spec: PipelineSpec, rows: Iterable[Row], *, backend: str = "local",
              **options: Any) -> AsyncIterator[RowResult]:
    """Run `spec` once per row: an async iterator of each row's `RowResult` as it finishes.
    `backend="local"` takes `batch.run_batch`'s options (and `execute`'s); `backend="ray"`
    takes `ray_batch.run_batch_ray`'s (`address=`, `workers=` ...; docs/scale.md)."""
    if backend == "local":
        return run_local(spec, rows, **options)
    if backend == "ray":
        from .ray_batch import run_batch_ray

        return run_batch_ray(spec, rows, **options)
    raise ValueError(f"unknown batch backend {backend!r}: use one of {', '.join(BACKENDS)}")
