"""The diagnostic model: what every front end and check returns instead of raising.

Rendering lives in `render.py`; codes, slugs and explanations live in `codes.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..source import Span
from .codes import CODES

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Label:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: str  # "MMO201"; must be registered in codes.CODES
    message: str
    span: Span | None  # primary span; None only for problems with no place (an unreadable file)
    severity: Severity | None = None  # None: the code's default severity
    label: str | None = None  # text under the primary span's carets
    labels: tuple[Label, ...] = field(default=())  # secondary spans
    help: str | None = None

    @property
    def slug(self) -> str:
        return CODES[self.code].slug

    @property
    def level(self) -> Severity:
        return self.severity or CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.level == "error"


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    s = d.span
    return (s.file if s else "", s.line if s else 0, s.column if s else 0, d.code)


# How many diagnostics of one code on one source line every output format shows; the rest
# are counted in one note. 10,000 unknown placeholders on one line are 10,000 diagnostics, and
# each would print that whole line again.
REPEAT_LIMIT = 20

_PLURAL = {"error": "errors", "warning": "warnings", "info": "notes"}


def cap_repeats(diags: Sequence[Diagnostic], limit: int = REPEAT_LIMIT) -> list[Diagnostic]:
    """`diags` in their order, with at most `limit` of one code and severity on one line.

    Where a group is cut, one note (severity info, same code) takes the place of the first
    diagnostic left out and says how many were left out. Linear, and a no-op on a list it
    already capped (a note's severity puts it in a group of its own).
    """
    totals = Counter(_repeat_key(d) for d in diags)
    if all(n <= limit for n in totals.values()):
        return list(diags)
    seen: Counter[tuple[str, int, str, str]] = Counter()
    out: list[Diagnostic] = []
    for d in diags:
        key = _repeat_key(d)
        seen[key] += 1
        if seen[key] <= limit:
            out.append(d)
        elif seen[key] == limit + 1:
            out.append(_left_out_note(d, totals[key] - limit, limit))
    return out


# Messages, labels and help longer than this keep their start and end in every output
# format: a message can quote a name or a value from the source (up to a MiB long), and a
# help line can list names; thousands of such diagnostics must not print gigabytes.
TEXT_LIMIT = 1000


def clip_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text`, or its start and end around a note of how many characters were left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} ...({len(text) - 2 * keep} characters)... {text[-keep:]}"


def bounded(diags: Sequence[Diagnostic]) -> list[Diagnostic]:
    """What every output format prints: `cap_repeats`, then each text through `clip_text`."""
    return [_clipped(d) for d in cap_repeats(diags)]


def _clipped(d: Diagnostic) -> Diagnostic:
    texts = (d.message, d.label or "", d.help or "", *(lab.message for lab in d.labels))
    if all(len(t) <= TEXT_LIMIT for t in texts):
        return d
    return replace(
        d,
        message=clip_text(d.message),
        label=clip_text(d.label) if d.label is not None else None,
        help=clip_text(d.help) if d.help is not None else None,
        labels=tuple(Label(lab.span, clip_text(lab.message)) for lab in d.labels),
    )


def _repeat_key(d: Diagnostic) -> tuple[str, int, str, str]:
    s = d.span
    return (s.file if s else "", s.line if s else 0, d.code, d.level)


def _left_out_note(first: Diagnostic, count: int, limit: int) -> Diagnostic:
    where = f"on line {first.span.line}" if first.span is not None else "without a place"
    return Diagnostic(
        first.code,
        f"{count} more {first.code} {_PLURAL[first.level]} {where} are not shown "
        f"(only the first {limit} are)",
        first.span,
        severity="info",
        help="fix the ones shown and check again",
    )


INTERNAL_ERROR_HELP = "this is a bug in mmoc; please report it with the source that caused it"


def internal_error(
    problem: BaseException | str,
    span: Span | None = None,
    *,
    doing: str = "running",
    help: str = INTERNAL_ERROR_HELP,
) -> Diagnostic:
    """MMO702: mmoc itself failed while `doing` something — a bug of ours, not the user's.

    The one place this diagnostic is made, so every internal error reads the same:
    `internal error while <doing>: <ExceptionType>: <message>` (or the given message).
    """
    what = f"{type(problem).__name__}: {problem}" if isinstance(problem, BaseException) else problem
    return Diagnostic("MMO702", f"internal error while {doing}: {what}", span, help=help)
