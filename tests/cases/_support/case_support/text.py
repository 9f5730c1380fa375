"""Small typed transforms for the golden cases.

The runtime calls a transform with the keys it reads as keyword arguments, so each
parameter is named after the key the case's pipeline passes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def word_count(tidy_draft: str) -> int:
    return len(tidy_draft.split())


def headline(draft: str, words: int) -> str:
    first = draft.strip().splitlines()[0] if draft.strip() else ""
    return f"{first[:60]} ({words} words)"


def context_keys(ctx: Mapping[str, Any]) -> list[str]:
    """A seed-style transform: it receives every input and output so far, read-only."""
    return sorted(ctx)
