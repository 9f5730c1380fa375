"""The diagnostic model: what every front end and check returns instead of raising.

Rendering lives in `render.py`; codes, slugs and explanations live in `codes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .codes import CODES
from .source import Span

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
