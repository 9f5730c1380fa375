"""The command line of a generated module: `python pipeline_gen.py -i KEY=VALUE --mock`.

Every generated module used to carry its own copy of this argparse code; now its `main` is two
lines that hand its `PIPELINE` to `main` here, so the generated file stays data and a fix to
the command line reaches every module through the runtime.

Exit codes: 0 the run succeeded (the outputs as one JSON object on stdout); 1 the run failed
(the failing step and its error on stderr); 2 bad arguments or inputs (a `-i` without `=`, a
value that is not of the input's type, an unreadable `--inputs-json`, a missing input),
reported before any model call, never as a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import MmocRuntimeError
from .executor import execute
from .inputs import convert_text
from .spec import InputSpec, PipelineSpec

if TYPE_CHECKING:  # argparse is imported when a module runs as a script, not on import
    import argparse

# What each input type is called in the message for a value that does not read as one.
_TYPE_WORDS = {"int": "an int", "float": "a float", "bool": "a bool (true/false)"}


def parse_input_text(spec: InputSpec | None, text: str) -> Any:
    """`text` (a `-i KEY=VALUE` value) as the declared type of input `spec`.

    An undeclared input (`spec` None) keeps the text. Raises `ValueError` naming the input and
    its type when the text does not read as that type, e.g. "input 'count' is an int; got 'x'".
    """
    if spec is None:
        return text
    ok, value = convert_text(spec.type, text)
    if not ok:
        kind = _TYPE_WORDS.get(spec.type, spec.type)
        raise ValueError(f"input {spec.name!r} is {kind}; got {text!r}")
    return value


def main(pipeline: PipelineSpec, argv: Sequence[str] | None = None) -> int:
    """Run `pipeline` from the command line `argv` (default `sys.argv[1:]`); the exit code."""
    parser = _parser(pipeline)
    try:
        values, mock, trace_path = _read_arguments(parser, pipeline, argv)
    except SystemExit as exc:  # argparse's usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        result = asyncio.run(execute(pipeline, values, mock=mock))
    except MmocRuntimeError as exc:  # missing or mistyped inputs, bad configuration
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if trace_path:
        try:
            with open(trace_path, "w", encoding="utf-8") as handle:
                handle.write(result.trace.to_json())
        except OSError as exc:
            print(f"error: cannot write --trace {trace_path}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    if not result.success:
        print(f"error: step {result.failed_step} failed: {result.error}", file=sys.stderr)
        return 1
    print(json.dumps(result.outputs, indent=2, ensure_ascii=False, default=str))
    return 0


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
    return parser


def _read_arguments(
    parser: argparse.ArgumentParser, pipeline: PipelineSpec, argv: Sequence[str] | None
) -> tuple[dict[str, Any], bool, str | None]:
    """The run's inputs (`--inputs-json`, then each `-i` over it), `--mock` and `--trace`;
    `parser.error` (SystemExit 2, usage on stderr) for any mistake."""
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    if args.inputs_json:
        try:
            with open(args.inputs_json, encoding="utf-8") as handle:
                loaded = json.load(handle)
        except (OSError, ValueError, RecursionError) as exc:
            parser.error(f"--inputs-json {args.inputs_json}: {exc}")
        if not isinstance(loaded, dict):
            parser.error("--inputs-json must hold a JSON object")
        values.update(loaded)
    declared = {spec.name: spec for spec in pipeline.inputs}
    for item in args.input:
        key, sep, text = item.partition("=")
        if not sep:
            parser.error(f"--input takes KEY=VALUE, got {item!r}")
        try:
            values[key] = parse_input_text(declared.get(key), text)
        except ValueError as exc:
            parser.error(str(exc))
    return values, bool(args.mock), args.trace
