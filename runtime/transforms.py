"""Built-in transforms: small one-value functions a pipeline names instead of an import path.

`transform t = upper(summary) -> shout` calls `BUILTINS["upper"](value_of_summary)`. Each takes
exactly one value and returns one. Text functions accept any value: None reads as "", other
non-text values as their JSON text, so a transform after a JSON step does not crash.

`json` is the one that can fail on data: text that holds no JSON raises `ValueError` saying
where parsing stopped and how the text began. It forgives the usual wrapping of model replies:
```json fences, and prose around a single JSON object or array.
"""

from __future__ import annotations

import json as _json
import re
from collections.abc import Callable
from typing import Any

from .conditions import length as _length
from .structured import first_embedded_json

# A fenced block: ```lang\n ... \n```  (the language tag is optional).
_FENCE = re.compile(r"```[ \t]*[\w+.-]*[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    try:
        return _json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(v)


def upper(v: Any) -> str:
    return _text(v).upper()


def lower(v: Any) -> str:
    return _text(v).lower()


def strip(v: Any) -> str:
    return _text(v).strip()


def title(v: Any) -> str:
    return _text(v).title()


def identity(v: Any) -> Any:
    """The value unchanged (a named no-op, useful to copy a key under another name)."""
    return v


def join(v: Any) -> str:
    """A list as text, one item per line (the inverse of `lines`); text stays as it is."""
    if isinstance(v, (list, tuple)):
        return "\n".join(_text(item) for item in v)
    return _text(v)


def lines(v: Any) -> list[str]:
    """The text's lines, without line endings."""
    return _text(v).splitlines()


def nonempty_lines(v: Any) -> list[str]:
    """The text's lines, stripped, blank ones dropped (handy for lists the model wrote)."""
    return [line.strip() for line in _text(v).splitlines() if line.strip()]


def first_line(v: Any) -> str:
    """The first non-blank line, stripped ("" for blank text)."""
    for line in _text(v).splitlines():
        if line.strip():
            return line.strip()
    return ""


def trim_fences(v: Any) -> str:
    """Remove a ``` fence (with optional language tag) wrapping the whole text."""
    text = _text(v)
    stripped = text.strip()
    match = _FENCE.fullmatch(stripped)
    return match.group(1) if match else text


def to_json(v: Any) -> str:
    """The value as JSON text (indented, keys in their order; non-JSON values via str)."""
    return _json.dumps(v, ensure_ascii=False, indent=2, default=str)


def parse_json(v: Any) -> Any:
    """Parse JSON text, tolerant of ```json fences and prose around one object or array."""
    if not isinstance(v, (str, bytes)):
        return v  # already structured (a JSON output step, or a dict from a transform)
    text = _text(v).strip()
    try:
        return _json.loads(text)
    except ValueError as first_error:
        for candidate in _candidates(text):
            try:
                return _json.loads(candidate)
            except ValueError:
                continue
        embedded = first_embedded_json(text)
        if embedded is not None:
            return embedded
        preview = text[:80] + ("..." if len(text) > 80 else "")
        raise ValueError(
            f"json: the text holds no valid JSON ({first_error}): {preview!r}"
        ) from None


def _candidates(text: str) -> list[str]:
    """Fenced blocks, whole-text fence first, then any fenced block in the text."""
    found = []
    whole = _FENCE.fullmatch(text)
    if whole:
        found.append(whole.group(1))
    found.extend(m.group(1) for m in _FENCE.finditer(text))
    return found


BUILTINS: dict[str, Callable[[Any], Any]] = {
    "upper": upper,
    "lower": lower,
    "strip": strip,
    "title": title,
    "identity": identity,
    "json": parse_json,
    "to_json": to_json,
    "length": _length,
    "lines": lines,
    "join": join,
    "nonempty_lines": nonempty_lines,
    "first_line": first_line,
    "trim_fences": trim_fences,
}
