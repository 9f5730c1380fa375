"""`-` as a path: the source read from stdin, as ruff and black read it, named in messages by
`--stdin-filename` (whose suffix also picks the language; `.mmo` without it)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..driver import LoadResult, load_bytes
from ..limits import MAX_SOURCE_BYTES

STDIN = Path("-")
STDIN_DISPLAY = "<stdin>"

stdin_filename_option = click.option(
    "--stdin-filename", metavar="PATH",
    help="With `-` as the path: the name stdin's source is shown as (its suffix picks .mmo "
         "or YAML; .mmo by default).")


def reads_stdin(paths: tuple[Path, ...]) -> bool:
    """Whether the paths ask for stdin; `-` must then be the only path."""
    if STDIN not in paths:
        return False
    if len(paths) != 1:
        raise click.UsageError("`-` (stdin) cannot be combined with other paths")
    return True


def load_stdin(stdin_filename: str | None, *, checks: bool = True) -> LoadResult:
    """Read stdin (at most one byte past the size limit, so `/dev/zero` cannot fill memory)
    and load it as the file `stdin_filename` would be."""
    display = stdin_filename or STDIN_DISPLAY
    data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    suffix = Path(stdin_filename).suffix if stdin_filename else ".mmo"
    return load_bytes(data, display, suffix or ".mmo", checks=checks)
