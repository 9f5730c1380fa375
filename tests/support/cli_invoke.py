"""Run mmoc commands in this process through click's CliRunner: each command's exit code and
output, with the traceback of any exception that escaped the command added to its stderr
(what a user would have seen).

As a script, `python cli_invoke.py '[["check", "x.yaml"], ["compile", ...]]'` runs the
commands one after the other and prints their reports as one JSON list: how the fuzz tests
run commands in a subprocess without paying an interpreter start per command. Imports only
the CLI (no pytest, no hypothesis), so it starts fast.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence

from click.testing import CliRunner
from mmoc.cli import cli

# Output kept per stream (head and tail) when a command prints more than this.
OUTPUT_KEPT = 4 << 20


def invoke(args: Sequence[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mmoc ARGS`."""
    result = CliRunner(env={"MMOC_DEBUG": None, "COLUMNS": "120"}).invoke(cli, list(args))
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += "".join(traceback.format_exception(result.exception))
    return result.exit_code, kept(result.stdout), kept(err)


def kept(text: str) -> str:
    if len(text) <= OUTPUT_KEPT:
        return text
    half = OUTPUT_KEPT // 2
    return text[:half] + "\n[...]\n" + text[-half:]


if __name__ == "__main__":
    reports = [invoke(args) for args in json.loads(sys.argv[1])]
    json.dump(reports, sys.stdout)
