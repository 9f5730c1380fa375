"""Diagnostics as text (rustc style), JSON, GitHub workflow annotations; SARIF is in
`render_sarif.py` and re-exported here.

No Rich here: colour is plain ANSI, chosen by the caller (the CLI decides when a terminal
wants it). Every renderer takes diagnostics already sorted as the caller wants them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .diagnostics import Diagnostic, Label
from .render_sarif import render_sarif
from .source import Span

__all__ = ["render_github", "render_json", "render_sarif", "render_text", "summary_line"]

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
    """rustc-style text: header, `-->` location, gutter, source lines, carets, labels, help."""
    blocks = [_render_one(d, sources, color) for d in diags]
    if summary and diags:
        blocks.append(_paint(summary_line(diags), "bold", color) + "\n")
    return "\n".join(blocks)


def _render_one(d: Diagnostic, sources: Mapping[str, str], color: bool) -> str:
    level = d.level
    head = _paint(f"{level}[{d.code}]", level, color) + _paint(f": {d.message}", "bold", color)
    out = [head]
    marks: list[_Mark] = []
    if d.span is not None:
        marks.append(_Mark(d.span, d.label, True))
    marks.extend(_Mark(lab.span, lab.message, False) for lab in d.labels)
    lines_by_file: dict[str, list[_Mark]] = {}
    for mark in marks:
        lines_by_file.setdefault(mark.span.file, []).append(mark)
    shown_lines = [m.span.line for m in marks if _source_line(sources, m.span) is not None]
    width = len(str(max(shown_lines))) if shown_lines else 1
    gutter = " " * width
    bar = _paint(gutter + " |", "gutter", color)
    for file_i, (file, file_marks) in enumerate(lines_by_file.items()):
        first = file_marks[0].span
        arrow = "-->" if file_i == 0 else ":::"
        out.append(_paint(f"{gutter}{arrow}", "gutter", color) + f" {file}:{first.line}:{first.column}")
        snippet = _snippet(file_marks, sources, width, level, color)
        if snippet:
            out.append(bar)
            out.extend(snippet)
            out.append(bar)
    if d.help:
        out.append(_paint("help", "bold", color) + f": {d.help}")
    return "\n".join(out) + "\n"


def _source_line(sources: Mapping[str, str], span: Span) -> str | None:
    text = sources.get(span.file)
    if text is None:
        return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


def _snippet(
    marks: list[_Mark], sources: Mapping[str, str], width: int, level: str, color: bool
) -> list[str]:
    by_line: dict[int, list[_Mark]] = {}
    for mark in marks:
        if _source_line(sources, mark.span) is not None:
            by_line.setdefault(mark.span.line, []).append(mark)
    out: list[str] = []
    previous: int | None = None
    for line_no in sorted(by_line):
        if previous is not None and line_no > previous + 1:
            out.append(_paint("...", "gutter", color))
        previous = line_no
        raw = _source_line(sources, by_line[line_no][0].span) or ""
        shown = raw.expandtabs(4)
        out.append(_paint(f"{line_no:>{width}} |", "gutter", color) + (f" {shown}" if shown else ""))
        # Primary first, then by column, one caret row each.
        for mark in sorted(by_line[line_no], key=lambda m: (not m.primary, m.span.column)):
            start = len(raw[: max(mark.span.column - 1, 0)].expandtabs(4))
            if mark.span.end_line == mark.span.line:
                end = len(raw[: max(mark.span.end_column - 1, 0)].expandtabs(4))
            else:
                end = len(shown)
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
    """One JSON array, one object per diagnostic (stable field order)."""
    return json.dumps([diagnostic_dict(d) for d in diags], indent=2, ensure_ascii=False) + "\n"


# ---- GitHub workflow annotations ------------------------------------------------------

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: Sequence[Diagnostic]) -> str:
    """`::error file=..,line=..,col=..,endLine=..,endColumn=..,title=..::message` lines."""
    lines = []
    for d in diags:
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
