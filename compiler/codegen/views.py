"""The view model the code templates print: plain frozen data, every name and value precomputed.

A template never decides anything: it prints `Call`s (a constructor and its keyword
arguments), constants, and small functions whose bodies are one expression prepared by
lowering. `docstring_literal` is the only place user text can reach the output other than
`lower_expr.literal` (`repr`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .expressions import literal


@dataclass(frozen=True)
class Call:
    """`func(name=value, ...)`: a runtime spec constructor with its keyword arguments."""

    func: str
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Arg:
    """One keyword argument: Python source (`code`), a nested call, or a tuple of calls."""

    name: str
    kind: Literal["code", "call", "calls"] = "code"
    code: str = ""
    call: Call | None = None
    calls: tuple[Call, ...] = ()

    @classmethod
    def of(cls, name: str, code: str) -> Arg:
        return cls(name, "code", code=code)

    @classmethod
    def nested(cls, name: str, call: Call) -> Arg:
        return cls(name, "call", call=call)

    @classmethod
    def many(cls, name: str, calls: tuple[Call, ...]) -> Arg:
        return cls(name, "calls", calls=calls)


@dataclass(frozen=True)
class Constant:
    name: str
    code: str


@dataclass(frozen=True)
class StepConstant:
    """`NAME = <call>`: one step of the spec, bound to a module constant."""

    name: str
    call: Call


@dataclass(frozen=True)
class ConditionFunction:
    """`def name(values: Mapping[str, Any]) -> bool: return expr`."""

    name: str
    doc: str  # a string literal
    expr: str


@dataclass(frozen=True)
class TransformFunction:
    """`def name(param: Any) -> Any: return body`: the wrapper of a built-in transform."""

    name: str
    param: str
    doc: str
    body: str
    extra_params: tuple[str, ...] = ()  # a built-in's optional parameters (`split_chunks`)


@dataclass(frozen=True)
class TypedDictField:
    name: str  # an identifier (class syntax)
    key: str  # the same name as a string literal (functional syntax)
    annotation: str


@dataclass(frozen=True)
class TypedDictView:
    name: str
    fields: tuple[TypedDictField, ...]
    # Functional syntax when a field's name would shadow a type the annotations use.
    functional: bool


@dataclass(frozen=True)
class ImportView:
    module: str
    names: tuple[tuple[str, str], ...]  # (name in the module, name bound here)


@dataclass(frozen=True)
class ModuleView:
    header_source: str  # the source path as an ASCII string literal (one comment line)
    source_literal: str
    source_sha256: str
    compiler_version: str
    docstring: str
    abi: int
    n: dict[str, str]  # helper -> the module-level name it is bound to
    api: dict[str, str]
    stdlib_modules: tuple[tuple[str, str], ...]  # `import name as alias`
    stdlib_imports: tuple[ImportView, ...]  # `from` imports of the standard library
    third_party_imports: tuple[ImportView, ...]  # mmoc_runtime and transform modules
    uses_inline: bool
    inputs_td: TypedDictView
    outputs_td: TypedDictView
    policies: tuple[Constant, ...]  # shared retry and breaker policies
    prompts: tuple[Constant, ...]
    conditions: tuple[ConditionFunction, ...]
    wrappers: tuple[TransformFunction, ...]
    steps: tuple[StepConstant, ...]
    pipeline: Call
    all_names: str


def docstring_literal(text: str, *, indented: bool = False) -> str:
    """A string literal for a docstring whose value, after black, is exactly `text`.

    Triple quotes are used only for text with no backslash, no quote character, no
    carriage return and nothing non-printable besides newlines, where the literal's value
    is the text itself, and only where black keeps it so (black strips each docstring line,
    and re-indents the lines after the first of an `indented` one). Anything else is a
    one-line `repr`, its two end characters hex-escaped where black would strip or pad them.
    """
    lines = text.split("\n")
    plain = text.strip() == text and all(
        line.isprintable() and line.strip() == line for line in lines
    )
    if plain and '"' not in text and "\\" not in text and not (indented and len(lines) > 1):
        return '"""' + text + '"""'
    if len(text) < 2:
        return '"' + _docstring_end(text, '"', "") + '"'
    middle = literal(text[1:-1])
    quote, body = middle[0], middle[1:-1]
    first, last = _docstring_end(text[0], quote, body), _docstring_end(text[-1], quote, body)
    return quote + first + body + last + quote


def _docstring_end(char: str, quote: str, body: str) -> str:
    """An end character of a `repr` docstring, written so black leaves the value alone.

    black strips a docstring's outer spaces, pads an end quote or a final backslash with a
    space, and turns a '-quoted string into a "-quoted one when that adds no escapes (after
    which an end `"` would be an end quote)."""
    may_become_quote = char == '"' and quote == "'" and "\\'" in body
    if char in (" ", "\\", quote) or may_become_quote:
        return f"\\x{ord(char):02x}"
    return literal(char)[1:-1]  # not this literal's quote: safe as written
