"""The command line of a generated module: `python pipeline_gen.py -i KEY=VALUE --mock`.

Every generated module used to carry its own copy of this argparse code; now its `main` is two
lines that hand its `PIPELINE` to `main` here, so the generated file stays data and a fix to
the command line reaches every module through the runtime.

Exit codes: 0 the run succeeded (the outputs as one JSON object on stdout); 1 the run failed
(the failing step and its error on stderr); 2 bad arguments or inputs (a `-i` without `=` or
with an empty key, an input the pipeline does not declare, a value that is not of the input's
type, an unreadable `--inputs-json`, a missing input: all named at once, read by
`inputs.inputs_from_command_line` exactly as `mmoc run` reads them), reported before any model
call, never as a traceback; 2 also for `--otel` without the OTLP exporter installed (the
message says what to install), for a `--trace` that cannot be written (missing folders are
created; see `files.write_file` for symlinks, devices and FIFOs) and for a stdout that cannot be
written (`> /dev/full`: "error: cannot write to standard output: ..."); a reader leaving early
(`| head`) ends quietly with 1.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .cassette import from_options
from .errors import InputError, MmocRuntimeError
from .executor import execute
from .files import write_file
from .inputs import inputs_from_command_line, parse_input_text
from .redaction import secret_values, shown_json
from .result import RunResult
from .spec import PipelineSpec

if TYPE_CHECKING:  # argparse is imported when a module runs as a script, not on import
    import argparse

    from .cassette import Cassette

# `parse_input_text` lives in `inputs` with the rest of the command-line reading; it is
# re-exported here, where `mmoc_runtime` has always imported it from.
__all__ = ["main", "parse_input_text"]


def main(pipeline: PipelineSpec, argv: Sequence[str] | None = None) -> int:
    """Run `pipeline` from the command line `argv` (default `sys.argv[1:]`); the exit code."""
    parser = _parser(pipeline)
    try:
        values, mock, trace_path, tape, otel, streamed, no_cache = _read_arguments(
            parser, pipeline, argv)
    except SystemExit as exc:  # argparse's usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    observer, end_export = None, None
    if otel:
        try:
            from .otel import otlp_observer  # only here: OpenTelemetry is an extra
            observer, end_export = otlp_observer()
        except ImportError as exc:
            print(f"error: --otel: {exc}", file=sys.stderr)
            return 2
    try:
        cache = False if no_cache else None
        if streamed:
            result = asyncio.run(_streamed_run(pipeline, values, mock, observer, tape, cache))
        else:
            result = asyncio.run(execute(pipeline, values, mock=mock, observer=observer,
                                         cassette=tape, cache=cache))
    except MmocRuntimeError as exc:  # bad configuration, a cassette that cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the recorded cassette could not be written
        print(f"error: cannot write --record {tape.path if tape else ''}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        if end_export is not None:
            end_export()  # flush the spans before the process ends
    if trace_path:
        try:
            write_file(trace_path, result.trace.to_json())  # missing folders are created
        except OSError as exc:
            print(f"error: cannot write --trace {trace_path}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    if not result.success:
        print(f"error: {result.error}", file=sys.stderr)
        failed = result.trace.step(result.failed_step) if result.failed_step else None
        if failed is not None and failed.error_kind == "config":
            print("hint: set the API key it names, or add --mock to use the mock provider",
                  file=sys.stderr)
        return 1
    try:
        # Never a key on stdout, even one a model repeated (docs/runtime.md).
        secrets = secret_values(pipeline.endpoints)
        if sys.stdout is None:  # closed before we started: `print` would drop it silently
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        print(shown_json(result.outputs, secrets, indent=2), flush=True)
    except BrokenPipeError:  # `| head`: the reader left
        _drop_stdout()
        return 1
    except OSError as exc:  # `> /dev/full`: an I/O error, said so (never a traceback)
        _drop_stdout()
        print(f"error: cannot write to standard output: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


async def _streamed_run(pipeline: PipelineSpec, values: dict[str, Any], mock: bool,
                        observer: object | None, tape: Cassette | None,
                        cache: bool | None) -> RunResult:
    """The run with its llm steps' text shown on stderr as it arrives (stdout keeps only the
    outputs' JSON); its result."""
    from .events import RunFinished
    from .streaming import stream
    from .streaming_text import TextPrinter

    printer = TextPrinter(sys.stderr)
    async for event in stream(pipeline, values, mock=mock, observer=observer, cassette=tape,
                              cache=cache):
        if isinstance(event, RunFinished):
            return event.result
        printer.show(event)
    raise AssertionError("a stream always ends with RunFinished")  # pragma: no cover


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered is dropped by the flush at exit,
    which would otherwise fail again and print a traceback of its own."""
    if sys.stdout is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _parser(pipeline: PipelineSpec) -> argparse.ArgumentParser:
    import argparse  # lazily: `import mmoc_runtime` must stay lean

    parser = argparse.ArgumentParser(description=pipeline.description)
    parser.add_argument(
        "-i", "--input", action="append", default=[], metavar="KEY=VALUE",
        help="an input value, converted to the input's declared type (repeatable)",
    )
    parser.add_argument("--inputs-json", metavar="PATH", help="a JSON object of inputs")
    parser.add_argument(
        "--mock", action="store_true", help="route every model to the mock provider"
    )
    parser.add_argument("--trace", metavar="PATH", help="write the run's trace as JSON")
    tape = parser.add_mutually_exclusive_group()
    tape.add_argument("--record", metavar="PATH",
                      help="record every model exchange into this cassette (JSONL)")
    tape.add_argument("--replay", metavar="PATH",
                      help="answer every model call from this cassette (no network, no keys)")
    parser.add_argument(
        "--otel", action="store_true",
        help="export the run's spans over OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT "
        "(needs the otel extra)",
    )
    parser.add_argument(
        "--stream", action="store_true",
        help="show each llm step's text on stderr as it arrives (the outputs still go to stdout)",
    )
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the response cache")
    return parser


def _read_arguments(
    parser: argparse.ArgumentParser, pipeline: PipelineSpec, argv: Sequence[str] | None
) -> tuple[dict[str, Any], bool, str | None, Cassette | None, bool, bool, bool]:
    """The run's inputs (by `inputs_from_command_line`, as `mmoc run` reads them), `--mock`,
    `--trace`, the cassette of `--record`/`--replay`, `--otel`, `--stream` and `--no-cache`;
    `parser.error` (SystemExit 2, usage on stderr) for any mistake."""
    args = parser.parse_args(argv)
    try:
        values = inputs_from_command_line(pipeline, args.input, args.inputs_json)
    except InputError as exc:
        parser.error(str(exc))
    return (values, bool(args.mock), args.trace, from_options(args.record, args.replay),
            bool(args.otel), bool(args.stream), bool(args.no_cache))
