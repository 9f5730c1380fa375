"""`mmoc run FILE --data ROWS --out RESULTS`: the pipeline once per row (docs/batch.md).

The runtime does the work (`mmoc_runtime.batch`): this module reads the command line's
options, installs the SIGINT/SIGTERM handlers (stop taking rows, give rows in flight
`--grace` seconds, then cancel them: a cancelled row has no line, so `--resume` runs it
again), shows progress on stderr (a Rich bar on a terminal, a plain line every
`PLAIN_EVERY` seconds otherwise) and prints the summary. Exit 0 when every row succeeded,
1 when any failed or the batch stopped early, 2 for usage errors, 130 when interrupted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

if TYPE_CHECKING:
    from mmoc_runtime import Limits, PipelineSpec
    from mmoc_runtime.batch import BatchTally

# Seconds between two plain progress lines (no terminal).
PLAIN_EVERY = 10.0
# Seconds rows in flight may finish after SIGINT/SIGTERM, unless --grace says otherwise.
DEFAULT_GRACE = 30.0


@dataclass(frozen=True)
class BatchRequest:
    data: str
    out: str
    concurrency: int = 8
    resume: bool = False
    max_cost: float | None = None
    grace: float = DEFAULT_GRACE
    data_format: str | None = None
    mock: bool = False
    quiet: bool = False
    backend: str = "local"  # or "ray" (docs/scale.md)
    address: str | None = None  # --address: the Ray cluster
    workers: int | None = None  # --workers: Ray worker processes (default: the cluster's CPUs)


class BatchAbort(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def run_batch_request(module: Any, request: BatchRequest, err: Console,
                      clock: Callable[[], float] = time.monotonic) -> int:
    """Run the batch; the exit code. `module` is the compiled pipeline's module."""
    from mmoc_runtime.batch import BatchTally, ResultFile, count_rows, data_format, read_rows

    spec: PipelineSpec = module.PIPELINE
    if request.data != "-" and not os.path.isfile(request.data):
        # Before --out is opened (and emptied): a mistyped --data must not cost the results.
        raise BatchAbort(2, f"--data {request.data}: no such file")
    try:
        fmt = data_format(request.data, request.data_format)
        results, done = ResultFile.open(request.out, resume=request.resume)
    except (OSError, ValueError) as exc:
        raise BatchAbort(2, f"--out {request.out}: {_reason(exc)}") from exc
    tally = BatchTally(clock=clock, skipped=len(done), total=count_rows(request.data, fmt))
    rows = _read_guarded(read_rows(request.data, fmt), request.data)
    with results:
        stopped = _run_backend(spec, rows, done, request, results, tally, err)
    if not request.quiet:
        _print_summary(tally, request, err)
    if stopped == "interrupted":
        return 130
    return 1 if tally.failed or tally.stopped else 0


def _run_backend(spec: PipelineSpec, rows: Iterator[Any], done: set[int],
                 request: BatchRequest, results: Any, tally: BatchTally,
                 err: Console) -> str | None:
    if request.backend != "ray":
        return asyncio.run(_drive(spec, rows, done, request, results, tally, err))
    from mmoc_runtime.ray_batch import RayBackendError

    try:
        return asyncio.run(_drive(spec, rows, done, request, results, tally, err))
    except RayBackendError as exc:
        raise BatchAbort(2, f"--backend ray: {exc}") from exc


async def _drive(spec: PipelineSpec, rows: Iterator[Any], done: set[int],
                 request: BatchRequest, results: Any, tally: BatchTally,
                 err: Console) -> str | None:
    from mmoc_runtime.backends import run_batch
    from mmoc_runtime.batch import BatchControl

    control = BatchControl()
    loop = asyncio.get_running_loop()
    installed = _install_signals(loop, control)
    progress = _progress(err, tally, request.quiet)
    try:
        async for result in run_batch(
            spec, rows, concurrency=request.concurrency, skip=done, max_cost=request.max_cost,
            control=control, grace=request.grace, mock=request.mock,
            **_backend_options(request),
        ):
            try:
                results.write(result)
            except OSError as exc:  # a full disk, a closed pipe: the results cannot be kept
                raise BatchAbort(2, f"--out {request.out}: cannot write: {_reason(exc)}") from exc
            tally.add(result)
            progress.update()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        progress.close()
    tally.stopped = control.reason
    return control.reason


def _backend_options(request: BatchRequest) -> dict[str, Any]:
    if request.backend == "local":
        return {}
    return {"backend": request.backend, "address": request.address, "workers": request.workers}


def _install_signals(loop: asyncio.AbstractEventLoop, control: Any) -> list[int]:
    """SIGINT and SIGTERM stop the batch (see the module's docstring); a second one is not
    needed for the grace period to end, and is ignored."""
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, control.stop, "interrupted")
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            continue
        installed.append(sig)
    return installed


def _read_guarded(rows: Iterator[Any], name: str) -> Iterator[Any]:
    """The rows, with a data file that cannot be read turned into a usage error."""
    try:
        yield from rows
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchAbort(2, f"--data {name}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


# ---- progress ---------------------------------------------------------------------------


class _Plain:
    """A plain line on stderr every `PLAIN_EVERY` seconds of the tally's clock."""

    def __init__(self, err: Console, tally: BatchTally, quiet: bool) -> None:
        self.err = err
        self.tally = tally
        self.quiet = quiet
        self.last = tally.clock()

    def update(self) -> None:
        if self.quiet:
            return
        now = self.tally.clock()
        if now - self.last >= PLAIN_EVERY:
            self.last = now
            self.err.print(Text(self.tally.line()), soft_wrap=True)

    def close(self) -> None:
        return None


class _Bar:
    """A Rich progress bar: rows done and failed, rows/s, tokens, cost, ETA."""

    def __init__(self, err: Console, tally: BatchTally) -> None:
        self.tally = tally
        self.progress = Progress(
            TextColumn("[bold]batch"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), console=err,
            transient=True,
        )
        total = None if tally.total is None else max(0, tally.total - tally.skipped)
        self.task = self.progress.add_task("rows", total=total, detail="")
        self.progress.start()

    def update(self) -> None:
        t = self.tally
        detail = (f"{t.failed} failed · {t.rate:.1f} rows/s · {t.tokens} tokens · "
                  f"${t.cost_usd:.4f}")
        self.progress.update(self.task, completed=t.done, detail=detail)

    def close(self) -> None:
        self.progress.stop()


def _progress(err: Console, tally: BatchTally, quiet: bool) -> _Plain | _Bar:
    if err.is_terminal and not quiet:
        return _Bar(err, tally)
    return _Plain(err, tally, quiet)


def _print_summary(tally: BatchTally, request: BatchRequest, err: Console) -> None:
    t = tally
    lines = [f"batch: {t.done} rows run, {t.done - t.failed} succeeded, {t.failed} failed"
             + (f", {t.skipped} already done" if t.skipped else ""),
             (f"  {t.tokens} tokens, ${t.cost_usd:.6f}, {t.elapsed:.1f}s, "
             f"{t.rate:.1f} rows/s"),
             f"  results: {request.out}"]
    if request.max_cost is not None:
        lines.insert(2, f"  budget: ${t.cost_usd:.6f} of ${request.max_cost:g} (--max-cost)")
    if t.stopped == "budget_exceeded":
        lines.append("  stopped: the budget (--max-cost) would have been passed; rows not "
                     "run are left for --resume")
    elif t.stopped:
        lines.append("  stopped: interrupted; run again with --resume to finish")
    style = "red" if t.failed or t.stopped else "green"
    for line in lines:
        err.print(Text(line, style=style), soft_wrap=True)


# ---- limits from the command line -------------------------------------------------------


def limits_from_options(limit: tuple[str, ...], rpm: float | None, tpm: float | None,
                        models: list[str]) -> dict[str, Limits]:
    """`--limit MODEL=rpm:500,tpm:200000,concurrency:16` (repeatable) and `--rpm`/`--tpm`
    (each model the pipeline calls, each its own limiter); ValueError names the bad one."""
    from mmoc_runtime.limiter import Limits, parse_limits

    found: dict[str, Limits] = {}
    if rpm is not None or tpm is not None:
        every = Limits(rpm=rpm, tpm=tpm)
        for model in models:
            found[model] = every
    for text in limit:
        model, sep, spec = text.partition("=")
        if not sep or not model.strip():
            raise ValueError(f"--limit {text!r}: write MODEL=rpm:N,tpm:N,concurrency:N")
        try:
            parsed = parse_limits(spec)
        except ValueError as exc:
            raise ValueError(f"--limit {text!r}: {exc}") from None
        key = model.strip()
        found[key] = found[key].merged(parsed) if key in found else parsed
    return found


def apply_limits(config_limits: Mapping[str, Limits], cli_limits: Mapping[str, Limits]) -> None:
    """Configure the process's limiters: the configuration, then the command line over it
    (both win over the pipeline's own `limit` statements, which join without overriding)."""
    from mmoc_runtime.limiter import default_limiters

    registry = default_limiters()
    registry.configure(config_limits)
    registry.configure(cli_limits)
