"""`mmoc compile FILE...`: write each pipeline's generated module (`<stem>_gen.py`).

Exit codes: 0 every file compiled (or, with --check/--diff, every output is up to date);
1 a source has errors, or an output is missing or stale under --check/--diff; 2 usage error
(bad options, two sources writing one file), a file that cannot be written, or an internal
failure. Diagnostics are printed exactly as `mmoc check` prints them (stdout); progress
lines ("wrote ...", "would regenerate ...") go to stderr, so `--format json` stays pure.
"""

from __future__ import annotations

import difflib
import errno
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from mmoc_runtime.files import MAX_FILE_BYTES, read_regular_file

from ..checks.models import declared_models
from ..config import Config
from ..diagnostics.model import Diagnostic, sort_key
from ..driver import (
    CompileResult,
    compile_file,
    compile_loaded,
    project_relative,
    resolved_path,
)
from .common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    FORMATS,
    collect_sources,
    guard,
    has_internal_error,
    print_report,
    write_output,
)
from .project import project_config, sarif_root
from .stdin import load_stdin, reads_stdin, stdin_filename_option
from .terminal import Terminal, note


def output_path(source: Path, out: Path | None, out_dir: Path | None) -> Path:
    """`-o OUT`, else `<out-dir>/<stem>_gen.py`, else `<stem>_gen.py` beside the source."""
    if out is not None:
        return out
    name = f"{source.stem}_gen.py"
    return (out_dir / name) if out_dir is not None else source.with_name(name)


def existing_module(path: Path, new: str) -> tuple[str | None, str]:
    """The module now at `path`, to compare with `new`, and what to call it when it is not
    `new`. Only a regular file is read (a FIFO or device never is: `-o /dev/stdout` must not
    read a pipe, nor `-o /dev/zero` read forever), and at most the larger of `new` and
    MAX_FILE_BYTES: a file beyond that is out of date, unread."""
    try:
        data = read_regular_file(path, max(len(new.encode("utf-8")), MAX_FILE_BYTES))
        return data.decode("utf-8"), "out of date"
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            return None, "out of date"
        return None, exc.strerror or str(exc)
    except UnicodeDecodeError:
        return None, "out of date"


def unified_diff(old: str | None, new: str, shown: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{shown}" if old is not None else "/dev/null",
        tofile=f"b/{shown}",
    )
    return "".join(lines)


@click.command("compile")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the module here (one input only).",
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write every module into this folder instead of beside its source.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 if any output is missing or out of date.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Write nothing; print a unified diff of what would change (exit 1 if any).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print diagnostics: text, json, github or sarif (as `mmoc check`).",
)
@click.option(
    "--exit-non-zero-on-write",
    "exit_on_write",
    is_flag=True,
    help="Exit 1 when a module was written or changed (for pre-commit: a new module must be "
    "added before the commit goes through).",
)
@click.option(
    "--brief",
    is_flag=True,
    help="No diagnostics, one line per source not compiled (for pre-commit beside the "
    "mmoc-check hook, which prints them).",
)
@stdin_filename_option
@guard("compiling")
def compile_(
    paths: tuple[Path, ...],
    out: Path | None,
    out_dir: Path | None,
    check_only: bool,
    show_diff: bool,
    fmt: str,
    exit_on_write: bool,
    brief: bool,
    stdin_filename: str | None,
) -> None:
    """Compile pipeline sources (.mmo, .yaml) to typed Python modules; `-` compiles stdin
    (to stdout, or to -o)."""
    config = project_config()
    with declared_models(config):
        if reads_stdin(paths):
            sys.exit(_compile_stdin(stdin_filename, out, check_only, show_diff, fmt, config))
        options = _FileOptions(out, out_dir, check_only, show_diff, fmt, exit_on_write, brief)
        _compile_files(paths, options, config)


@dataclass(frozen=True)
class _FileOptions:
    out: Path | None
    out_dir: Path | None
    check_only: bool
    show_diff: bool
    fmt: str
    exit_on_write: bool
    brief: bool


def _compile_files(paths: tuple[Path, ...], options: _FileOptions, config: Config) -> None:
    out, out_dir, check_only, show_diff = (
        options.out, options.out_dir, options.check_only, options.show_diff)
    files = collect_sources(paths)
    if out is not None and (out_dir is not None or len(files) != 1):
        raise click.UsageError("-o/--output takes exactly one input and no --out-dir")
    if not files:
        raise click.UsageError("no pipeline sources (.mmo, .yaml, .yml) found")
    targets = [(path, shown, output_path(path, out, out_dir)) for path, shown in files]
    targets = _one_source_per_output(targets, explicit=set(paths))

    diags: list[Diagnostic] = []
    sources: dict[str, str] = {}
    stale = written = failed_write = 0
    for path, shown, target in targets:
        result = compile_file(path, display=shown, header=project_relative(path))
        diags.extend(result.diagnostics)
        if result.text is not None:
            sources[shown] = result.text
        if not result.ok or result.code is None:
            if options.brief:
                click.echo(f"error: {shown} has errors, not compiled (`mmoc check {shown}` "
                           "shows them)", err=True)
            continue
        changed, wrote_ok = _emit(result, target, check_only, show_diff)
        if check_only or show_diff:
            stale += changed
        else:
            written += changed
        failed_write += not wrote_ok

    diags = config.filter(diags)  # `[tool.mmoc]` select/ignore, as check does
    diags.sort(key=sort_key)
    if not options.brief:
        print_report(diags, Terminal(), len(targets), sources=sources, fmt=options.fmt,
                     sarif_root=sarif_root(options.fmt, None))
    if failed_write or has_internal_error(diags):
        sys.exit(EXIT_USAGE)
    if any(d.is_error for d in diags):
        sys.exit(EXIT_PROBLEMS)
    if stale:
        click.echo(
            f"{stale} module{'s' if stale != 1 else ''} out of date; "
            "run `mmoc compile` to regenerate",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)
    if written and options.exit_on_write:
        sys.exit(EXIT_PROBLEMS)  # as black in pre-commit: the commit waits for the new module
    sys.exit(EXIT_OK)


def _compile_stdin(
    stdin_filename: str | None, out: Path | None, check_only: bool, show_diff: bool, fmt: str,
    config: Config,
) -> int:
    """`mmoc compile -`: the module of stdin's source on stdout, or compared with or written
    to `-o` as for a file. The header names `--stdin-filename` (else `<stdin>`)."""
    if out is None and (check_only or show_diff):
        raise click.UsageError("--check and --diff with `-` need -o, the module to compare")
    loaded = load_stdin(stdin_filename)
    result = compile_loaded(loaded, header=loaded.display_path)
    diags = sorted(config.filter(result.diagnostics), key=sort_key)
    sources = {loaded.display_path: loaded.text} if loaded.text is not None else {}
    print_report(diags, Terminal(stderr=out is None), 1, sources=sources, fmt=fmt)
    if has_internal_error(diags):
        return EXIT_USAGE
    if not result.ok or result.code is None:
        return EXIT_PROBLEMS
    if out is None:
        sys.stdout.write(result.code)
        return EXIT_OK
    stale, wrote = _emit(result, out, check_only, show_diff)
    return EXIT_USAGE if not wrote else (EXIT_PROBLEMS if stale else EXIT_OK)


def _emit(
    result: CompileResult, target: Path, check_only: bool, show_diff: bool
) -> tuple[int, bool]:
    """Compare or write one module. Returns (1 if it is stale under --check/--diff or was
    written, 0 if up to date; whether writing went fine)."""
    assert result.code is not None
    shown = target.as_posix()
    current, why = existing_module(target, result.code)
    if current == result.code:
        return 0, True  # up to date; when writing, the file (and its mtime) is left alone
    if check_only or show_diff:
        if show_diff:
            click.echo(unified_diff(current, result.code, shown), nl=False)
        if check_only:
            click.echo(f"would regenerate {shown} ({why})", err=True)
        return 1, True
    try:
        write_output(target, result.code)  # missing folders are created
    except OSError as exc:
        click.echo(f"error: cannot write {shown}: {exc.strerror or exc}", err=True)
        return 0, False
    note(f"wrote {shown}")
    return 1, True


def _one_source_per_output(
    targets: list[tuple[Path, str, Path]], explicit: set[Path]
) -> list[tuple[Path, str, Path]]:
    """Two sources must not write one module. Found in a folder, a `.mmo` file wins over
    its YAML twin (a note says so); named on the command line, both are a usage error."""
    chosen: dict[Path, tuple[Path, str, Path]] = {}
    for entry in targets:
        path, shown, target = entry
        key = resolved_path(target)
        if key not in chosen:
            chosen[key] = entry
            continue
        other_path, other_shown, _ = chosen[key]
        if path in explicit and other_path in explicit:
            raise click.UsageError(
                f"{other_shown} and {shown} would both write {target.as_posix()}; "
                "compile them separately with -o, or use --out-dir"
            )
        keep = entry if path.suffix == ".mmo" and other_path.suffix != ".mmo" else chosen[key]
        if path in explicit and other_path not in explicit:
            keep = entry
        elif other_path in explicit and path not in explicit:
            keep = chosen[key]
        dropped = other_shown if keep is entry else shown
        note(f"note: skipping {dropped}: {keep[1]} writes {target.as_posix()}")
        chosen[key] = keep
    kept = {id(entry) for entry in chosen.values()}
    return [entry for entry in targets if id(entry) in kept]


__all__ = ["compile_", "existing_module", "output_path", "unified_diff"]
