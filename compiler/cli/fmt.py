"""`mmoc fmt FILE...` (canonical .mmo through the IR printer) and `mmoc convert IN -o OUT`.

fmt exit codes: 0 nothing to do or files rewritten; 1 with --check/--diff when a file would
change, or when a file does not parse (it is then left untouched); 2 usage, a file that cannot
be written, or internal failure.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..diagnostics.model import Diagnostic
from ..driver import (
    MMO_SUFFIXES,
    SOURCE_SUFFIXES,
    YAML_SUFFIXES,
    LoadResult,
    load_path,
    resolved_path,
)
from .common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    collect_sources,
    display_path,
    guard,
    print_diagnostics,
    write_output,
)
from .stdin import load_stdin, reads_stdin, stdin_filename_option
from .terminal import Terminal, note


def _report_errors(loaded: LoadResult, err: Terminal, verb: str) -> None:
    """Print a file's diagnostics and say why it was not touched."""
    sources = {loaded.display_path: loaded.text} if loaded.text is not None else {}
    print_diagnostics(loaded.diagnostics, err, sources=sources, summary=False)
    err.print(f"error: not {verb} {loaded.display_path}: it has errors", highlight=False,
              markup=False)


def format_source(loaded: LoadResult) -> str:
    from ..frontends.mmo.printer import print_mmo

    assert loaded.pipeline is not None
    return print_mmo(loaded.pipeline)


def unified_diff(old: str, new: str, display: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{display} (original)",
            tofile=f"{display} (formatted)",
        )
    )


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, readable=False))
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 if any file would be reformatted.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of the changes and exit 1 if any.")
@stdin_filename_option
@guard("formatting")
def fmt(
    paths: tuple[Path, ...], check_only: bool, show_diff: bool, stdin_filename: str | None
) -> None:
    """Format .mmo files canonically (idempotent; comments kept). Folders are searched; `-`
    formats stdin to stdout."""
    err = Terminal(stderr=True)
    if reads_stdin(paths):
        sys.exit(_format_stdin(stdin_filename, check_only, show_diff, err))
    files = collect_sources(paths, MMO_SUFFIXES)
    if not files:
        err.print("warning: no .mmo files found", style="yellow")
        sys.exit(EXIT_OK)
    failed = changed = unwritten = 0
    for path, display in files:
        if path.suffix.lower() in YAML_SUFFIXES:
            err.print(f"error: {display}: fmt formats .mmo files; to turn YAML into .mmo use "
                      f"`mmoc convert {display} -o {Path(display).with_suffix('.mmo').as_posix()}`",
                      markup=False)
            failed += 1
            continue
        # Only a file that does not parse is refused: one with check errors (a missing key,
        # a cycle) still has a canonical form, and formatting it changes no meaning.
        loaded = load_path(path, display=display, checks=False)
        if not loaded.ok or loaded.text is None or loaded.pipeline is None:
            _report_errors(loaded, err, "formatting")
            failed += 1
            continue
        new = format_source(loaded)
        if new == loaded.text:
            continue
        changed += 1
        if show_diff:
            sys.stdout.write(unified_diff(loaded.text, new, display))
        elif check_only:
            err.print(f"would reformat {display}", markup=False)
        else:
            try:
                write_output(path, new)  # through a symlink: the file it points to
            except OSError as exc:
                err.print(f"error: cannot write {display}: {exc.strerror or exc}", markup=False,
                          soft_wrap=True)
                changed -= 1
                unwritten += 1
                continue
            note(f"reformatted {display}")
    verb = "would be reformatted" if check_only or show_diff else "reformatted"
    note(f"{changed} file{'s' if changed != 1 else ''} {verb}, "
         f"{len(files) - changed - failed - unwritten} unchanged"
         + (f", {failed} with errors" if failed else "")
         + (f", {unwritten} not written" if unwritten else ""))
    if unwritten:
        sys.exit(EXIT_USAGE)
    if failed or (changed and (check_only or show_diff)):
        sys.exit(EXIT_PROBLEMS)
    sys.exit(EXIT_OK)


def _format_stdin(
    stdin_filename: str | None, check_only: bool, show_diff: bool, err: Terminal
) -> int:
    """`mmoc fmt -`: the formatted source on stdout (with --check nothing, with --diff the
    diff); the exit code as for a file."""
    if stdin_filename and Path(stdin_filename).suffix.lower() in YAML_SUFFIXES:
        raise click.UsageError("fmt formats .mmo sources; --stdin-filename names a YAML file")
    loaded = load_stdin(stdin_filename, checks=False)
    if not loaded.ok or loaded.text is None or loaded.pipeline is None:
        _report_errors(loaded, err, "formatting")
        return EXIT_PROBLEMS
    new = format_source(loaded)
    changed = new != loaded.text
    if show_diff:
        sys.stdout.write(unified_diff(loaded.text, new, loaded.display_path))
    elif check_only:
        if changed:
            err.print(f"would reformat {loaded.display_path}", markup=False)
    else:
        sys.stdout.write(new)
    return EXIT_PROBLEMS if changed and (check_only or show_diff) else EXIT_OK


def render_as(loaded: LoadResult, suffix: str) -> str:
    assert loaded.pipeline is not None
    if suffix in MMO_SUFFIXES:
        from ..frontends.mmo.printer import print_mmo

        return print_mmo(loaded.pipeline)
    from ..frontends.yaml.printer import print_yaml

    return print_yaml(loaded.pipeline)


@click.command()
@click.argument("source", type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="The file to write: .mmo, .yaml or .yml (or `-` for stdout with --to); "
                   "missing folders are created.")
@click.option("--to", "to", type=click.Choice(["mmo", "yaml"]),
              help="Output language when -o is `-` (otherwise taken from -o's suffix).")
@guard("converting")
def convert(source: Path, output: Path, to: str | None) -> None:
    """Convert a pipeline between .mmo and YAML through the IR printers."""
    err = Terminal(stderr=True)
    to_stdout = str(output) == "-"
    suffix = f".{to}" if to else output.suffix.lower()
    if suffix not in SOURCE_SUFFIXES:
        raise click.UsageError(
            "cannot tell the output language: give -o a .mmo, .yaml or .yml file, or --to"
        )
    loaded = load_path(source, display=display_path(source))
    if not loaded.ok:
        _report_errors(loaded, err, "converting")
        sys.exit(EXIT_PROBLEMS)
    warnings: list[Diagnostic] = loaded.diagnostics
    if warnings:
        print_diagnostics(warnings, err, sources={loaded.display_path: loaded.text or ""})
    text = render_as(loaded, suffix)
    if to_stdout:
        sys.stdout.write(text)
        sys.exit(EXIT_OK)
    if resolved_path(output) == resolved_path(source):
        raise click.UsageError("the output would overwrite the source; choose another -o")
    try:
        write_output(output, text)  # missing folders are created, as compile -o does
    except OSError as exc:
        err.print(f"error: cannot write {display_path(output)}: {exc.strerror or exc}",
                  markup=False)
        sys.exit(EXIT_USAGE)
    note(f"wrote {display_path(output)}")
    sys.exit(EXIT_OK)
