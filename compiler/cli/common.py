"""Helpers every command shares: finding source files, printing diagnostics, exit codes,
writing outputs, turning an internal failure into MMO702 instead of a traceback, and a full
or closed stdout or stderr into an I/O error (exit 2) instead of MMO702.

Exit codes (ruff's): 0 clean, 1 problems found, 2 usage error or internal failure.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from mmoc_runtime.files import read_regular_file, write_file

from ..diagnostics.model import Diagnostic, internal_error, sort_key
from ..diagnostics.render import render_github, render_json, render_text, summary_line
from ..driver import SOURCE_SUFFIXES, resolved_path
from ..limits import MAX_SOURCE_BYTES
from .streams import StandardStreamError
from .terminal import Output, Terminal, wants_color

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
FORMATS = ("text", "json", "github", "sarif")
# Folders never searched for sources when a directory is given.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "build", "dist"})

F = TypeVar("F", bound=Callable[..., Any])


def display_path(path: Path) -> str:
    """The path as the user gave it; an absolute path under the working directory is made
    relative, so spans and generated headers never hold a machine's absolute paths."""
    if path.is_absolute():
        try:
            relative = Path(os.path.relpath(path))
        except ValueError:  # another drive on Windows
            return path.as_posix()
        if relative.parts[:1] != ("..",):
            return relative.as_posix()
    return path.as_posix()


def collect_sources(
    paths: Iterable[Path],
    suffixes: Sequence[str] = SOURCE_SUFFIXES,
    excluded: Callable[[Path], bool] = lambda _: False,
) -> list[tuple[Path, str]]:
    """(path, display) for each file given and each source file under each folder given.

    Files named explicitly are kept whatever their suffix or existence (loading reports
    them); folders are searched recursively, skipping hidden and build folders and what
    `excluded` (the configuration's `exclude`) says, sorted.
    """
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                    and not excluded(Path(root) / d)
                )
                for name in sorted(files):
                    if name.startswith(".") or not name.endswith(tuple(suffixes)):
                        continue
                    file = Path(root) / name
                    if excluded(file):
                        continue
                    if not file.is_file():  # a FIFO or socket would block the read forever
                        continue
                    if _identity(file) not in seen:
                        seen.add(_identity(file))
                        found.append((file, display_path(file)))
        elif _identity(path) not in seen:
            seen.add(_identity(path))
            found.append((path, display_path(path)))
    return found


def _identity(path: Path) -> Path:
    """The same file named two ways (`a.mmo`, `./a.mmo`, via its folder) is checked once."""
    return resolved_path(path)


def read_sources(diags: Iterable[Diagnostic]) -> dict[str, str]:
    """Source text for every file the diagnostics name, read best-effort from disk."""
    sources: dict[str, str] = {}
    for d in diags:
        for span in (d.span, *(lab.span for lab in d.labels)):
            if span is None or span.file in sources:
                continue
            try:  # never a FIFO or a device: a diagnostic about one must not hang on it
                sources[span.file] = read_regular_file(span.file, MAX_SOURCE_BYTES).decode()
            except (OSError, UnicodeDecodeError):
                sources[span.file] = ""
    return {k: v for k, v in sources.items() if v}


def render_diagnostics(
    diags: Sequence[Diagnostic],
    fmt: str = "text",
    sources: Mapping[str, str] | None = None,
    color: bool = False,
    summary: bool = True,
    sarif_root: str | None = None,
) -> str:
    if fmt == "json":
        return render_json(diags)
    if fmt == "github":
        return render_github(diags)
    if fmt == "sarif":
        from ..diagnostics.sarif import render_sarif  # only here: hashlib is not free

        return render_sarif(diags, root=sarif_root)
    if sources is None:
        sources = read_sources(diags)
    return render_text(diags, sources, color=color, summary=summary)


def print_diagnostics(
    diags: Sequence[Diagnostic],
    console: Output | None = None,
    sources: Mapping[str, str] | None = None,
    fmt: str = "text",
    summary: bool = True,
    sarif_root: str | None = None,
) -> None:
    """Print diagnostics (sorted) to `console` (default: stdout), text in colour on a tty.
    SARIF's URIs are relative to `sarif_root` (default: the working directory)."""
    console = console or Terminal()
    ordered = sorted(diags, key=sort_key)
    color = fmt == "text" and wants_color(console)
    text = render_diagnostics(ordered, fmt, sources, color=color, summary=summary,
                              sarif_root=sarif_root)
    console.file.write(text)  # coloured by the renderer itself when `color`
    console.file.flush()


def print_report(
    diags: Sequence[Diagnostic],
    console: Output,
    files: int,
    sources: Mapping[str, str] | None = None,
    fmt: str = "text",
    sarif_root: str | None = None,
) -> None:
    """Diagnostics exactly as `mmoc check` prints them: in text, after the last one, a blank
    line and `found 2 errors, 1 warning in 3 files`. Nothing at all when there are none
    (json, github and sarif always print: an empty list is still a document)."""
    if fmt != "text":
        print_diagnostics(diags, console, sources, fmt=fmt, sarif_root=sarif_root)
        return
    if not diags:
        return
    print_diagnostics(diags, console, sources, summary=False)
    console.file.write(f"\n{summary_line(diags)} in {files} file{'s' if files != 1 else ''}\n")
    console.file.flush()


INTERNAL_ERROR_CODE = "MMO702"


def has_internal_error(diags: Iterable[Diagnostic]) -> bool:
    """A compiler failure (MMO702): the command exits 2, not 1, as a crash would."""
    return any(d.code == INTERNAL_ERROR_CODE for d in diags)


def exit_code(diags: Iterable[Diagnostic], strict: bool = False) -> int:
    """2 for an internal error (MMO702); else 1 when any error (or, with `strict`, any
    warning); else 0."""
    diags = list(diags)
    if has_internal_error(diags):
        return EXIT_USAGE
    for d in diags:
        if d.is_error or (strict and d.level == "warning"):
            return EXIT_PROBLEMS
    return EXIT_OK


def guard(doing: str) -> Callable[[F], F]:
    """Decorate a command body: any unexpected exception prints MMO702 and exits 2.

    Click's own exceptions (usage errors, `ctx.exit`), `SystemExit` and `KeyboardInterrupt`
    pass through. With `MMOC_DEBUG` set, the exception propagates, traceback and all.
    """

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort,
                    SystemExit, KeyboardInterrupt, BrokenPipeError, StandardStreamError):
                # BrokenPipeError: the reader of our output left; `main` ends quietly.
                # StandardStreamError: stdout or stderr cannot be written; `main` says so.
                raise
            except Exception as exc:  # never a traceback for the user (MMOC_DEBUG re-raises)
                if os.environ.get("MMOC_DEBUG"):
                    raise
                err = Terminal(stderr=True)
                print_diagnostics([internal_error(exc, doing=doing)], err, summary=False)
                err.print("(set MMOC_DEBUG=1 to see the traceback)", style="dim")
                sys.exit(EXIT_USAGE)

        return inner  # type: ignore[return-value]

    return wrap


def write_output(path: Path, text: str | bytes) -> None:
    """Write a file a command produces (`compile -o`, `convert -o`, `fmt`, `graph -o`,
    `run --trace`) with `mmoc_runtime.files.write_file`: missing folders created, a regular
    file replaced all at once through any symlink, a device or FIFO written as it is, anything
    else refused (`OSError`, for the command to report with exit 2)."""
    write_file(path, text)

