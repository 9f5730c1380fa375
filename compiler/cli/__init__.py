"""`mmoc`: the command line. The CLI package is the only place that touches Rich.

Each command lives in its own module and is registered here. Exit codes follow ruff:
0 clean, 1 problems found (or stale output under --check, or a failed run), 2 usage error or
internal failure.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module

import click

from ..version import __version__
from .streams import StandardStreamError, report_stream_error, watch_standard_streams
from .terminal import SETTINGS

# Command name -> "module:function". A command's module is imported only when that command
# runs (or `--help` lists them all), so `mmoc check` never loads black, jinja2, the runtime's
# executor or httpx, and `mmoc --version` loads nothing but click.
COMMANDS: dict[str, str] = {
    "check": "check:check",
    "explain": "explain:explain",
    "fmt": "fmt:fmt",
    "convert": "fmt:convert",
    "compile": "compile:compile_",
    "run": "run:run",
    "graph": "graph:graph",
    "test": "test:test",
    "lsp": "lsp:lsp",
    "cache": "cache:cache",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, attr = where.partition(":")
        command = getattr(import_module(f"{__name__}.{module}"), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mmoc")
@click.option("-q", "--quiet", "quiet", is_flag=True,
              help="Print only diagnostics and errors, no progress lines.")
@click.option("-v", "--verbose", "verbose", count=True,
              help="Also say which configuration and files are used.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Colour the output (auto: on a terminal, unless NO_COLOR; FORCE_COLOR forces).")
def cli(quiet: bool, verbose: int, color: str) -> None:
    """mmoc compiles declarative multi-LLM pipelines (.mmo or YAML) into typed Python modules.

    Shell completion: eval "$(_MMOC_COMPLETE=bash_source mmoc)" (zsh_source, fish_source).
    """
    SETTINGS.color = color
    SETTINGS.verbosity = -1 if quiet else verbose


def main() -> None:
    watch_standard_streams()
    try:
        try:
            cli(prog_name="mmoc")
        finally:
            # Here, not in Python's flush at exit: a failure can still be reported.
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:  # a stderr closed from the start stays None
                    stream.flush()
    except BrokenPipeError:
        # `mmoc check ... | head`: the reader left. Python would complain again when it flushes
        # stdout at exit, so point stdout at /dev/null first, then exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except StandardStreamError as exc:  # `> /dev/full`: an I/O error, not a bug of mmoc
        report_stream_error(exc)
        sys.exit(2)  # ruff's exit codes: 2 is a usage error or a failure outside the sources
