"""`python -m mmoc.demo` (what `make demo` runs): compile and run the shipped pipelines on mock.

For each pipeline in `pipelines/` (`.mmo`, or YAML where no `.mmo` twin exists; or the files /
folders given as arguments) it compiles the source
in memory, says whether the checked-in `*_gen.py` beside it is up to date, runs the module on
the mock provider with example inputs (the same path as `mmoc run --mock`), showing the live
step view, the run's outputs (shortened) and the trace summary. Exit status 1 when any
pipeline fails to compile or run, else 0. No API keys and no network are needed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

# Example inputs for the seed's four templates; any other required input gets a placeholder.
EXAMPLE_INPUTS: dict[str, str] = {
    "topic": "the economics of offshore wind power",
    "document": (
        "Invoice 2024-117 from Northwind Traders, dated 3 March 2024, billed Contoso Ltd "
        "EUR 12,400 for 40 hours of consulting by Ana Lopez, due within 30 days."
    ),
    "source_text": "The early bird catches the worm, but the second mouse gets the cheese.",
    "target_language": "French",
    "input_data": (
        "month,visitors,signups\nJan,12000,340\nFeb,13500,410\nMar,12800,390\n"
        "Apr,15900,520\nMay,17100,610"
    ),
    "audience": "a product team",
}
_OUTPUT_PREVIEW = 240  # characters of each output shown


def find_sources(args: Sequence[str]) -> list[Path]:
    """The files named, or the pipelines found in the folders named (default: the pipelines
    folder): `.mmo` and YAML files, a `.mmo` winning over its YAML twin of the same stem."""
    from ..driver import folder_sources

    roots = [Path(a) for a in args] or [_default_folder()]
    found: list[Path] = []
    for root in roots:
        found.extend(folder_sources(root) if root.is_dir() else [root])
    return found


def _default_folder() -> Path:
    here = Path("pipelines")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "pipelines"


def example_inputs(spec: Any, examples: Mapping[str, str] = EXAMPLE_INPUTS) -> dict[str, str]:
    """A value for every input the pipeline declares without a default, as `-i` text."""
    values: dict[str, str] = {}
    for item in spec.inputs:
        if item.name in examples:
            values[item.name] = examples[item.name]
        elif item.required:
            values[item.name] = "3" if item.type in ("int", "float") else f"example {item.name}"
    return values


def _freshness(source: Path, code: str) -> str:
    from .compile import existing_module  # read as `compile --check` reads it

    generated = source.with_name(f"{source.stem}_gen.py")
    current, why = existing_module(generated, code)
    if current == code:
        return f"{generated.name} is up to date"
    if why == "missing":
        return f"no checked-in {generated.name}"
    return f"{generated.name} is STALE"


def run_one(source: Path, console: Console) -> bool:
    """Compile and run one pipeline on mock; True when both succeeded."""
    from mmoc_runtime import InputError

    from ..driver import compile_file
    from ..modules import load_module
    from .common import print_diagnostics
    from .live import LiveView, summary_table
    from .run import RunAbort, collect_inputs

    console.print(Rule(Text(str(source), style="bold")))
    compiled = compile_file(source)
    if compiled.diagnostics:
        print_diagnostics(compiled.diagnostics, console)
    if not compiled.ok or compiled.code is None:
        console.print(Text(f"{source}: does not compile", style="bold red"), soft_wrap=True)
        return False
    lines = compiled.code.count("\n")
    console.print(
        Text(f"compiled to {lines} lines of Python ({_freshness(source, compiled.code)})"),
        soft_wrap=True,
    )
    module = load_module(compiled.code, f"mmoc_demo_{source.stem}")
    pairs = example_inputs(module.PIPELINE)
    try:
        inputs = collect_inputs(module.PIPELINE, pairs)
    except RunAbort as exc:
        console.print(Text(f"{source}: {exc.message}", style="bold red"), soft_wrap=True)
        return False
    for key, value in inputs.items():
        console.print(Text(f"  input {key} = {_preview(str(value), 80)}", style="dim"),
                      soft_wrap=True)
    view = LiveView(console)
    try:
        result = asyncio.run(module.run_result(inputs, mock=True, observer=view))
    except InputError as exc:
        console.print(Text(f"{source}: {exc}", style="bold red"), soft_wrap=True)
        return False
    finally:
        view.close()
    for key, value in result.outputs.items():
        console.print(Panel(Text(_preview(str(value), _OUTPUT_PREVIEW)), title=key,
                            title_align="left", expand=False))
    console.print(summary_table(result.trace))
    if not result.success:
        console.print(Text(f"run failed: {result.error}", style="bold red"), soft_wrap=True)
    return bool(result.success)


def _preview(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    console = Console(highlight=False)
    sources = find_sources(args)
    if not sources:
        looked = ", ".join(args) or "pipelines/"
        console.print(Text(f"no pipelines (.mmo, .yaml, .yml) found (looked in: {looked})",
                           style="bold red"))
        return 1
    outcomes = {source: run_one(source, console) for source in sources}
    console.print(Rule("demo"))
    for source, ok in outcomes.items():
        mark = Text("ok    ", style="green") if ok else Text("FAILED", style="bold red")
        console.print(Text.assemble(mark, f" {source}"), soft_wrap=True)
    return 0 if all(outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
