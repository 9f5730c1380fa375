"""The linter commands' output: a stream, whether it is a terminal, and a few colours.

`check`, `fmt`, `convert`, `compile` and `explain` print plain lines and rustc-style
diagnostics (already coloured by the renderer); Rich, which takes longer to import than such
a command takes to run, is only for `run`'s live view. `Terminal` has the part of Rich's
`Console` those commands use (`file`, `is_terminal`, `print(text, style=...)`), so the helpers
that print diagnostics take either.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import IO, Any, Protocol

# The few styles the commands use, as ANSI SGR codes.
_STYLES = {"yellow": "33", "red": "31", "bold red": "1;31", "green": "32", "dim": "2", "bold": "1"}


class Output(Protocol):
    """What printing diagnostics needs of a console: Rich's `Console` and `Terminal` both fit."""

    @property
    def file(self) -> IO[str]: ...

    @property
    def is_terminal(self) -> bool: ...


@dataclass
class Settings:
    """The global options (`mmoc -q/-v --color ...`), set once per invocation by the group."""

    color: str = "auto"  # auto | always | never
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose


SETTINGS = Settings()


def wants_color(console: Output) -> bool:
    """`--color always/never` decides; with `auto`, colour only on a terminal, and never when
    NO_COLOR is set (FORCE_COLOR forces it)."""
    if SETTINGS.color != "auto":
        return SETTINGS.color == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return console.is_terminal


def note(text: str) -> None:
    """A progress line on stderr (`wrote x`, `reformatted y`, `All checks passed`), which
    `-q` silences; errors and the lines explaining an exit code 1 are never notes."""
    if SETTINGS.verbosity >= 0:
        Terminal(stderr=True).print(text)


def verbose(text: str) -> None:
    """A line only `-v` prints (which configuration, which files)."""
    if SETTINGS.verbosity > 0:
        Terminal(stderr=True).print(text, style="dim")


class Terminal:
    """stdout (or stderr with `stderr=True`), looked up when written to: click's test runner
    and the stream watcher replace `sys.stdout` after this is made."""

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr

    @property
    def file(self) -> IO[str]:
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.file, "isatty", None)
        return bool(isatty and isatty())

    def print(self, text: str, style: str | None = None, **_rich_options: Any) -> None:
        """One line, in `style` on a terminal that wants colour (Rich's markup and highlight
        options are accepted and ignored: nothing here is markup)."""
        code = _STYLES.get(style or "")
        if code and wants_color(self):
            text = f"\x1b[{code}m{text}\x1b[0m"
        self.file.write(text + "\n")
        self.file.flush()
