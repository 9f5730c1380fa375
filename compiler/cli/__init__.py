"""`mmoc`: the command line. The CLI package is the only place that touches Rich.

Each command lives in its own module and is registered here. Exit codes follow ruff:
0 clean, 1 problems found (or stale output under --check, or a failed run), 2 usage error or
internal failure.
"""

from __future__ import annotations

import importlib

import click

from .. import __version__

# (module, command function) pairs; a module that does not exist yet is skipped.
_COMMANDS = (
    ("check", "check"),
    ("check", "explain"),
    ("fmt", "fmt"),
    ("fmt", "convert"),
    ("compile", "compile_"),
    ("run", "run"),
    ("graph", "graph"),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmoc")
def cli() -> None:
    """mmoc compiles declarative multi-LLM pipelines (.mmo or YAML) into typed Python modules."""


for _module, _attr in _COMMANDS:
    try:
        _mod = importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_module}":
            raise
        continue
    cli.add_command(getattr(_mod, _attr))


def main() -> None:
    cli(prog_name="mmoc")
