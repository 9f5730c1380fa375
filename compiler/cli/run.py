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
import difflib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

if TYPE_CHECKING:
    from mmoc_runtime import InputSpec


class RunAbort(Exception):
    """Stop the command with `message` on stderr and exit `code` (never a traceback)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---- inputs -----------------------------------------------------------------------------


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """`KEY=VALUE` pairs (the value may hold `=`); a pair without `=` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunAbort(2, f"bad -i {pair!r}: expected KEY=VALUE, e.g. -i topic=\"solar power\"")
        out[key] = value
    return out


def read_inputs_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RunAbort(2, f"cannot read --inputs-json {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunAbort(2, f"--inputs-json {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RunAbort(2, f"--inputs-json {path} must hold a JSON object of input values")
    return data


def convert_value(spec: InputSpec, text: str) -> Any:
    """A command-line string as the declared type of input `spec`, by the
    runtime's one conversion, the one generated scripts use; a bad value is a usage error."""
    from mmoc_runtime import parse_input_text

    try:
        return parse_input_text(spec, text)
    except ValueError as exc:
        raise RunAbort(2, str(exc)) from None


def collect_inputs(
    spec: Any, pairs: Mapping[str, str], from_json: Mapping[str, Any]
) -> dict[str, Any]:
    """The run's inputs, typed; unknown names and missing required inputs are usage errors
    reported here, before any model call, each naming every offender at once."""
    declared = {i.name: i for i in spec.inputs}
    unknown = [k for k in (*from_json, *pairs) if k not in declared]
    if unknown:
        hints = []
        for key in dict.fromkeys(unknown):
            close = difflib.get_close_matches(key, list(declared), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        known = ", ".join(declared) or "none"
        raise RunAbort(2, f"unknown input(s) {', '.join(hints)}; pipeline inputs: {known}")
    values: dict[str, Any] = dict(from_json)
    for key, text in pairs.items():
        values[key] = convert_value(declared[key], text)
    missing = [i.name for i in spec.inputs if i.required and i.name not in values]
    if missing:
        flags = " ".join(f"-i {m}=..." for m in missing)
        raise RunAbort(2, f"missing input(s): {', '.join(missing)} (pass {flags})")
    return values


# ---- credentials ------------------------------------------------------------------------


def spec_model_ids(spec: Any) -> list[str]:
    """Every model an llm step of the spec may call: primaries and fallbacks, members too."""
    ids: list[str] = []
    for step in spec.steps:
        for member in getattr(step, "steps", None) or (step,):
            model = getattr(member, "model", None)
            if isinstance(model, str):
                ids.append(model)
                ids.extend(getattr(member, "fallback", ()) or ())
    return list(dict.fromkeys(ids))


def check_credentials(spec: Any) -> None:
    from mmoc_runtime.providers.credentials import missing_credentials

    missing = missing_credentials(spec_model_ids(spec), spec.endpoints)
    if missing:
        lines = [f"no API key for {model}: set {env}" for model, env in missing]
        lines.append("or run with --mock to answer every model with the mock provider")
        raise RunAbort(2, "\n".join(lines))


# ---- compiling --------------------------------------------------------------------------


def compile_in_memory(path: Path, err: Console) -> Any:
    """Compile FILE as `mmoc compile` would and load the module; errors exit 1 as in check."""
    from ..compile import compile_file, load_module, project_relative, transform_import_problems
    from .common import display_path, has_internal_error, print_report

    # Shown as `check` shows it; the module's header as `compile` writes it.
    result = compile_file(path, display=display_path(path), header=project_relative(path))
    diagnostics = list(result.diagnostics)
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
    if value is not None and not Path(value).resolve().parent.is_dir():
        raise RunAbort(2, f"{option} {value}: the directory does not exist")


def _write(option: str, path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RunAbort(2, f"cannot write {option} {path}: {exc.strerror or exc}") from exc


def print_outputs(outputs: Mapping[str, Any], out: Console) -> None:
    for key, value in outputs.items():
        out.print(Rule(key, style="bold"))
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
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


def execute(request: RunRequest, err: Console, out: Console) -> int:
    """Compile, check inputs and keys, run, report; the exit code (RunAbort for 2 and 1)."""
    from mmoc_runtime import InputError

    from .live import LiveView, summary_table

    parsed_pairs = parse_pairs(request.pairs)
    from_json = read_inputs_json(request.inputs_json) if request.inputs_json else {}
    _check_writable("--trace", request.trace_path)
    _check_writable("--trace-md", request.trace_md)
    module = compile_in_memory(request.file, err)
    spec = module.PIPELINE
    inputs = collect_inputs(spec, parsed_pairs, from_json)
    if not request.mock:
        check_credentials(spec)
    view = LiveView(err, quiet=request.quiet)
    try:
        result = asyncio.run(
            module.run_result(
                inputs, mock=request.mock, observer=view, capture_content=request.capture_content
            )
        )
    except InputError as exc:
        raise RunAbort(2, str(exc)) from exc
    finally:
        view.close()
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
        for other in getattr(result, "failed_steps", ()) or ():
            if other != step:
                line = f"  also failed: {other} ({trace.step(other).error})"
                err.print(Text(line, style="red"), soft_wrap=True)
        return 1
    if request.as_json:
        click.echo(json.dumps(result.outputs, ensure_ascii=False, default=str))
    else:
        print_outputs(result.outputs, out)
    return 0


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
              help="Write the run's trace as JSON (docs/trace.md).")
@click.option("--trace-md", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the run's trace as Markdown.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the outputs as one JSON object on stdout, and nothing else there.")
@click.option("-q", "--quiet", is_flag=True, help="No progress view or summary on stderr.")
@click.option("--capture-content", is_flag=True,
              help="Record prompts and outputs in the trace (off by default).")
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
) -> None:
    """Compile FILE in memory and run it; exit 0 ok, 1 errors or failed run, 2 usage."""
    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False, soft_wrap=True)
    try:
        from ..compile import import_path, source_import_path

        request = RunRequest(file, pairs, inputs_json, mock, trace_path, trace_md, as_json,
                             quiet, capture_content)
        # As `python script.py` would: transforms import from the pipeline's folder (and the
        # current directory) for the whole run, lazy imports inside them included.
        with import_path(source_import_path(file)):
            code = execute(request, err, out)
    except RunAbort as exc:
        _fail(exc.code, exc.message, err)
    except KeyboardInterrupt:
        _fail(130, "interrupted", err)
    except Exception as exc:  # a bug, not a user mistake: still no traceback by default
        if os.environ.get("MMOC_DEBUG"):
            raise
        from .common import internal_error, print_diagnostics

        print_diagnostics([internal_error(exc, "running the pipeline")], err, summary=False)
        err.print("(set MMOC_DEBUG=1 to see the traceback)", style="dim")
        sys.exit(2)
    sys.exit(code)
