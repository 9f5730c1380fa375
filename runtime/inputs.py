"""Run inputs: checked before any step runs, with every problem reported at once.

Declared inputs are checked by their `InputSpec.type` (str, int, float, bool, json). Text given
for an int, float or bool input is converted when it reads as one ("3", "2.5", "true"), since
values from a command line or an environment arrive as text (`convert_text`, the runtime's
one text conversion, also used by generated scripts and `mmoc run -i`). Defaults are applied
for absent optional inputs (a fresh copy of a list or dict default each run). Undeclared extra
inputs are kept: a pipeline that declares no inputs takes whatever it is given.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .spec import PipelineSpec

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def validate_inputs(spec: PipelineSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The run's starting values, or `InputError` naming every missing and mistyped input."""
    values = dict(inputs)
    missing: list[str] = []
    problems: list[str] = []
    for declared in spec.inputs:
        name = declared.name
        if name not in values:
            if declared.required:
                missing.append(name)
            else:
                default = declared.default
                values[name] = copy.deepcopy(default) if isinstance(default, (dict, list)) else default
            continue
        value = values[name]
        if value is None and declared.default is None:
            continue
        ok, converted = _convert(declared.type, value)
        if ok:
            values[name] = converted
        else:
            problems.append(
                f"input {name!r} must be {_describe(declared.type)}, "
                f"got {type(value).__name__} {_short(value)}"
            )
    if missing or problems:
        parts = []
        if missing:
            parts.append("missing required input(s): " + ", ".join(missing))
        parts += problems
        raise InputError(f"pipeline {spec.name!r}: " + "; ".join(parts), missing=tuple(missing))
    return values


def convert_text(kind: str, text: str) -> tuple[bool, Any]:
    """Text from a command line or an environment as a value of input type `kind`.

    The one text conversion of the runtime (the executor, generated scripts and `mmoc run`
    all use it): `(True, value)` when `text` reads as `kind`, else `(False, text)`. int and
    float ignore surrounding spaces; bool takes true/false, yes/no, on/off, 1/0 in any case;
    json parses the text, and a bare word that is not JSON is the string the user did not
    quote. str, and a type this runtime does not know, take the text as it is.
    """
    if kind == "int":
        try:
            return True, int(text.strip())
        except ValueError:
            return False, text
    if kind == "float":
        try:
            return True, float(text.strip())
        except ValueError:
            return False, text
    if kind == "bool":
        word = text.strip().lower()
        if word in _TRUE | _FALSE:
            return True, word in _TRUE
        return False, text
    if kind == "json":
        try:
            return True, json.loads(text)
        except (ValueError, RecursionError):
            return True, text
    return True, text


def _convert(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "str":
        return isinstance(value, str), value
    if kind in ("int", "float", "bool") and isinstance(value, str):
        return convert_text(kind, value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool), value
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "json":
        return _is_json(value), value
    return True, value  # a type this runtime does not know: accept rather than crash


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _describe(kind: str) -> str:
    return {"str": "text (str)", "int": "an integer", "float": "a number", "bool": "true or false",
            "json": "a JSON value"}.get(kind, kind)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
