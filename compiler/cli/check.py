"""`mmoc check FILE_OR_DIR...` (the linter) and `mmoc explain CODE`.

check exit codes: 0 no errors (warnings allowed), 1 any error (or any warning with
--strict), 2 usage error or internal failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics.model import Diagnostic, sort_key
from ..driver import load_path
from .common import (
    EXIT_OK,
    FORMATS,
    collect_sources,
    exit_code,
    guard,
    print_diagnostics,
    print_report,
)
from .terminal import Terminal


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: rustc-style text, a JSON array, GitHub annotations, SARIF.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@guard("checking")
def check(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check pipeline sources (.mmo, .yaml, .yml files, or folders of them) for problems."""
    err = Terminal(stderr=True)
    files = collect_sources(paths)
    if not files:
        err.print("warning: no pipeline sources (.mmo, .yaml, .yml) found", style="yellow")
        if fmt != "text":
            print_diagnostics([], fmt=fmt)
        sys.exit(EXIT_OK)
    diags: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for path, display in files:
        loaded = load_path(path, display=display)
        diags.extend(loaded.diagnostics)
        if loaded.text is not None:
            sources[display] = loaded.text
    diags.sort(key=sort_key)
    out = Terminal()
    print_report(diags, out, len(files), sources=sources, fmt=fmt)
    if fmt == "text" and not diags:
        out.file.write(f"All checks passed: {len(files)} file{'s' if len(files) != 1 else ''}\n")
    sys.exit(exit_code(diags, strict))
