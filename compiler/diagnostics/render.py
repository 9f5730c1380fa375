"""Diagnostics as text (rustc style), JSON, GitHub workflow annotations; SARIF is in
`sarif.py` (imported only when asked for: it needs hashlib).

No Rich here: colour is plain ANSI, chosen by the caller (the CLI decides when a terminal
wants it). Every renderer takes diagnostics already sorted as the caller wants them.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..gc_pause import gc_paused
from ..source import Span
from .model import Diagnostic, Label, bounded

__all__ = ["render_github", "render_json", "render_text", "summary_line"]

_RESET = "\x1b[0m"
_STYLE = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "gutter": "\x1b[1;34m",
    "bold": "\x1b[1m",
    "secondary": "\x1b[1;34m",
}


@dataclass(frozen=True)
class _Mark:
    span: Span
    text: str | None
    primary: bool


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_RESET}" if color and text else text


def summary_line(diags: Iterable[Diagnostic]) -> str:
    """`found 2 errors, 1 warning` (or `no problems found`)."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for d in diags:
        counts[d.level] += 1
    parts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for word, n in (("error", counts["error"]), ("warning", counts["warning"]),
                        ("note", counts["info"]))
        if n
    ]
    return "found " + ", ".join(parts) if parts else "no problems found"


def render_text(
    diags: Sequence[Diagnostic],
    sources: Mapping[str, str],
    color: bool = False,
    *,
    summary: bool = True,
) -> str:
    """rustc-style text: header, `-->` location, gutter, source lines, carets, labels, help.

    Bounded: repeats of one code on one line are capped and long texts clipped (`bounded`,
    as in every format), and long source lines show a window around the span. The summary
    still counts every diagnostic given."""
    lines = _Lines(sources)
    with gc_paused():  # many small objects, none in a cycle; see `_gc`
        blocks = [_render_one(d, lines, color) for d in bounded(diags)]
    if summary and diags:
        blocks.append(_paint(summary_line(diags), "bold", color) + "\n")
    return "\n".join(blocks)


def _render_one(d: Diagnostic, lines: _Lines, color: bool) -> str:
    level = d.level
    head = _paint(f"{level}[{d.code}]", level, color)
    out = [head + _paint(f": {d.message}", "bold", color)]
    marks: list[_Mark] = []
    if d.span is not None:
        marks.append(_Mark(d.span, d.label, True))
    marks.extend(_Mark(lab.span, lab.message, False) for lab in d.labels)
    lines_by_file: dict[str, list[_Mark]] = {}
    for mark in marks:
        lines_by_file.setdefault(mark.span.file, []).append(mark)
    shown_lines = [m.span.line for m in marks if lines.line(m.span) is not None]
    width = len(str(max(shown_lines))) if shown_lines else 1
    gutter = " " * width
    bar = _paint(gutter + " |", "gutter", color)
    for file_i, (file, file_marks) in enumerate(lines_by_file.items()):
        first = file_marks[0].span
        arrow = "-->" if file_i == 0 else ":::"
        out.append(_paint(f"{gutter}{arrow}", "gutter", color) + f" {file}:{first.line}:{first.column}")
        snippet = _snippet(file_marks, lines, width, level, color)
        if snippet:
            out.append(bar)
            out.extend(snippet)
            out.append(bar)
    if d.help:
        out.append(_paint("help", "bold", color) + f": {d.help}")
    return "\n".join(out) + "\n"


class _Lines:
    """Source lines by file, split once per render: splitting the whole file again for each
    diagnostic made 10,000 diagnostics cost 10,000 passes over the file."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = sources
        self._split: dict[str, list[str] | None] = {}

    def line(self, span: Span) -> str | None:
        if span.file not in self._split:
            text = self._sources.get(span.file)
            self._split[span.file] = text.splitlines() if text is not None else None
        lines = self._split[span.file]
        if lines is not None and 1 <= span.line <= len(lines):
            return lines[span.line - 1]
        return None


# A source line longer than this many characters shows only a window of that many, starting
# a little before the primary span, with `...` where text was left out.
SNIPPET_WIDTH = 160
_CONTEXT_BEFORE = 40
_CLIPPED = "..."
@dataclass(frozen=True)
class _Window:
    """The part of a source line a snippet shows: `raw[lo:hi]`, tabs expanded to 4."""

    raw: str
    lo: int
    hi: int

    @classmethod
    def around(cls, raw: str, anchor: int) -> _Window:
        if len(raw) <= SNIPPET_WIDTH:
            return cls(raw, 0, len(raw))
        lo = max(0, min(anchor - _CONTEXT_BEFORE, len(raw) - SNIPPET_WIDTH))
        return cls(raw, lo, lo + SNIPPET_WIDTH)

    @property
    def _prefix(self) -> str:
        return _CLIPPED if self.lo > 0 else ""

    def text(self) -> str:
        suffix = _CLIPPED if self.hi < len(self.raw) else ""
        return (self._prefix + self.raw[self.lo : self.hi]).expandtabs(4) + suffix

    def column(self, index: int) -> int:
        """Where `raw[index]` is shown (0-based), clamped to the window, in terminal cells."""
        index = min(max(index, self.lo), self.hi)
        return _cells((self._prefix + self.raw[self.lo : index]).expandtabs(4))


def _cells(text: str) -> int:
    """Terminal cells `text` takes: wide and fullwidth characters (`ｓ`, CJK) take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _snippet(marks: list[_Mark], lines: _Lines, width: int, level: str, color: bool) -> list[str]:
    by_line: dict[int, list[_Mark]] = {}
    for mark in marks:
        if lines.line(mark.span) is not None:
            by_line.setdefault(mark.span.line, []).append(mark)
    out: list[str] = []
    previous: int | None = None
    for line_no in sorted(by_line):
        if previous is not None and line_no > previous + 1:
            out.append(_paint("...", "gutter", color))
        previous = line_no
        # Primary first, then by column, one caret row each.
        line_marks = sorted(by_line[line_no], key=lambda m: (not m.primary, m.span.column))
        window = _Window.around(lines.line(line_marks[0].span) or "", line_marks[0].span.column - 1)
        shown = window.text()
        out.append(_paint(f"{line_no:>{width}} |", "gutter", color) + (f" {shown}" if shown else ""))
        for mark in line_marks:
            start = window.column(mark.span.column - 1)
            if mark.span.end_line == mark.span.line:
                end = window.column(mark.span.end_column - 1)
            else:
                end = window.column(window.hi)
            caret = ("^" if mark.primary else "-") * max(end - start, 1)
            style = level if mark.primary else "secondary"
            row = " " * start + _paint(caret, style, color)
            if mark.text:
                row += " " + _paint(mark.text, style, color)
            out.append(_paint(" " * width + " |", "gutter", color) + " " + row)
    return out


# ---- JSON -----------------------------------------------------------------------------


def _location(span: Span | None) -> dict[str, Any]:
    if span is None:
        return {"file": None, "line": None, "column": None, "end_line": None, "end_column": None}
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _label_json(label: Label) -> dict[str, Any]:
    return {**_location(label.span), "message": label.message}


def diagnostic_dict(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code,
        "slug": d.slug,
        "severity": d.level,
        "message": d.message,
        **_location(d.span),
        "label": d.label,
        "help": d.help,
        "labels": [_label_json(lab) for lab in d.labels],
    }


def render_json(diags: Sequence[Diagnostic]) -> str:
    """One JSON array, one object per diagnostic (stable field order), `bounded`."""
    return json.dumps(
        [diagnostic_dict(d) for d in bounded(diags)], indent=2, ensure_ascii=False
    ) + "\n"


# ---- GitHub workflow annotations ------------------------------------------------------

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: Sequence[Diagnostic]) -> str:
    """`::error file=..,line=..,col=..,endLine=..,endColumn=..,title=..::message` lines."""
    lines = []
    for d in bounded(diags):
        props: list[tuple[str, object]] = []
        if d.span is not None:
            s = d.span
            props += [("file", s.file), ("line", s.line), ("col", s.column),
                      ("endLine", s.end_line), ("endColumn", s.end_column)]
        props.append(("title", f"{d.code} {d.slug}"))
        message = d.message + (f"\nhelp: {d.help}" if d.help else "")
        rendered = ",".join(f"{k}={_escape_property(str(v))}" for k, v in props)
        lines.append(f"::{_GITHUB_LEVEL[d.level]} {rendered}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)
