"""`mmoc check FILE_OR_DIR...` (the linter) and `mmoc explain CODE`.

check exit codes: 0 no errors (warnings allowed), 1 any error (or any warning with
--strict), 2 usage error or internal failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..diagnostics.codes import CODES, Code
from ..diagnostics.model import Diagnostic, sort_key
from ..driver import load_path
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    FORMATS,
    collect_sources,
    exit_code,
    guard,
    print_diagnostics,
    print_report,
)


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: rustc-style text, a JSON array, GitHub annotations, SARIF.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@guard("checking")
def check(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check pipeline sources (.mmo, .yaml, .yml files, or folders of them) for problems."""
    err = Console(stderr=True, highlight=False)
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
    out = Console(highlight=False)
    print_report(diags, out, len(files), sources=sources, fmt=fmt)
    if fmt == "text" and not diags:
        out.file.write(f"All checks passed: {len(files)} file{'s' if len(files) != 1 else ''}\n")
    sys.exit(exit_code(diags, strict))


def find_code(query: str) -> Code | None:
    """A code by `MMO201`, `mmo201`, `201` or slug `dependency-cycle`."""
    q = query.strip()
    upper = q.upper()
    if upper in CODES:
        return CODES[upper]
    if q.isdigit() and f"MMO{q.zfill(3)}" in CODES:
        return CODES[f"MMO{q.zfill(3)}"]
    slug = q.lower().replace("_", "-")
    for code in CODES.values():
        if code.slug == slug:
            return code
    partial = [code for code in CODES.values() if slug and slug in code.slug]
    return partial[0] if len(partial) == 1 else None


def explain_text(code: Code) -> str:
    from ..diagnostics.examples import EXAMPLES, rendered_example

    lines = [f"{code.code} {code.slug} ({code.severity})", "", code.summary[:1].upper()
             + code.summary[1:] + ".", "", code.explanation]
    example = EXAMPLES.get(code.code)
    if example is not None:
        lines += ["", f"Example ({example.language}):", ""]
        lines += ["    " + line if line else "" for line in example.source.splitlines()]
        rendered = rendered_example(code.code)
        if rendered:
            lines += ["", "mmoc check reports:", ""]
            lines += ["    " + line if line else "" for line in rendered.splitlines()]
        if example.fix:
            lines += ["", "Fix: " + example.fix]
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("code")
@guard("explaining")
def explain(code: str) -> None:
    """Explain a diagnostic CODE: MMO201, 201, or its slug such as dependency-cycle."""
    found = find_code(code)
    if found is None:
        import difflib

        names = [*CODES, *(c.slug for c in CODES.values())]
        near = difflib.get_close_matches(code.upper() if code[:3].lower() == "mmo" else code,
                                         names, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ""
        click.echo(f"error: unknown diagnostic code {code!r}{hint}", err=True)
        click.echo("codes: " + ", ".join(CODES), err=True)
        sys.exit(EXIT_USAGE)
    click.echo(explain_text(found), nl=False)
