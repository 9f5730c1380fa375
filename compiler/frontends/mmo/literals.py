"""Literal values of the .mmo language: strings (with positions), durations and numbers.

Kept apart from the tree transformer because each job here is a small pure function that
the printer's round trip depends on: what `print_mmo` writes, these read back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...limits import MAX_NUMBER_TEXT, number_too_large, too_large_reason

# Escapes a string may hold. `{{` and `}}` are not escapes: they stay as written and the
# template layer reads them as literal braces.
SIMPLE_ESCAPES: dict[str, str] = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}

DURATION_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class StringProblem:
    """A bad escape: where it starts (line, column) and what to say about it."""

    line: int
    column: int
    length: int
    message: str


Positioned = list[tuple[str, int, int]]  # (character, line, column) of raw source text


def _positioned(raw: str, line: int, column: int) -> Positioned:
    out: Positioned = []
    for ch in raw:
        out.append((ch, line, column))
        if ch == "\n":
            line, column = line + 1, 1
        else:
            column += 1
    return out


def _unescape(chars: Positioned) -> tuple[str, list[tuple[int, int]], list[StringProblem]]:
    """Resolve escapes; every output character keeps the position of its first source char."""
    value: list[str] = []
    positions: list[tuple[int, int]] = []
    problems: list[StringProblem] = []
    i = 0
    while i < len(chars):
        ch, line, col = chars[i]
        if ch != "\\":
            value.append(ch)
            positions.append((line, col))
            i += 1
            continue
        nxt = chars[i + 1][0] if i + 1 < len(chars) else ""
        if nxt in SIMPLE_ESCAPES and nxt:
            value.append(SIMPLE_ESCAPES[nxt])
            positions.append((line, col))
            i += 2
            continue
        if nxt == "u":
            digits = "".join(c for c, _, _ in chars[i + 2 : i + 6])
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                value.append(chr(int(digits, 16)))
                positions.append((line, col))
                i += 6
                continue
            problems.append(
                StringProblem(line, col, 2, "`\\u` must be followed by four hex digits")
            )
            i += 2
            continue
        shown = repr(nxt)[1:-1] if nxt else "end of string"
        problems.append(
            StringProblem(
                line,
                col,
                2 if nxt else 1,
                f'unknown escape `\\{shown}`; use \\n, \\t, \\r, \\\\, \\" or \\uXXXX',
            )
        )
        i += 2
    return "".join(value), positions, problems


def decode_string(
    token: str, line: int, column: int
) -> tuple[str, tuple[tuple[int, int], ...], list[StringProblem]]:
    """A `"..."` token (quotes included) to its value and per-character positions."""
    chars = _positioned(token[1:-1], line, column + 1)
    value, positions, problems = _unescape(chars)
    return value, tuple(positions), problems


def _split_lines(chars: Positioned) -> tuple[list[Positioned], list[tuple[str, int, int]]]:
    """Raw lines without their newlines, and each newline (with its position) after them."""
    lines: list[Positioned] = [[]]
    breaks: list[tuple[str, int, int]] = []
    for item in chars:
        if item[0] == "\n":
            breaks.append(item)
            lines.append([])
        else:
            lines[-1].append(item)
    return lines, breaks


def _is_blank(line: Positioned) -> bool:
    return all(c in " \t" for c, _, _ in line)


def common_indent(lines: list[str]) -> str:
    """The whitespace prefix shared by every line that is not blank."""
    prefix: str | None = None
    for text in lines:
        if text.strip(" \t") == "":
            continue
        lead = text[: len(text) - len(text.lstrip(" \t"))]
        if prefix is None:
            prefix = lead
        else:
            n = 0
            while n < min(len(prefix), len(lead)) and prefix[n] == lead[n]:
                n += 1
            prefix = prefix[:n]
    return prefix or ""


def decode_triple(
    token: str, line: int, column: int
) -> tuple[str, tuple[tuple[int, int], ...], list[StringProblem]]:
    """A `\"\"\"...\"\"\"` token to its value.

    The first line is dropped when blank (text starts on the line after the quotes), so is
    the last (the closing quotes sit on their own line); then the common indentation of the
    remaining non-blank lines is removed, and escapes are resolved last, so `\\n` in the text
    never counts as a line break.
    """
    lines, breaks = _split_lines(_positioned(token[3:-3], line, column + 3))
    first = 0
    last = len(lines)
    if last - first > 1 and _is_blank(lines[first]):
        first += 1
    if last - first > 1 and _is_blank(lines[last - 1]):
        last -= 1
    texts = ["".join(c for c, _, _ in ln) for ln in lines[first:last]]
    prefix = common_indent(texts)
    kept: Positioned = []
    for index in range(first, last):
        ln, text = lines[index], texts[index - first]
        if index > first:
            kept.append(breaks[index - 1])  # the newline that ended the previous line
        if text.startswith(prefix):
            kept.extend(ln[len(prefix) :])
        elif not _is_blank(ln):
            kept.extend(ln)
    value, positions, problems = _unescape(kept)
    return value, tuple(positions), problems


def parse_duration(token: str) -> tuple[float | None, tuple[str, str] | None]:
    """`500ms`, `2s`, `1.5m`, `1h` to seconds; (None, (code, message)) when the unit is unknown
    (MMO008) or the duration is too large (MMO010)."""
    i = 0
    while i < len(token) and (token[i].isdigit() or token[i] in "-."):
        i += 1
    number, unit = token[:i], token[i:]
    if unit not in DURATION_UNITS:
        return None, ("MMO008", f"unknown duration unit `{unit}` in `{token}`; use ms, s, m or h")
    value = parse_number(number)
    if value is None or number_too_large(value * DURATION_UNITS[unit]):
        return None, ("MMO010", f"the duration {too_large_reason(token)}")
    if isinstance(value, float):
        return (value if unit == "s" else value * DURATION_UNITS[unit]), None
    if unit == "ms":
        return value / 1000, None
    return float(value * int(DURATION_UNITS[unit])), None


def parse_number(token: str) -> int | float | None:
    """A NUMBER token's value; None when it is beyond MAX_NUMBER. A long whole number is
    refused before Python converts it: int() refuses more than 4,300 digits."""
    if "." in token:
        value: int | float = float(token)  # a long one is infinity, not an error
    elif len(token) > MAX_NUMBER_TEXT:
        return None
    else:
        value = int(token)
    return None if number_too_large(value) else value
