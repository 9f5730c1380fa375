"""The view model the code templates print: plain frozen data, every name and value precomputed.

A template never decides anything: it prints `Call`s (a constructor and its keyword
arguments), constants, and small functions whose bodies are one expression prepared by
lowering. The safe-text helpers here are the only places user text can reach the output
other than `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
    header_source: str  # the source path, safe inside a comment
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


def docstring_literal(text: str) -> str:
    """A string literal for a docstring: triple-quoted when that is exactly `text`, else repr.

    Triple quotes are used only for text with no backslash, no quote character, no
    carriage return and nothing non-printable besides newlines, where the literal's value
    is the text itself. Anything else goes through `repr`.
    """
    plain = all(ch == "\n" or ch.isprintable() for ch in text)
    if plain and '"' not in text and "\\" not in text and text.strip() == text:
        return '"""' + text + '"""'
    return repr(text)


def safe_comment_text(text: str) -> str:
    """`text` if it can sit on one comment line as is, else its repr (no line break escapes)."""
    if text.isprintable():
        return text
    return repr(text)
