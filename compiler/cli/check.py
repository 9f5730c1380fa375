"""`mmoc check [FILE_OR_DIR...]` (the linter) and `mmoc explain CODE`.

check exit codes: 0 no errors (warnings allowed), 1 any error (or any warning with
--strict or `strict = true`), 2 usage error, bad configuration or internal failure. With no
path, the project's pipelines are checked (see `project.sources_of`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from ..checks.models import declared_models
from ..diagnostics.model import Diagnostic, sort_key
from ..driver import LoadResult, load_path
from .common import (
    EXIT_OK,
    FORMATS,
    exit_code,
    guard,
    print_diagnostics,
    print_report,
)
from .project import (
    config_option,
    no_sources_message,
    project_config,
    project_root_option,
    sarif_root,
    sources_of,
)
from .stdin import load_stdin, reads_stdin, stdin_filename_option
from .terminal import SETTINGS, Terminal


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: rustc-style text, a JSON array, GitHub annotations, SARIF.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--select", multiple=True, metavar="CODE",
              help="Report only these codes, slugs or prefixes (MMO4); replaces the config's.")
@click.option("--extend-select", multiple=True, metavar="CODE",
              help="Report these codes too.")
@click.option("--ignore", multiple=True, metavar="CODE",
              help="Do not report these warnings (codes, slugs or prefixes).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@config_option
@stdin_filename_option
@project_root_option
@guard("checking")
def check(
    paths: tuple[Path, ...], fmt: str, strict: bool, select: tuple[str, ...],
    extend_select: tuple[str, ...], ignore: tuple[str, ...], exit_zero: bool,
    config_file: Path | None, stdin_filename: str | None, project_root: Path | None,
) -> None:
    """Check pipeline sources (.mmo, .yaml, .yml files, or folders of them) for problems;
    with no path, the project's (see docs/cli.md, "Configuration")."""
    config = project_config(select, ignore, extend_select, config_file)
    if reads_stdin(paths):
        loads: Iterable[LoadResult] = [load_stdin(stdin_filename)]
        count = 1
    else:
        files = sources_of(paths, config)
        if not files:
            Terminal(stderr=True).print(no_sources_message(paths), style="yellow")
            if fmt != "text":
                print_diagnostics([], fmt=fmt, sarif_root=sarif_root(fmt, project_root))
            sys.exit(EXIT_OK)
        loads = (load_path(path, display=display) for path, display in files)
        count = len(files)
    diags: list[Diagnostic] = []
    sources: dict[str, str] = {}
    with declared_models(config):
        for loaded in loads:
            diags.extend(loaded.diagnostics)
            if loaded.text is not None:
                sources[loaded.display_path] = loaded.text
    diags = config.filter(diags)
    diags.sort(key=sort_key)
    out = Terminal()
    print_report(diags, out, count, sources=sources, fmt=fmt,
                 sarif_root=sarif_root(fmt, project_root))
    if fmt == "text" and not diags and SETTINGS.verbosity >= 0:
        out.file.write(f"All checks passed: {count} file{'s' if count != 1 else ''}\n")
    code = exit_code(diags, strict or config.strict)
    sys.exit(EXIT_OK if exit_zero and code == 1 else code)
