"""Batch runs: the pipeline once per row, rows in flight at once, results as each row ends.

The parts, kept apart so another backend (issue 13: Ray) can reuse each one:
- a row source: any iterable of rows (a mapping of inputs, or a `BadRow` for a line that could
  not be read); `read_rows` reads JSONL or CSV lazily from a path or a stream;
- the runner: `run_batch(spec, rows, concurrency=...)`, an async iterator of `RowResult`s in
  the order rows finish. It pulls a row only when a slot is free (memory stays flat however
  many rows there are), stops taking rows when asked (`BatchControl.stop`) or when the batch's
  budget refused a call, and gives rows in flight `grace` seconds before cancelling them (a
  cancelled row yields nothing, so `--resume` runs it again);
- a result sink: `ResultFile` appends one JSON line per result with a single `write` on an
  unbuffered file, so a stopped process never leaves half a line; `ResultFile.open(path,
  resume=True)` first rewrites the file keeping only each row's successful line (failed lines
  go: those rows run again) and returns the indexes to skip. The file never holds two lines
  for one row, so after any number of stops and resumes it has exactly one line per row;
- a tally (`BatchTally`): counts, tokens, cost and rate, for the progress view and summary.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from .budget import BUDGET_EXCEEDED, Budget
from .errors import error_kind
from .executor import execute
from .spec import PipelineSpec

SUCCESS = "success"
FAILED = "failed"
FORMATS = ("jsonl", "csv")


# ---- rows in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read (not JSON, not an object): it becomes a failed result."""

    message: str


Row = Mapping[str, Any] | BadRow


def data_format(name: str, given: str | None = None) -> str:
    """`jsonl` or `csv`: `given`, else by the file's suffix (`.csv`; anything else JSONL)."""
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"unknown data format {given!r}: use jsonl or csv")
        return given
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def read_rows(source: str | Path | IO[str], fmt: str | None = None) -> Iterator[Row]:
    """The rows of a JSONL or CSV file (`-`: standard input), read as they are needed.
    JSONL: one object a line, blank lines ignored. CSV: a header line, then one row a line
    (every value is text; the runtime converts it to the input's declared type)."""
    if isinstance(source, str | Path):
        name = str(source)
        kind = data_format(name, fmt)
        if name == "-":
            yield from _rows_of(sys.stdin, kind)
            return
        with open(source, encoding="utf-8", newline="") as stream:
            yield from _rows_of(stream, kind)
        return
    yield from _rows_of(source, fmt or "jsonl")


def _rows_of(stream: IO[str], kind: str) -> Iterator[Row]:
    if kind == "csv":
        for record in csv.DictReader(stream):
            yield {k: v for k, v in record.items() if k is not None}
        return
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRow(f"line {number}: not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield BadRow(f"line {number}: a row must be a JSON object, got {type(value).__name__}")
            continue
        yield value


# ---- results out -----------------------------------------------------------------------


@dataclass
class RowResult:
    """One row's line in the results file (`to_line`, keys in this order)."""

    index: int  # the row's position in the data, from 0 (blank JSONL lines not counted)
    status: str  # success, failed or budget_exceeded
    id: Any = None  # the row's `id` field, when it has one
    outputs: dict[str, Any] | None = None
    error: dict[str, str] | None = None  # {kind, message} when the row did not succeed
    tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    def to_dict(self) -> dict[str, Any]:
        line: dict[str, Any] = {"index": self.index}
        if self.id is not None:
            line["id"] = self.id
        line.update(status=self.status, outputs=self.outputs, error=self.error,
                    tokens=self.tokens, cost_usd=self.cost_usd,
                    latency_ms=round(self.latency_ms, 3))
        return line

    def to_line(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str) + "\n"


class ResultFile:
    """A JSONL results file written one whole line per `write` (see the module's docstring)."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, resume: bool = False) -> tuple[ResultFile, set[int]]:
        """The file ready for appending, and the indexes of rows already done (on resume)."""
        name = os.fspath(path)
        done: set[int] = set()
        if resume and os.path.exists(name):
            done = _keep_successes(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if resume else os.O_TRUNC)
        return cls(os.open(name, flags, 0o644), name), done

    def write(self, result: RowResult) -> None:
        data = result.to_line().encode("utf-8")
        written = os.write(self.fd, data)
        while written < len(data):  # a regular file takes it whole; a pipe may not
            written += os.write(self.fd, data[written:])

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _keep_successes(name: str) -> set[int]:
    """Rewrite the results file with one successful line per row (the last one; a line cut
    short or unreadable is dropped) and return those rows' indexes."""
    done: dict[int, bytes] = {}
    with open(name, "rb") as old:
        for line in old:
            if not line.endswith(b"\n"):
                continue  # half a line: cannot happen with `write`, but a disk may fill up
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("status") == SUCCESS and isinstance(
                    record.get("index"), int):
                done[record["index"]] = line
    temporary = f"{name}.resume-{os.getpid()}"
    with open(temporary, "wb") as new:
        new.writelines(done.values())
        new.flush()
        os.fsync(new.fileno())
    os.replace(temporary, name)
    return set(done)


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Every line of a results file, parsed (for tests and tools)."""
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


# ---- the tally -------------------------------------------------------------------------


@dataclass
class BatchTally:
    """What a batch has done so far: the progress view's and the summary's figures."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    done: int = 0
    failed: int = 0
    skipped: int = 0  # rows already done in the results file (--resume)
    tokens: int = 0
    cost_usd: float = 0.0
    total: int | None = None  # rows in the data, when known (for the ETA)
    stopped: str | None = None  # why the batch stopped taking rows early

    def __post_init__(self) -> None:
        self.started = self.clock()

    def add(self, result: RowResult) -> None:
        self.done += 1
        if not result.ok:
            self.failed += 1
        self.tokens += result.tokens
        self.cost_usd += result.cost_usd

    @property
    def elapsed(self) -> float:
        return max(0.0, self.clock() - self.started)

    @property
    def rate(self) -> float:
        """Rows finished a second."""
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when the number of rows is known."""
        if self.total is None or not self.rate:
            return None
        return max(0, self.total - self.skipped - self.done) / self.rate

    def line(self) -> str:
        """The plain progress line."""
        eta = self.eta
        parts = [f"{self.done} rows done", f"{self.failed} failed",
                 f"{self.rate:.1f} rows/s", f"{self.tokens} tokens", f"${self.cost_usd:.4f}"]
        if self.skipped:
            parts.insert(1, f"{self.skipped} already done")
        if eta is not None:
            parts.append(f"ETA {eta:.0f}s")
        return "batch: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"rows_done": self.done, "rows_failed": self.failed,
                "rows_already_done": self.skipped, "tokens": self.tokens,
                "cost_usd": self.cost_usd, "seconds": round(self.elapsed, 3),
                "rows_per_second": round(self.rate, 3), "stopped": self.stopped}


# ---- the runner ------------------------------------------------------------------------


class BatchControl:
    """Stops a running batch from outside (a signal handler, a UI): `stop()` makes it take no
    more rows; rows in flight get the batch's grace period. Safe to call more than once."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._wake: Callable[[], None] | None = None

    @property
    def stopping(self) -> bool:
        return self.reason is not None

    def stop(self, reason: str = "stopped") -> None:
        if self.reason is None:
            self.reason = reason
            if self._wake is not None:
                self._wake()


async def run_batch(
    spec: PipelineSpec,
    rows: Iterable[Row],
    *,
    concurrency: int = 8,
    skip: Container[int] = (),
    max_cost: float | Budget | None = None,
    control: BatchControl | None = None,
    grace: float | None = None,
    **options: Any,
) -> AsyncIterator[RowResult]:
    """Run `spec` once per row, at most `concurrency` rows at once; yield each row's result as
    it finishes. Rows whose index is in `skip` are not run. `max_cost` is the batch's budget
    in USD (or a shared `Budget`): a call that would pass it is not made, and the batch takes
    no more rows. `options` are `execute`'s (`mock=`, `providers=`, `limiters=` ...)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    budget = Budget(max_cost, "the batch's budget") if isinstance(max_cost, int | float) \
        else max_cost
    control = control or BatchControl()
    finished: asyncio.Queue[asyncio.Task[RowResult] | None] = asyncio.Queue()
    control._wake = lambda: finished.put_nowait(None)
    inputs_of = _inputs_reader(spec)
    source = enumerate(rows)
    in_flight: set[asyncio.Task[RowResult]] = set()
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    try:
        while True:
            while len(in_flight) < concurrency and not control.stopping:
                item = next(source, None)
                if item is None:
                    break
                index, row = item
                if index in skip:
                    continue
                task = loop.create_task(_run_row(spec, index, row, inputs_of, budget, options))
                task.add_done_callback(finished.put_nowait)
                in_flight.add(task)
            if not in_flight:
                return
            if control.stopping and deadline is None and grace is not None:
                deadline = loop.time() + grace
            try:
                async with asyncio.timeout_at(deadline):
                    done = await finished.get()
            except TimeoutError:
                return  # the grace period is over: the finally cancels what is left
            if done is None or done not in in_flight:
                continue  # a wake-up from `stop`, or a task cancelled before
            in_flight.discard(done)
            result = done.result()
            if budget is not None and budget.exhausted:
                control.stop(BUDGET_EXCEEDED)
            yield result
    finally:
        control._wake = None
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)


def _inputs_reader(spec: PipelineSpec) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A row's inputs: its fields that are declared inputs (all of them if none are)."""
    names = frozenset(i.name for i in spec.inputs)
    if not names:
        return dict
    return lambda row: {k: v for k, v in row.items() if k in names}


async def _run_row(spec: PipelineSpec, index: int, row: Row,
                   inputs_of: Callable[[Mapping[str, Any]], dict[str, Any]],
                   budget: Budget | None, options: Mapping[str, Any]) -> RowResult:
    if isinstance(row, BadRow):
        return RowResult(index, FAILED, error={"kind": "input", "message": row.message})
    row_id = row.get("id")
    try:
        result = await execute(spec, inputs_of(row), budget=budget, **options)
    except Exception as exc:  # noqa: BLE001 - bad inputs, a broken spec: this row only
        return RowResult(index, FAILED, id=row_id,
                         error={"kind": error_kind(exc), "message": str(exc)})
    trace = result.trace
    error = None
    status = SUCCESS
    if not result.success:
        failed = trace.step(result.failed_step) if result.failed_step else None
        kind = failed.error_kind if failed is not None and failed.error_kind else "error"
        status = BUDGET_EXCEEDED if kind == BUDGET_EXCEEDED else FAILED
        error = {"kind": kind, "message": result.error or "failed"}
    return RowResult(
        index, status, id=row_id, outputs=result.outputs if result.success else None,
        error=error, tokens=trace.total_tokens, cost_usd=trace.total_cost_usd,
        latency_ms=trace.latency_ms,
    )


def count_rows(path: str, fmt: str | None = None) -> int | None:
    """The number of rows in a data file (for the ETA), or None for standard input or a file
    too big to count quickly (over 64 MiB)."""
    if path == "-" or not os.path.isfile(path) or os.path.getsize(path) > 64 << 20:
        return None
    with open(path, "rb") as stream:
        lines = sum(1 for line in stream if line.strip())
    return lines - 1 if data_format(path, fmt) == "csv" else lines


__all__ = ["BadRow", "BatchControl", "BatchTally", "ResultFile", "RowResult", "count_rows",
           "data_format", "read_results", "read_rows", "run_batch"]
