"""`mmoc`: the command line. The CLI package is the only place that touches Rich.

Each command lives in its own module and is registered here. Exit codes follow ruff:
0 clean, 1 problems found (or stale output under --check, or a failed run), 2 usage error or
internal failure.
"""

from __future__ import annotations

import os
import sys

import click

from ..version import __version__

# Plain imports (a missing module is an error, never a silently missing command). The names
# are the modules, not their commands: `mmoc.cli.run` must stay the module (tests patch it).
from . import check as _check
from . import compile as _compile
from . import explain as _explain
from . import fmt as _fmt
from . import graph as _graph
from . import run as _run
from .common import EXIT_USAGE, StandardStreamError, report_stream_error, watch_standard_streams


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmoc")
def cli() -> None:
    """mmoc compiles declarative multi-LLM pipelines (.mmo or YAML) into typed Python modules."""


for _command in (_check.check, _explain.explain, _fmt.fmt, _fmt.convert, _compile.compile_,
                 _run.run, _graph.graph):
    cli.add_command(_command)


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
        sys.exit(EXIT_USAGE)
