"""Inline suppressions: `# mmoc: ignore[MMO401]` (codes or slugs, comma-separated).

A suppression written at the end of a line covers the diagnostics that start on that line; one
on a line of its own covers the next line that is not blank or a comment. When the line covered
is the first line of a step (`step a = llm ... {`, `- name: a`), the whole step is covered.
Only warnings and notes can be suppressed: an error means the module cannot be generated. A
suppression that suppresses nothing is itself reported (MMO014), as ruff reports an unused
`noqa`, so stale ones do not pile up.

Comments are found in the text (both languages write them `# ...`), so this works the same for
`.mmo` and YAML without either front end knowing about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import ir
from .diagnostics.codes import CODES
from .diagnostics.model import Diagnostic
from .source import Span

# `#` at the start of a line or after whitespace (not inside `a#b`), then `mmoc: ignore[...]`.
_SUPPRESSION = re.compile(r"(?:^|(?<=\s))#\s*mmoc:\s*ignore\[(?P<codes>[^\]\n]*)\]")
_BY_SLUG = {code.slug: code.code for code in CODES.values()}
UNUSED_CODE = "MMO014"


def code_named(name: str) -> str | None:
    """The code a name stands for (`MMO401` or its slug `unknown-model`), or None."""
    name = name.strip()
    if name.upper() in CODES:
        return name.upper()
    return _BY_SLUG.get(name.lower())


@dataclass
class _Suppression:
    span: Span  # the comment's `mmoc: ignore[...]`, for reporting it unused
    names: list[str]  # as written
    first_line: int
    last_line: int
    used: set[str] = field(default_factory=set)


def apply_suppressions(
    text: str, display: str, pipeline: ir.Pipeline | None, diags: Sequence[Diagnostic]
) -> list[Diagnostic]:
    """`diags` without those an inline suppression covers, plus MMO014 for each suppression
    (or name in one) that covered nothing."""
    if "mmoc:" not in text:  # the common case costs one scan of the text
        return list(diags)
    lines = text.splitlines()
    suppressions = list(_find(lines, display, _step_extents(pipeline)))
    if not suppressions:
        return list(diags)
    kept = [d for d in diags if not _suppressed(d, display, suppressions)]
    return kept + list(_unused(suppressions))


def _find(
    lines: list[str], display: str, steps: dict[int, int]
) -> Iterable[_Suppression]:
    for number, line in enumerate(lines, start=1):
        if "mmoc:" not in line:
            continue
        match = _SUPPRESSION.search(line)
        if match is None:
            continue
        covered = number
        if not line[: match.start()].strip():  # a comment on its own line: the next line
            covered = _next_code_line(lines, number)
        column = match.start() + 1
        span = Span(file=display, line=number, column=column, end_line=number,
                    end_column=match.end() + 1)
        names = [n.strip() for n in match.group("codes").split(",") if n.strip()]
        yield _Suppression(span, names, covered, steps.get(covered, covered))


def _next_code_line(lines: list[str], number: int) -> int:
    for later in range(number, len(lines)):  # `number` is 1-based: lines[number] is the next
        stripped = lines[later].strip()
        if stripped and not stripped.startswith("#"):
            return later + 1
    return number


def _step_extents(pipeline: ir.Pipeline | None) -> dict[int, int]:
    """First line -> last line of every step (the outermost one when two start together)."""
    extents: dict[int, int] = {}
    if pipeline is None:
        return extents
    for step in pipeline.all_steps():
        if step.span is not None:
            first, last = step.span.line, step.span.end_line
            extents[first] = max(extents.get(first, first), last)
    return extents


def _suppressed(d: Diagnostic, display: str, suppressions: list[_Suppression]) -> bool:
    if d.span is None or d.span.file != display or d.is_error or d.code == UNUSED_CODE:
        return False
    for s in suppressions:
        if s.first_line <= d.span.line <= s.last_line:
            for name in s.names:
                if code_named(name) == d.code:
                    s.used.add(name)
                    return True
    return False


def _unused(suppressions: list[_Suppression]) -> Iterable[Diagnostic]:
    for s in suppressions:
        if not s.names:
            yield Diagnostic(UNUSED_CODE, "suppression names no code", s.span,
                             label="empty", help="write `# mmoc: ignore[MMO401]`")
        for name in s.names:
            if name in s.used:
                continue
            code = code_named(name)
            if code is None:
                why, hint = f"`{name}` is not a diagnostic code", "codes: docs/diagnostics.md"
            elif CODES[code].severity == "error":
                why, hint = f"{code} is an error", "errors cannot be suppressed: fix the problem"
            else:
                why, hint = f"no {code} is reported here", "remove the suppression"
            yield Diagnostic(UNUSED_CODE, f"unused suppression: {why}", s.span,
                             label="suppresses nothing", help=hint)
