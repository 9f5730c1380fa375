"""Batch runs on a Ray cluster: `run_batch(..., backend="ray")` (docs/scale.md).

Needs the `ray` extra (`pip install "mmoc[ray]"`); `import mmoc_runtime` never imports Ray.

The driver (this process) reads the rows, hands them to worker actors in small chunks and
writes each row's result; the workers run the generated module's code, each with `concurrency`
rows in flight on its own event loop (so one worker drives many model calls). Ray core actors
rather than Ray Data (docs/scale.md says why): rows come from a lazy iterator the driver owns
(stdin, `--resume`'s skips, bad lines), the driver must know which row every result belongs to
(exactly once), and a stop or a spent budget must stop taking rows at once.

- Backpressure: each worker has at most `2 * concurrency` rows assigned (in flight or queued
  for a slot); the driver pulls the next row from the iterator only when a worker has room, so
  memory stays flat however many rows there are.
- Code: the generated module (and every module of the pipeline's transforms that is not an
  installed package: those beside the pipeline) is copied into a staging folder that reaches
  the workers as Ray's `runtime_env` `working_dir`; workers need only `mmoc[ray]` installed.
- Exactly once: every row in flight has one chunk in charge of it (`owner`). A worker that dies
  fails its chunks; their rows go back to the front of the queue and run again (on a worker
  that is alive, or the dead one once Ray restarts it), at most `MAX_ATTEMPTS` times. A result
  is written only when its chunk is the row's current owner, so no row has two lines.
- Limits and budgets hold cluster-wide through `ray_limits` (named holder actors).
- Secrets: API keys never travel in task arguments, results or the runtime_env (whose
  `env_vars` Ray shows in its dashboard and keeps in the GCS). Workers read them from their
  process environment: a cluster started by this driver inherits the driver's; on a cluster of
  your own, export them where `ray start` runs (docs/scale.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import itertools
import logging
import os
import shutil
import signal
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .batch import FAILED, BadRow, BatchControl, Row, RowResult, _inputs_reader, _run_row
from .budget import BUDGET_EXCEEDED, Budget
from .limiter import LimiterRegistry, Limits, LocalBuckets, RateSource, default_limiters
from .pricing import Price, declare_prices, declared_prices
from .ray_limits import BudgetHolder, BudgetShare, HeldPermits, LimiterHolder, blocking_draw
from .spec import ParallelGroup, PipelineSpec, TransformStep

WORKER_LOST = "worker_lost"
# How many times a row is handed out before a lost worker fails it (kind `worker_lost`).
MAX_ATTEMPTS = 3
# The most rows in one chunk (one actor call): bigger chunks cost less per row, smaller ones
# return results sooner.
MAX_CHUNK = 16
NAMESPACE = "mmoc"

IndexedRow = tuple[int, Row]


class RayBackendError(RuntimeError):
    """The batch could not start on Ray (Ray missing, no cluster, workers that cannot import
    the pipeline): nothing was run."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayBackendError('the Ray backend needs Ray: pip install "mmoc[ray]"') from None
    return ray


@dataclass
class RayStats:
    """What the Ray backend did, filled in as it runs (for tests, the bench and tools)."""

    workers: int = 0
    startup_seconds: float = 0.0  # connecting, shipping the code, starting the workers
    chunks: int = 0
    chunks_lost: int = 0  # actor calls that failed because their worker died
    rows_resubmitted: int = 0
    limiters: dict[str, dict[str, Any]] = field(default_factory=dict)  # holder stats by key
    budget: dict[str, float | int] | None = None


# ---- shipping the code -----------------------------------------------------------------


@dataclass(frozen=True)
class Shipment:
    folder: str  # the staging folder: the workers' working_dir
    module: str  # the generated module's name in it


def module_of(spec: PipelineSpec) -> ModuleType:
    """The generated module that defines `spec` (its `PIPELINE`)."""
    for module in list(sys.modules.values()):
        if getattr(module, "PIPELINE", None) is spec:
            return module
    raise ValueError(f"the Ray backend ships the generated module of pipeline {spec.name!r} to "
                     "the workers, and no imported module has it as PIPELINE: import the "
                     "module mmoc compiled (or use mmoc run --backend ray)")


def stage(spec: PipelineSpec) -> Shipment:
    """A fresh folder holding the generated module and the user's transform modules."""
    module = module_of(spec)
    try:
        code = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        raise ValueError(f"cannot read the source of {module.__name__} to ship it: {exc}") from exc
    name = "mmoc_job_" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]
    folder = tempfile.mkdtemp(prefix="mmoc-ray-")
    Path(folder, f"{name}.py").write_text(code, encoding="utf-8")
    for path in user_module_paths(spec, module.__name__):
        target = Path(folder, path.name)
        if path.is_dir():
            shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, target)
    return Shipment(folder, name)


def user_module_paths(spec: PipelineSpec, generated: str) -> list[Path]:
    """The file or package folder of each top-level module the spec's transforms come from,
    when it is not installed (not under the interpreter's library folders): those are the
    modules beside the pipeline, which workers cannot import otherwise."""
    installed = {os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                 if (p := sysconfig.get_paths().get(key))}
    found: dict[str, Path] = {}
    for function in _transform_functions(spec):
        top = (getattr(function, "__module__", None) or "").partition(".")[0]
        if not top or top in found or top in (generated, "mmoc_runtime", "builtins"):
            continue
        module = sys.modules.get(top)
        file = getattr(module, "__file__", None)
        if not file or not os.path.exists(file):
            continue
        real = os.path.realpath(file)
        if any(real.startswith(root + os.sep) for root in installed):
            continue
        path = Path(real)
        found[top] = path.parent if path.name == "__init__.py" else path
    return list(found.values())


def _transform_functions(spec: PipelineSpec) -> Iterator[Any]:
    for step in spec.steps:
        for member in step.steps if isinstance(step, ParallelGroup) else (step,):
            if isinstance(member, TransformStep):
                yield member.function


# ---- the workers -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker is started with: no secrets (see the module's docstring)."""

    module: str
    concurrency: int
    mock: bool = False
    capture_content: bool = False
    limits: Mapping[str, Limits] = field(default_factory=dict)
    # The holders' actor names (LimiterHolder by key, BudgetHolder): plain data, so a worker
    # Ray restarts needs nothing kept alive in the object store to start again.
    holders: Mapping[str, str] = field(default_factory=dict)
    permit_batch: int = 1
    budget: str | None = None
    budget_usd: float = 0.0
    budget_slice_usd: float = 0.0
    prices: Mapping[str, Price] = field(default_factory=dict)  # the driver's declared prices


class RowWorker:
    """A Ray actor running rows of the batch on its own event loop (an async actor)."""

    def __init__(self, worker_id: str, setup: WorkerSetup) -> None:
        ray = _import_ray()
        self.worker_id = worker_id
        declare_prices(setup.prices)  # a worker costs calls as the driver does
        self.spec: PipelineSpec = importlib.import_module(setup.module).PIPELINE
        self.inputs_of = _inputs_reader(self.spec)
        self.slots = asyncio.Semaphore(setup.concurrency)
        holders = {key: ray.get_actor(name, namespace=NAMESPACE)
                   for key, name in setup.holders.items()}
        self.registry = LimiterRegistry(sources=self._source_maker(holders, setup.permit_batch))
        self.registry.configure(setup.limits)
        self.budget: Budget | None = None
        if setup.budget is not None:
            holder = ray.get_actor(setup.budget, namespace=NAMESPACE)
            self.budget = BudgetShare(blocking_draw(holder), setup.budget_usd,
                                      setup.budget_slice_usd)
        self.options: dict[str, Any] = {"mock": setup.mock, "limiters": self.registry,
                                        "capture_content": setup.capture_content}

    def _source_maker(self, holders: Mapping[str, Any], batch: int) -> Any:
        def source(key: str, limits: Limits) -> RateSource:
            holder = holders.get(key)
            if holder is None:  # not known to the driver: limited in this worker alone
                return LocalBuckets(limits, time.monotonic)
            return HeldPermits(holder, batch, self.worker_id)

        return source

    async def ready(self) -> int:
        return os.getpid()

    async def run_rows(self, chunk: list[IndexedRow]) -> list[RowResult]:
        return list(await asyncio.gather(*(self._run_one(index, row) for index, row in chunk)))

    async def _run_one(self, index: int, row: Row) -> RowResult:
        async with self.slots:
            return await _run_row(self.spec, index, row, self.inputs_of, self.budget,
                                  self.options)

    async def hold(self, key: str, seconds: float) -> None:
        """A 429 another worker got: this worker's limiter for `key` waits too."""
        limiter = self.registry.limiter(key)
        if limiter is not None:
            limiter.hold(seconds)


# ---- the driver ------------------------------------------------------------------------


@dataclass
class _Flight:
    chunk_id: int
    worker: int
    rows: list[IndexedRow]
    ref: Any


class _Job:
    """The actors of one batch: limit holders, the budget holder, the workers."""

    def __init__(self, shipment: Shipment, runtime_env: dict[str, Any] | None, ray: Any, *,
                 concurrency: int, workers: int | None,
                 limits: Mapping[str, Limits], max_cost: float | None, mock: bool,
                 capture_content: bool) -> None:
        self.ray = ray
        self.token = uuid.uuid4().hex[:12]
        self.shipment = shipment
        self.holders: dict[str, Any] = {}
        self.budget: Any = None
        self.workers: list[Any] = []
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        names: dict[str, str] = {}
        for key, value in limits.items():
            names[key] = f"mmoc-limiter:{self.token}:{key}"
            self.holders[key] = ray.remote(LimiterHolder).options(
                name=names[key], namespace=NAMESPACE, num_cpus=0).remote(key, value)
        budget_name = None
        if max_cost is not None:
            budget_name = f"mmoc-budget:{self.token}"
            self.budget = ray.remote(BudgetHolder).options(
                name=budget_name, namespace=NAMESPACE, num_cpus=0).remote(max_cost)
        setup = WorkerSetup(
            module=self.shipment.module, concurrency=concurrency, mock=mock,
            capture_content=capture_content, limits=dict(limits), holders=names,
            permit_batch=_permit_batch(limits.values(), count), budget=budget_name,
            budget_usd=max_cost or 0.0, budget_slice_usd=(max_cost or 0.0) / (8 * count),
            prices=declared_prices(),
        )
        actor = ray.remote(RowWorker)
        for number in range(count):
            worker_id = f"{self.token}:{number}"
            handle = actor.options(
                name=f"mmoc-worker:{worker_id}", namespace=NAMESPACE, runtime_env=runtime_env,
                num_cpus=1, max_restarts=-1, max_task_retries=0,
                max_concurrency=max(1000, 4 * concurrency),
            ).remote(worker_id, setup)
            self.workers.append(handle)
            for holder in self.holders.values():
                holder.register.remote(worker_id, handle)

    def wait_ready(self) -> None:
        """Every worker has imported the module (a broken one fails here, not per row)."""
        try:
            self.ray.get([worker.ready.remote() for worker in self.workers])
        except self.ray.exceptions.RayError as exc:
            raise RayBackendError(f"the Ray workers could not start: {exc}") from exc

    def collect(self, stats: RayStats) -> None:
        with contextlib.suppress(Exception):
            for key, holder in self.holders.items():
                stats.limiters[key] = self.ray.get(holder.stats.remote(), timeout=10)
            if self.budget is not None:
                stats.budget = self.ray.get(self.budget.stats.remote(), timeout=10)

    def close(self) -> None:
        for handle in [*self.workers, *self.holders.values(), self.budget]:
            if handle is not None:
                with contextlib.suppress(Exception):
                    self.ray.kill(handle, no_restart=True)


def _permit_batch(limits: Iterable[Limits], workers: int) -> int:
    """Permits a worker takes per refill: at most half of the smallest bucket's share per
    worker (so stock held by workers stays a small part of the burst), 1 to `MAX_CHUNK`."""
    bursts = [lim.burst if lim.burst is not None else max(1.0, lim.rpm / 60.0)
              for lim in limits if lim.rpm is not None]
    if not bursts:
        return MAX_CHUNK
    return max(1, min(MAX_CHUNK, int(min(bursts) / (2 * workers))))


def job_limits(spec: PipelineSpec, registry: LimiterRegistry) -> dict[str, Limits]:
    """The limits the job holds cluster-wide: the registry's (configuration and command line)
    with the pipeline's own `limit` statements filling in the axes they leave unset."""
    merged = LimiterRegistry()
    merged.configure(registry.limits)
    if spec.limits:
        merged.configure(spec.limits, override=False)
    return dict(merged.limits)


def _connect(ray: Any, address: str | None, shipment: Shipment) -> dict[str, Any] | None:
    """Connect (or start a local cluster when `address` is None) with the shipment as the
    job's working_dir: None. In a session the caller started, the runtime_env the workers
    need (see `_uploaded`)."""
    if ray.is_initialized():
        return {"working_dir": _uploaded(shipment.folder)}
    # ray.init makes SIGTERM exit the process at once; the batch's own handler (stop taking
    # rows, give rows in flight their grace period) must stay.
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING,
                 log_to_driver=False, include_dashboard=False if address is None else None,
                 runtime_env={"working_dir": shipment.folder})
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "a new local cluster"
        raise RayBackendError(f"cannot connect to Ray at {where}: {exc}") from exc
    finally:
        if threading.current_thread() is threading.main_thread() and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
    return None


def _uploaded(folder: str) -> str:
    """`folder` uploaded to the cluster, as a `gcs://` URI an actor's runtime_env takes.

    Ray's public API uploads a local working_dir only in `ray.init`; in a session already
    started (a notebook, the tests) this does the same upload `ray.init` does, with Ray's own
    function for it (internal, so guarded: a Ray without it gets a clear error)."""
    try:
        from ray._private.runtime_env.working_dir import upload_working_dir_if_needed
    except ImportError as exc:
        raise RayBackendError("this Ray cannot ship code to a session started before the "
                              "batch: let mmoc start or connect to Ray (do not call ray.init "
                              "first)") from exc
    scratch = tempfile.mkdtemp(prefix="mmoc-ray-zip-")
    quiet = logging.getLogger("mmoc_runtime.ray_batch")
    quiet.setLevel(logging.WARNING)
    try:
        try:
            env = upload_working_dir_if_needed({"working_dir": folder}, include_gitignore=False,
                                               scratch_dir=scratch, logger=quiet)
        except TypeError:  # Ray before include_gitignore
            env = upload_working_dir_if_needed(  # type: ignore[call-arg]
                {"working_dir": folder}, scratch_dir=scratch, logger=quiet)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    uri: str = env["working_dir"]
    return uri


async def run_batch_ray(
    spec: PipelineSpec,
    rows: Iterable[Row],
    *,
    concurrency: int = 8,
    skip: Container[int] = (),
    max_cost: float | None = None,
    control: BatchControl | None = None,
    grace: float | None = None,
    address: str | None = None,
    workers: int | None = None,
    limiters: LimiterRegistry | None = None,
    mock: bool = False,
    capture_content: bool = False,
    stats: RayStats | None = None,
) -> AsyncIterator[RowResult]:
    """`batch.run_batch` on Ray: the same results, one per row, as rows finish. `concurrency`
    is rows in flight per worker; `workers` defaults to the cluster's CPUs; `address` is
    `ray.init`'s (None: the cluster in `RAY_ADDRESS`, else a new local one; `auto`; or
    `ray://host:port`). A Ray session already started in this process is used as it is."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if max_cost is not None and not isinstance(max_cost, int | float):
        raise TypeError("the Ray backend takes max_cost in USD (a number), not a Budget")
    ray = _import_ray()
    control = control or BatchControl()
    stats = stats if stats is not None else RayStats()
    started = time.perf_counter()
    try:
        shipment = stage(spec)
    except ValueError as exc:
        raise RayBackendError(str(exc)) from exc
    started_here = not ray.is_initialized()
    job: _Job | None = None
    try:
        runtime_env = _connect(ray, address, shipment)
        limits = job_limits(spec, limiters if limiters is not None else default_limiters())
        job = _Job(shipment, runtime_env, ray, concurrency=concurrency, workers=workers,
                   limits=limits, max_cost=max_cost, mock=mock,
                   capture_content=capture_content)
        job.wait_ready()
        stats.workers = len(job.workers)
        stats.startup_seconds = time.perf_counter() - started
        driver = _Driver(ray, spec, job.workers, concurrency, skip, control, stats)
        async for result in driver.run(rows, grace):
            yield result
    finally:
        if job is not None:
            job.collect(stats)
            job.close()
        shutil.rmtree(shipment.folder, ignore_errors=True)
        if started_here and ray.is_initialized():
            ray.shutdown()


class _Driver:
    """Hands rows to workers and yields each row's result once (see the module's docstring)."""

    def __init__(self, ray: Any, spec: PipelineSpec, workers: list[Any], concurrency: int,
                 skip: Container[int], control: BatchControl, stats: RayStats) -> None:
        self.ray = ray
        self.spec = spec
        self.workers = workers
        self.capacity = 2 * concurrency  # rows assigned to one worker at most
        self.chunk = max(1, min(MAX_CHUNK, concurrency // 2))
        self.skip = skip
        self.control = control
        self.stats = stats
        self.load = [0] * len(workers)
        self.retry: deque[IndexedRow] = deque()
        self.attempts: dict[int, int] = {}
        self.owner: dict[int, int] = {}  # row index -> the chunk in charge of it
        self.flights: dict[asyncio.Future[Any], _Flight] = {}
        self.bad: list[IndexedRow] = []
        self.ids = itertools.count()
        self.source: Iterator[IndexedRow] = iter(())

    async def run(self, rows: Iterable[Row], grace: float | None) -> AsyncIterator[RowResult]:
        self.source = enumerate(rows)
        wake = asyncio.Event()
        self.control._wake = wake.set
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        try:
            while True:
                if not self.control.stopping:
                    self._fill()
                for index, row in self.bad:
                    yield await _run_row(self.spec, index, row, dict, None, {})
                self.bad.clear()
                if not self.flights:
                    if self.control.stopping or not self._more():
                        return
                    continue
                if self.control.stopping and deadline is None and grace is not None:
                    deadline = loop.time() + grace
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                waker = loop.create_task(wake.wait())
                done, _ = await asyncio.wait([*self.flights, waker], timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                if waker in done:
                    wake.clear()  # seen: the loop now checks `stopping`
                if not done:
                    return  # the grace period is over: the finally cancels what is left
                for future in done:
                    if future is not waker:
                        for result in self._landed(future):
                            yield result
        finally:
            self.control._wake = None
            for flight in self.flights.values():
                with contextlib.suppress(Exception):
                    self.ray.cancel(flight.ref)

    def _more(self) -> bool:
        """Rows may be left: the retry queue or the iterator (peeked into `retry`)."""
        if self.retry:
            return True
        item = self._next_row()
        if item is None:
            return False
        self.retry.appendleft(item)
        return True

    def _fill(self) -> None:
        for worker in range(len(self.workers)):
            while self.load[worker] < self.capacity:
                rows = self._take(min(self.chunk, self.capacity - self.load[worker]))
                if not rows:
                    return
                self._submit(worker, rows)

    def _take(self, count: int) -> list[IndexedRow]:
        taken: list[IndexedRow] = []
        while len(taken) < count:
            item = self.retry.popleft() if self.retry else self._next_row()
            if item is None:
                break
            taken.append(item)
        return taken

    def _next_row(self) -> IndexedRow | None:
        for index, row in self.source:
            if index in self.skip:
                continue
            if isinstance(row, BadRow):
                self.bad.append((index, row))
                continue
            return index, row
        return None

    def _submit(self, worker: int, rows: list[IndexedRow]) -> None:
        chunk_id = next(self.ids)
        ref = self.workers[worker].run_rows.remote(rows)
        for index, _ in rows:
            self.owner[index] = chunk_id
        self.load[worker] += len(rows)
        self.flights[asyncio.wrap_future(ref.future())] = _Flight(chunk_id, worker, rows, ref)
        self.stats.chunks += 1

    def _landed(self, future: asyncio.Future[Any]) -> list[RowResult]:
        flight = self.flights.pop(future)
        self.load[flight.worker] -= len(flight.rows)
        try:
            results: list[RowResult] = future.result()
        except self.ray.exceptions.RayError as exc:
            return self._lost(flight, exc)
        written = []
        for result in results:
            if self.owner.get(result.index) != flight.chunk_id:
                continue  # not this chunk's row any more: never two lines for one row
            del self.owner[result.index]
            self.attempts.pop(result.index, None)
            if result.status == BUDGET_EXCEEDED:
                self.control.stop(BUDGET_EXCEEDED)
            written.append(result)
        return written

    def _lost(self, flight: _Flight, exc: BaseException) -> list[RowResult]:
        """The chunk's worker died: its rows go back to the queue, or fail after
        `MAX_ATTEMPTS` tries."""
        self.stats.chunks_lost += 1
        failed = []
        for index, row in reversed(flight.rows):
            if self.owner.get(index) != flight.chunk_id:
                continue
            del self.owner[index]
            tries = self.attempts[index] = self.attempts.get(index, 0) + 1
            if tries >= MAX_ATTEMPTS:
                message = f"its worker was lost {tries} times; last: {type(exc).__name__}"
                failed.append(RowResult(index, FAILED, id=_row_id(row),
                                        error={"kind": WORKER_LOST, "message": message}))
            else:
                self.retry.appendleft((index, row))
                self.stats.rows_resubmitted += 1
        return failed


def _row_id(row: Row) -> Any:
    return row.get("id") if isinstance(row, Mapping) else None


__all__ = ["MAX_ATTEMPTS", "WORKER_LOST", "RayBackendError", "RayStats", "RowWorker",
           "job_limits", "module_of", "run_batch_ray", "stage", "user_module_paths"]
