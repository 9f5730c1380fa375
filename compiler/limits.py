"""The limits on what a pipeline source may ask for.

Any input, however it is written, is read in bounded time and memory and ends in a
diagnostic at the place it passes a limit: never in one of Python's own limits (the
recursion depth, the 4,300-digit limit on int conversion, float overflow) reported as an
internal error. Both front ends enforce these (MMO010 to MMO013); the checks apply the same
numbers to what the Python builder API hands them. docs/language.md and docs/yaml.md list
them for users.
"""

from __future__ import annotations

import math

from mmoc_runtime.files import MAX_FILE_BYTES

from .diagnostics.model import Diagnostic
from .source import Span

# A pipeline source, in bytes of UTF-8. Real pipelines are a few kilobytes. The one limit on
# any file mmoc reads (an --inputs-json too), so the runtime's, which cannot import this.
MAX_SOURCE_BYTES = MAX_FILE_BYTES
# Lists and objects inside one another in a value (a JSON schema, an input default), and
# operators inside one another in a condition. A generated module must hold every value
# as a Python literal, and Python's parser takes at most 200 nested brackets.
MAX_NESTING = 32
# Nesting of a whole YAML document from its root: the pipeline, a group, a step, then a value.
MAX_YAML_NESTING = 2 * MAX_NESTING
# Nodes that YAML aliases may repeat in one document, each use of an alias counting as a
# copy of all it names: what keeps a "billion laughs" of a few hundred bytes small.
MAX_ALIAS_EXPANSION = 10_000
# The largest magnitude of any number: the range JSON keeps exact in every language.
MAX_NUMBER = 2**53 - 1
# A number written with more characters than this is beyond MAX_NUMBER whatever its digits
# are (leading zeros aside); it is refused before Python converts it.
MAX_NUMBER_TEXT = 64

_SHOWN_DIGITS = 24


def source_too_large(text: str, file: str) -> Diagnostic | None:
    """MMO012 when `text` takes more than MAX_SOURCE_BYTES as UTF-8; None when it fits."""
    if len(text) * 4 <= MAX_SOURCE_BYTES:  # UTF-8 takes at most four bytes a character
        return None
    if (
        len(text) <= MAX_SOURCE_BYTES
        and len(text.encode("utf-8", "surrogatepass")) <= MAX_SOURCE_BYTES
    ):
        return None
    return oversized_source(file)


def oversized_source(file: str) -> Diagnostic:
    """MMO012 for the source `file`, larger than MAX_SOURCE_BYTES (the loader stops reading
    there; the front ends check the text they are given)."""
    return Diagnostic(
        "MMO012",
        f"the source is larger than {MAX_SOURCE_BYTES:,} bytes (1 MiB), the most a pipeline "
        "source may be",
        Span.point(file, 1, 1),
        help="split it into several pipelines",
    )


def number_too_large(value: float) -> bool:
    """Beyond MAX_NUMBER in magnitude (infinity is; NaN is not: the range checks name it)."""
    return abs(value) > MAX_NUMBER


def too_large_reason(written: str) -> str:
    """Why the number `written` (as in the source) is refused (MMO010)."""
    return f"{shown_number(written)} is too large: numbers are at most {MAX_NUMBER:,} in magnitude"


def shown_number(written: str) -> str:
    """A number as a message quotes it: long ones cut, with their length."""
    if len(written) <= _SHOWN_DIGITS:
        return f"`{written}`"
    return f"`{written[:12]}...{written[-4:]}` ({len(written):,} characters)"


def shown_value(value: object) -> str:
    """A number the checks were given, as a message shows it, however large it is (`str`
    of an int of more than 4,300 digits raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"a number of about {digits:,} digits"
    return str(value)


def json_nesting_problem(value: object) -> str | None:
    """Why `value` (plain JSON-like data from the builder API or a front end) cannot be
    carried into a generated module, or None: nested more than MAX_NESTING levels, or a
    number that is not finite or is beyond MAX_NUMBER. Iterative: any depth is safe."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_NESTING:
                return f"it nests lists and objects more than {MAX_NESTING} levels deep"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            continue
        problem = _number_problem(item)
        if problem is not None:
            return problem
    return None


def _number_problem(item: object) -> str | None:
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return None
    if isinstance(item, float) and not math.isfinite(item):
        return f"it holds {item}, which neither JSON nor Python source can write"
    if number_too_large(item):
        return f"it holds {shown_value(item)}, beyond {MAX_NUMBER:,} in magnitude"
    return None
