"""`mmoc graph FILE --format mermaid|dot|svg|png [-o OUT]`: draw a pipeline's DAG.

Mermaid and DOT are text, printed or written to OUT. SVG and PNG are rendered by Graphviz's
`dot` program when it is installed; without it the command says how to install it and exits 2.
Exit codes: 0 drawn, 1 the pipeline has errors (reported as `mmoc check` reports them),
2 usage errors and a missing or failing `dot`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.text import Text

from ..codegen.graph import render_graph
from ..driver import load_path
from .common import display_path, exit_code, guard, print_report, write_output

_INSTALL_HINT = (
    "install Graphviz to render {fmt}: `apt install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), `choco install graphviz` (Windows); "
    "or use --format dot / mermaid, which need nothing"
)


def _fail(code: int, message: str, err: Console) -> NoReturn:
    err.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    sys.exit(code)


def render_with_dot(dot_text: str, fmt: str, dot_program: str | None = None) -> bytes:
    """Run Graphviz on DOT text; raise `RuntimeError` with a readable reason on failure."""
    program = dot_program or shutil.which("dot")
    if program is None:
        raise FileNotFoundError(_INSTALL_HINT.format(fmt=fmt))
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
            timeout=60, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"running {program} failed: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise RuntimeError(f"{program} -T{fmt} failed: {reason}")
    return done.stdout


@click.command("graph")
@click.argument("file", type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg", "png"]),
              default="mermaid", show_default=True, help="What to draw.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout (required for png).")
@guard("drawing the graph")
def graph(file: Path, fmt: str, output: Path | None) -> None:
    """Draw FILE's steps, groups (as subgraphs), conditional edges (dashed) and models."""
    err = Console(stderr=True, highlight=False)
    # Shown as `check` shows it: as given (absolute only made relative under the cwd).
    display = display_path(file)
    loaded = load_path(file, display=display)
    sources = {display: loaded.text} if loaded.text is not None else None
    print_report(loaded.diagnostics, err, 1, sources=sources)
    if not loaded.ok or loaded.pipeline is None:
        sys.exit(exit_code(loaded.diagnostics) or 1)
    try:
        if fmt in ("mermaid", "dot"):
            data = render_graph(loaded.pipeline, fmt).encode("utf-8")
        else:
            if output is None and fmt == "png":
                _fail(2, "--format png writes binary data: give -o OUT.png", err)
            data = render_with_dot(render_graph(loaded.pipeline, "dot"), fmt)
    except FileNotFoundError as exc:  # no `dot`: how to install it
        _fail(2, str(exc), err)
    except RuntimeError as exc:
        _fail(2, str(exc), err)
    if output is None:
        # A reader leaving (`| head`) or a full stdout is `mmoc.cli.main`'s to report.
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        write_output(output, data)
    except OSError as exc:
        _fail(2, f"cannot write {display_path(output)}: {exc.strerror or exc}", err)
