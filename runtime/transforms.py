"""Built-in transforms: small one-value functions a pipeline names instead of an import path.

`transform t = upper(summary) -> shout` calls `BUILTINS["upper"](value_of_summary)`. Each takes
one value and returns one; `join` and `split_chunks` take optional parameters from further
keys (`BUILTIN_ARITY`): `split_chunks(document, size, overlap)`. Text functions accept any
value: None reads as "", other non-text values as their JSON text, so a transform after a
JSON step does not crash.

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


def join(v: Any, sep: Any = "\n") -> str:
    """A list as text, items separated by `sep` (a key's value; one per line by default,
    the inverse of `lines`); text stays as it is."""
    if isinstance(v, (list, tuple)):
        return _text(sep).join(_text(item) for item in v)
    return _text(v)


def split_chunks(v: Any, size: Any = 2000, overlap: Any = 0) -> list[str]:
    """The text in chunks of `size` characters, each starting `overlap` characters before
    the previous one ended (what a map step summarizes chunk by chunk); [] for blank text."""
    text = _text(v)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"split_chunks: size must be a whole number >= 1, got {size!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size:
        raise ValueError(
            f"split_chunks: overlap must be a whole number from 0 to size - 1, got {overlap!r}")
    if not text.strip():
        return []
    step = size - overlap
    return [text[start:start + size] for start in range(0, max(len(text) - overlap, 1), step)]


def flatten(v: Any) -> list[Any]:
    """A list of lists as one list (one level); items that are not lists are kept."""
    if not isinstance(v, (list, tuple)):
        return [v]
    out: list[Any] = []
    for item in v:
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    return out


def json_list(v: Any) -> list[Any]:
    """JSON text (or a value) as a list: `json`, then a list stays, an object holding one
    list gives that list (`{"items": [...]}`), and anything else is an error."""
    value = parse_json(v)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        lists = [item for item in value.values() if isinstance(item, list)]
        if len(lists) == 1:
            return lists[0]
    raise ValueError(f"json_list: expected a JSON list, got {type(value).__name__}")


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


BUILTINS: dict[str, Callable[..., Any]] = {
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
    "split_chunks": split_chunks,
    "flatten": flatten,
    "json_list": json_list,
}

# How many keys a built-in reads, at least and at most (one, when not listed here): the
# extra keys are the optional parameters, typically inputs with defaults.
BUILTIN_ARITY: dict[str, tuple[int, int]] = {"join": (1, 2), "split_chunks": (1, 3)}

# What a built-in returns, where a check can know it: "list" (a map step can iterate over
# it) or "text"; the others (`json`, `identity`, `length`) depend on the data.
BUILTIN_RESULTS: dict[str, str] = {
    **dict.fromkeys(("lines", "nonempty_lines", "split_chunks", "flatten", "json_list"), "list"),
    **dict.fromkeys(("upper", "lower", "strip", "title", "join", "to_json", "first_line",
                     "trim_fences"), "text"),
}
