"""`mmoc run --stream`: each llm step's text as it arrives, drawn with Rich on a terminal.

The runtime's `TextPrinter` decides what to show when (headers when the step changes, a notice
when a retry restarts the text); this subclass only draws it: a rule per step and the notices
in colour on a terminal, the runtime's plain text anywhere else.
"""

from __future__ import annotations

from typing import TextIO, cast

from mmoc_runtime.streaming_text import TextPrinter
from rich.console import Console
from rich.rule import Rule
from rich.text import Text


class StreamView(TextPrinter):
    """Text events shown on `console`: Rich when it is a terminal, plain otherwise."""

    def __init__(self, console: Console) -> None:
        super().__init__(cast(TextIO, console.file))
        self.console = console
        self.rich = console.is_terminal

    def header(self, step: str) -> None:
        if self.rich:
            self.console.print(Rule(step, style="cyan", align="left"))
        else:
            super().header(step)

    def text(self, text: str) -> None:
        if self.rich:
            self.console.print(Text(text), end="", soft_wrap=True)
        else:
            super().text(text)

    def notice(self, message: str) -> None:
        if self.rich:
            self.console.print(Text(message, style="yellow"), soft_wrap=True)
        else:
            super().notice(message)
