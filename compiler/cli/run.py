"""`mmoc run FILE`: compile a pipeline in memory to the module `compile` writes, and run it.

Exit codes (documented in docs/cli.md):
  0  the run succeeded;
  1  the pipeline has errors (reported as `mmoc check` reports them) or the run failed (the
     failing step and its error are shown);
  2  usage and configuration errors, all found before any model call: bad `-i` syntax, an
     unknown or missing input, an input of the wrong type, an unreadable `--inputs-json`, a
     model whose provider has no API key (without `--mock`), an internal failure.

Output: with `--json`, stdout holds exactly one JSON object (the outputs) on success and
nothing on failure; everything else (progress, summary, errors) goes to stderr.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from .batch import DEFAULT_GRACE, BatchRequest
from .common import guard

if TYPE_CHECKING:
    from mmoc_runtime import PipelineSpec, RunResult

    from ..config import Config


class RunAbort(Exception):
    """Stop the command with `message` on stderr and exit `code` (never a traceback)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---- inputs -----------------------------------------------------------------------------


def collect_inputs(
    spec: PipelineSpec, pairs: Iterable[str] | Mapping[str, str], json_path: str | None = None
) -> dict[str, Any]:
    """The run's inputs, typed, read by the runtime's `inputs_from_command_line` (the reading
    generated scripts use): `pairs` are `-i KEY=VALUE` texts (or a mapping of them) over the
    `--inputs-json` object at `json_path`. Every mistake, all named at once, is a usage error,
    reported before any model call."""
    from mmoc_runtime import InputError
    from mmoc_runtime.inputs import inputs_from_command_line

    if isinstance(pairs, Mapping):
        pairs = [f"{key}={value}" for key, value in pairs.items()]
    try:
        return inputs_from_command_line(spec, pairs, json_path)
    except InputError as exc:
        raise RunAbort(2, str(exc)) from None


# ---- credentials ------------------------------------------------------------------------


def spec_model_ids(spec: PipelineSpec) -> list[str]:
    """Every model an llm step of the spec may call: primaries and fallbacks, members too."""
    from mmoc_runtime import LlmStep, ParallelGroup

    ids: list[str] = []
    for step in spec.steps:
        for member in step.steps if isinstance(step, ParallelGroup) else (step,):
            if isinstance(member, LlmStep):
                ids.append(member.model)
                ids.extend(member.fallback)
    return list(dict.fromkeys(ids))


def check_credentials(spec: PipelineSpec) -> None:
    from mmoc_runtime.providers.credentials import missing_credentials

    missing = missing_credentials(spec_model_ids(spec), spec.endpoints)
    if missing:
        lines = [f"no API key for {model}: set {env}" for model, env in missing]
        lines.append("or run with --mock to answer every model with the mock provider")
        raise RunAbort(2, "\n".join(lines))


# ---- compiling --------------------------------------------------------------------------


def compile_in_memory(path: Path, err: Console, config: Config) -> types.ModuleType:
    """Compile FILE as `mmoc compile` would (the project's `[tool.mmoc]` applied) and load the
    module; errors exit 1 as in check."""
    from ..checks.models import declared_models
    from ..driver import compile_file, project_relative
    from ..modules import load_module, transform_import_problems
    from .common import display_path, has_internal_error, print_report

    # Shown as `check` shows it; the module's header as `compile` writes it.
    with declared_models(config):
        result = compile_file(path, display=display_path(path), header=project_relative(path),
                              format=False)  # executed, never read: no black
    diagnostics = config.filter(result.diagnostics)
    if result.ok and result.pipeline is not None:
        # A transform's module that is missing or broken is the user's to fix (MMO703,
        # pointing at the step), found before the generated module imports it.
        diagnostics += transform_import_problems(result.pipeline)
    if diagnostics:
        sources = None
        if result.display_path and result.text:
            sources = {result.display_path: result.text}
        print_report(diagnostics, err, 1, sources=sources)
    if has_internal_error(diagnostics):
        raise RunAbort(2, "")
    if not result.ok or result.code is None or any(d.is_error for d in diagnostics):
        raise RunAbort(1, "")
    module_name = "mmoc_run_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    return load_module(result.code, module_name)


# ---- running ----------------------------------------------------------------------------


def _check_writable(option: str, value: str | None) -> None:
    """Refuse, before the run, a path whose missing folders could not be created: the
    nearest folder that exists on the way up must be a folder, not a file."""
    from ..driver import resolved_path

    if value is None:
        return
    existing = resolved_path(value).parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunAbort(2, f"{option} {value}: {existing} is not a directory")


def _write(option: str, path: str, text: str) -> None:
    from .common import write_output

    try:
        write_output(Path(path), text)
    except OSError as exc:
        raise RunAbort(2, f"cannot write {option} {path}: {exc.strerror or exc}") from exc


def print_outputs(
    outputs: Mapping[str, Any], out: Console, secrets: tuple[str, ...] = ()
) -> None:
    """One titled block per output, every piece of a key in `secrets` hidden (docs/runtime.md)."""
    from mmoc_runtime.redaction import scrub, shown_json

    for key, value in outputs.items():
        out.print(Rule(key, style="bold"))
        if isinstance(value, str):
            text = scrub(value, secrets)
        else:
            text = shown_json(value, secrets, indent=2)
        out.print(Text(text), soft_wrap=True)


@dataclass(frozen=True)
class RunRequest:
    """What the command line asked for."""

    file: Path
    pairs: tuple[str, ...] = ()
    inputs_json: str | None = None
    mock: bool = False
    trace_path: str | None = None
    trace_md: str | None = None
    as_json: bool = False
    quiet: bool = False
    capture_content: bool = False
    record: str | None = None  # --record PATH: the cassette to record into
    replay: str | None = None  # --replay PATH: the cassette to replay from
    otel: bool = False
    stream: bool = False
    # One of a folder's pipelines: it takes only the `-i` values it declares.
    in_folder: bool = False
    batch: BatchRequest | None = None  # --data: one run per row (docs/batch.md)
    max_cost: float | None = None  # --max-cost: the run's (or the batch's) budget in USD
    limits: tuple[str, ...] = ()  # --limit MODEL=rpm:N,...
    rpm: float | None = None
    tpm: float | None = None
    no_cache: bool = False  # --no-cache: the response cache is neither read nor written


async def streamed_run(module: types.ModuleType, inputs: dict[str, Any], request: RunRequest,
                       view: Any, console: Console) -> RunResult:
    """`module.stream(...)`, its text shown on `console` as it arrives; the run's result."""
    from mmoc_runtime import RunFinished
    from mmoc_runtime.cassette import from_options

    from .stream_view import StreamView

    printer = StreamView(console)
    async for event in module.stream(inputs, mock=request.mock, observer=view,
                                     capture_content=request.capture_content,
                                     budget=request.max_cost,
                                     cassette=from_options(request.record, request.replay),
                                     cache=False if request.no_cache else None):
        if isinstance(event, RunFinished):
            result: RunResult = event.result
            return result
        printer.show(event)
    raise AssertionError("a stream always ends with RunFinished")  # pragma: no cover


def run_request(request: RunRequest, err: Console, out: Console) -> int:
    """Compile, check inputs and keys, run, report; the exit code (RunAbort for 2 and 1)."""
    from mmoc_runtime import ConfigError, InputError
    from mmoc_runtime.cassette import from_options
    from mmoc_runtime.redaction import secret_values, shown_json

    from .live import LiveView, summary_table
    from .project import project_config

    _check_writable("--trace", request.trace_path)
    _check_writable("--trace-md", request.trace_md)
    _check_writable("--record", request.record)
    if request.record is not None and request.replay is not None:
        raise RunAbort(2, "--record and --replay cannot be used together")
    config = project_config()
    module = compile_in_memory(request.file, err, config)
    spec: PipelineSpec = module.PIPELINE
    _configure_project(config, spec_model_ids(spec), request.limits, request.rpm, request.tpm)
    if request.batch is not None:
        return _run_batch(module, spec, request)
    pairs = request.pairs
    if request.in_folder:
        declared = {item.name for item in spec.inputs}
        pairs = tuple(p for p in pairs if p.partition("=")[0].strip() in declared)
    inputs = collect_inputs(spec, pairs, request.inputs_json)
    if not request.mock and request.replay is None:  # a replay needs no key
        check_credentials(spec)
    # Streamed, the text itself shows the progress: no live table to draw over it.
    view = LiveView(err, quiet=request.quiet or request.stream)
    observer, end_export = otel_observer(view) if request.otel else (view, None)
    try:
        if request.stream:
            # With --json, stdout holds only the outputs: the text goes to stderr.
            result = asyncio.run(streamed_run(module, inputs, request, observer,
                                              err if request.as_json else out))
        else:
            result = asyncio.run(module.run_result(
                inputs, mock=request.mock, observer=observer,
                capture_content=request.capture_content, budget=request.max_cost,
                cassette=from_options(request.record, request.replay),
                cache=False if request.no_cache else None))
    except (InputError, ConfigError) as exc:  # ConfigError: a cassette that cannot be read
        raise RunAbort(2, str(exc)) from exc
    except OSError as exc:  # the recorded cassette could not be written
        raise RunAbort(2, f"cannot write --record {request.record}: {exc.strerror or exc}") from exc
    finally:
        view.close()
        if end_export is not None:
            end_export()  # flush the spans before the process ends
    trace = result.trace
    if request.trace_path:
        _write("--trace", request.trace_path, trace.to_json())
    if request.trace_md:
        _write("--trace-md", request.trace_md, trace.to_markdown())
    if not request.quiet:
        err.print(summary_table(trace))
    if not result.success:
        step = result.failed_step or "?"
        reason = result.error or "unknown error"
        if step not in reason:
            reason = f"step {step!r}: {reason}"
        err.print(Text(f"error: run failed: {reason}", style="bold red"), soft_wrap=True)
        for other in result.failed_steps:
            if other != step:
                line = f"  also failed: {other} ({trace.step(other).error})"
                err.print(Text(line, style="red"), soft_wrap=True)
        return 1
    # What mmoc prints never shows a key, even one a model repeated (docs/runtime.md).
    secrets = secret_values(spec.endpoints)
    if request.as_json:
        click.echo(shown_json(result.outputs, secrets))
    else:
        print_outputs(result.outputs, out, secrets)
    return 0


def _run_batch(module: types.ModuleType, spec: PipelineSpec, request: RunRequest) -> int:
    from .batch import BatchAbort, run_batch_request

    assert request.batch is not None
    if request.pairs or request.inputs_json:
        raise RunAbort(2, "-i and --inputs-json do not go with --data: each row is the inputs")
    if request.trace_path or request.trace_md or request.as_json:
        raise RunAbort(2, "--trace, --trace-md and --json do not go with --data: each row's "
                          "result is a line of --out")
    if not request.mock:
        check_credentials(spec)
    try:
        return run_batch_request(module, request.batch, Console(stderr=True, highlight=False))
    except BatchAbort as exc:
        raise RunAbort(exc.code, exc.message) from exc


def _configure_project(config: Config, spec_models: list[str], limit: tuple[str, ...],
                       rpm: float | None, tpm: float | None) -> None:
    """The project's `[tool.mmoc.limits]`, then --limit/--rpm/--tpm over it (docs/batch.md),
    and the prices `[tool.mmoc.models]` declares (what the trace and budgets cost them at)."""
    from mmoc_runtime.pricing import declare_prices

    from .batch import apply_limits, limits_from_options

    try:
        cli_limits = limits_from_options(limit, rpm, tpm, spec_models)
    except ValueError as exc:
        raise RunAbort(2, str(exc)) from None
    if config.limits or cli_limits:
        apply_limits(config.limits, cli_limits)
    declare_prices(config.prices())


def run_folder(request: RunRequest, err: Console, out: Console) -> int:
    """`mmoc run FOLDER`: each pipeline in it (a `.mmo` wins over its YAML twin of the same
    stem), one after the other, each with the `-i` values it declares; the worst exit code."""
    from dataclasses import replace

    from ..driver import folder_sources
    from ..modules import import_path, source_import_path
    from .common import display_path

    if request.trace_path or request.trace_md or request.as_json or request.inputs_json:
        raise RunAbort(2, "--trace, --trace-md, --json and --inputs-json take one pipeline, "
                          "not a folder")
    sources = folder_sources(request.file)
    if not sources:
        raise RunAbort(2, f"no pipeline sources (.mmo, .yaml, .yml) in `{request.file}`")
    worst = 0
    for source in sources:
        err.print(Rule(display_path(source)))
        try:
            with import_path(source_import_path(source)):
                code = run_request(replace(request, file=source, in_folder=True), err, out)
        except RunAbort as exc:
            err.print(Text(f"error: {exc.message}", style="bold red"), soft_wrap=True)
            code = exc.code
        worst = max(worst, code)
    return worst


def otel_observer(view: object) -> tuple[object, Callable[[], None]]:
    """`--otel`: the progress view and an OTLP-exporting OpenTelemetry observer as one, and
    the function that flushes the export; exit 2 saying what to install when it is missing."""
    try:
        from mmoc_runtime.observer import Observers
        from mmoc_runtime.otel import otlp_observer

        otel, end_export = otlp_observer()
    except ImportError as exc:
        raise RunAbort(2, f"--otel: {exc}") from exc
    return Observers(view, otel), end_export


def _fail(code: int, message: str, err: Console) -> NoReturn:
    if message:
        err.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    sys.exit(code)


@click.command("run")
@click.argument("file", type=click.Path(path_type=Path, readable=False))
@click.option("-i", "--input", "pairs", multiple=True, metavar="KEY=VALUE",
              help="An input value (repeatable). Typed by the pipeline's input declarations.")
@click.option("--inputs-json", type=click.Path(readable=False), metavar="PATH",
              help="A JSON object of input values (-i overrides it).")
@click.option("--mock", is_flag=True,
              help="Answer every model with the mock provider (no API keys needed).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the run's trace as JSON (docs/trace.md); missing folders are created.")
@click.option("--trace-md", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the run's trace as Markdown; missing folders are created.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the outputs as one JSON object on stdout, and nothing else there.")
@click.option("-q", "--quiet", is_flag=True, help="No progress view or summary on stderr.")
@click.option("--capture-content", is_flag=True,
              help="Record prompts and outputs in the trace (off by default).")
@click.option("--data", metavar="PATH",
              help="Run once per row of this JSONL or CSV file (- reads stdin); needs --out.")
@click.option("--out", "out_path", metavar="PATH",
              help="With --data: write one JSON line per row here, as each row finishes.")
@click.option("--data-format", type=click.Choice(["jsonl", "csv"]),
              help="The --data format (default: by suffix, .csv or else JSONL).")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="With --data: rows in flight at once.")
@click.option("--resume", is_flag=True,
              help="With --data: skip rows that already succeeded in --out, rerun the others.")
@click.option("--grace", type=click.FloatRange(min=0), default=DEFAULT_GRACE, show_default=True,
              metavar="SECONDS",
              help="After Ctrl-C or SIGTERM, how long rows in flight may finish.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="With --data: run the rows in this process, or on a Ray cluster "
              "(docs/scale.md).")
@click.option("--address", metavar="auto|ray://HOST:PORT",
              help="With --backend ray: the cluster (default: RAY_ADDRESS, else a new local one).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="With --backend ray: worker processes (default: the cluster's CPUs); "
              "--concurrency is per worker.")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="USD",
              help="A budget: no call is made that would take the spend past it.")
@click.option("--limit", "limits", multiple=True, metavar="MODEL=rpm:N,tpm:N,concurrency:N",
              help="A rate limit for a model or provider (repeatable).")
@click.option("--rpm", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Requests per minute, for each model the pipeline calls.")
@click.option("--tpm", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Tokens per minute, for each model the pipeline calls.")
@click.option("--record", type=click.Path(dir_okay=False), metavar="PATH",
              help="Record every model exchange into this cassette (JSONL), keeping the ones "
                   "it holds.")
@click.option("--replay", type=click.Path(dir_okay=False), metavar="PATH",
              help="Answer every model call from this cassette: no network, no keys; a request "
                   "it does not hold fails with a diff.")
@click.option("--otel", is_flag=True,
              help="Export the run's OpenTelemetry spans over OTLP/HTTP to "
                   "$OTEL_EXPORTER_OTLP_ENDPOINT (needs the otel extra).")
@click.option("--stream", is_flag=True,
              help="Show each llm step's text as it arrives (on stderr with --json).")
@click.option("--no-cache", is_flag=True,
              help="Do not read or write the response cache, whatever the steps' `cache` say.")
@guard("running the pipeline")
def run(
    file: Path,
    pairs: tuple[str, ...],
    inputs_json: str | None,
    mock: bool,
    trace_path: str | None,
    trace_md: str | None,
    as_json: bool,
    quiet: bool,
    capture_content: bool,
    data: str | None,
    out_path: str | None,
    data_format: str | None,
    concurrency: int,
    resume: bool,
    grace: float,
    backend: str,
    address: str | None,
    workers: int | None,
    max_cost: float | None,
    limits: tuple[str, ...],
    rpm: float | None,
    tpm: float | None,
    record: str | None,
    replay: str | None,
    otel: bool,
    stream: bool,
    no_cache: bool,
) -> None:
    """Compile FILE in memory and run it (with --data, once per row); exit 0 ok, 1 errors or
    a failed run (or row), 2 usage.

    FILE may be a folder: each pipeline in it runs in turn (a .mmo wins over its YAML twin),
    taking the -i values it declares."""
    from ..modules import import_path, source_import_path

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False, soft_wrap=True)
    batch = None
    if data is not None or out_path is not None:
        if data is None or out_path is None:
            _fail(2, "--data and --out go together", err)
        if file.is_dir():
            _fail(2, "--data takes one pipeline, not a folder", err)
        batch = BatchRequest(data, out_path, concurrency, resume, max_cost, grace, data_format,
                             mock, quiet, backend, address, workers)
    elif backend != "local" or address is not None or workers is not None:
        _fail(2, "--backend, --address and --workers go with --data", err)
    request = RunRequest(file, pairs, inputs_json, mock, trace_path, trace_md, as_json,
                         quiet, capture_content, record=record, replay=replay, otel=otel,
                         stream=stream, batch=batch, max_cost=max_cost, limits=limits, rpm=rpm,
                         tpm=tpm, no_cache=no_cache)
    try:
        # As `python script.py` would: transforms import from the pipeline's folder (and the
        # current directory) for the whole run, lazy imports inside them included.
        if file.is_dir():
            code = run_folder(request, err, out)
        else:
            with import_path(source_import_path(file)):
                code = run_request(request, err, out)
    except RunAbort as exc:
        _fail(exc.code, exc.message, err)
    except KeyboardInterrupt:
        _fail(130, "interrupted", err)
    sys.exit(code)
