"""Showing a streamed run's text as it arrives: what `--stream` prints.

`TextPrinter.show(event)` takes a run's events in order and writes each llm step's text as it
comes, under a header naming the step; when steps run at the same time their pieces alternate,
and each switch repeats the header. A retry or fallback after partial text says the text
starts again. Plain text on any file; `mmoc run` subclasses it to draw with Rich on a terminal.
"""

from __future__ import annotations

from typing import TextIO

from .events import Event, FallbackUsed, Retrying, StepFinished, TextDelta


class TextPrinter:
    """Writes the text events of a run to `file` (plain text, flushed as it goes)."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self.current: str | None = None  # the step whose text was written last
        self.mid_line = False  # the last text did not end its line

    def show(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            if event.step != self.current:
                self._end_line()
                self.current = event.step
                self.header(event.step)
            if event.text:
                self.text(event.text)
                self.mid_line = not event.text.endswith("\n")
        elif isinstance(event, Retrying) and event.restarted:
            self._restart(event.step, f"{event.error_kind or 'failed'}: retrying "
                                      f"(attempt {event.attempt}), the text starts again")
        elif isinstance(event, FallbackUsed) and event.restarted:
            self._restart(event.step, f"falling back to {event.to_model}, the text starts again")
        elif isinstance(event, StepFinished) and event.step == self.current:
            self._end_line()
            self.current = None

    def _restart(self, step: str, message: str) -> None:
        self._end_line()
        self.notice(f"[{step}] {message}")
        self.current = None  # the new text gets its header again

    def _end_line(self) -> None:
        if self.mid_line:
            self.text("\n")
            self.mid_line = False

    # -- how it looks: overridden for Rich ------------------------------------------------

    def header(self, step: str) -> None:
        self.file.write(f"--- {step} ---\n")
        self.file.flush()

    def text(self, text: str) -> None:
        self.file.write(text)
        self.file.flush()

    def notice(self, message: str) -> None:
        self.file.write(message + "\n")
        self.file.flush()
