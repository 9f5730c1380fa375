"""Run inputs: checked before any step runs, with every problem reported at once.

Declared inputs are checked by their `InputSpec.type` (str, int, float, bool, json). Text given
for an int, float or bool input is converted when it reads as one ("3", "2.5", "true"), since
values from a command line or an environment arrive as text (`convert_text`, the runtime's
one text conversion, also used by generated scripts and `mmoc run -i`). Defaults are applied
for absent optional inputs (a fresh copy of a list or dict default each run). Undeclared extra
inputs are kept: a pipeline that declares no inputs takes whatever it is given.

`inputs_from_command_line` is the one reading of command-line inputs (`-i KEY=VALUE` over an
`--inputs-json` file), shared by the generated scripts (`script.main`) and `mmoc run`: there an
undeclared name is a mistake (a typo, with a did-you-mean), and every problem is named at once.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InputError
from .files import read_regular_file
from .spec import InputSpec, PipelineSpec

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def validate_inputs(spec: PipelineSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The run's starting values, or `InputError` naming every missing and mistyped input."""
    values, missing, problems = _check_values(spec, inputs)
    if missing or problems:
        parts = []
        if missing:
            parts.append("missing required input(s): " + ", ".join(missing))
        parts += problems
        raise InputError(f"pipeline {spec.name!r}: " + "; ".join(parts), missing=tuple(missing))
    return values


def _check_values(
    spec: PipelineSpec, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(values with defaults applied and text converted, missing names, mistyped messages)."""
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
    return values, missing, problems


# ---- the command line -------------------------------------------------------------------

# What each input type is called in the message for `-i` text that does not read as one.
_TYPE_WORDS = {"int": "an int", "float": "a float", "bool": "a bool (true/false)"}


def inputs_from_command_line(
    spec: PipelineSpec, pairs: Iterable[str] = (), json_path: str | None = None
) -> dict[str, Any]:
    """The inputs a command line gives: the `--inputs-json` object at `json_path`, then each
    `-i KEY=VALUE` of `pairs` over it, `-i` text converted to the input's declared type.

    Raises one `InputError` naming every problem (one a line when there are several): a pair
    without `=` or with an empty key, an unreadable or non-object JSON file, an input the
    pipeline does not declare (with the closest declared name), a value not of its input's
    type, a missing required input.
    Defaults are left for the executor to apply, so the result holds only what was given.
    """
    problems: list[str] = []
    given: dict[str, Any] = {}
    if json_path is not None:
        given.update(_read_json_object(json_path, problems))
    texts: dict[str, str] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"bad -i {pair!r}: expected KEY=VALUE, e.g. -i topic=\"solar power\"")
            continue
        texts[key] = text
        given.pop(key, None)  # -i overrides the file
    declared = {item.name: item for item in spec.inputs}
    unknown = [key for key in dict.fromkeys([*given, *texts]) if key not in declared]
    if unknown:
        problems.append(_unknown_message(unknown, list(declared)))
    unreadable: set[str] = set()  # given, but as text that is not of the input's type
    for key, text in texts.items():
        if key not in declared:
            continue
        try:
            given[key] = parse_input_text(declared[key], text)
        except ValueError as exc:
            problems.append(str(exc))
            unreadable.add(key)
    known = {key: value for key, value in given.items() if key in declared}
    checked, missing, mistyped = _check_values(spec, known)
    missing = [name for name in missing if name not in unreadable]
    problems += mistyped
    if missing:
        flags = " ".join(f"-i {name}=..." for name in missing)
        problems.append(f"missing required input(s): {', '.join(missing)} (pass {flags})")
    if len(problems) == 1:
        raise InputError(problems[0], missing=tuple(missing))
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise InputError(f"{len(problems)} problems with the inputs:{listed}",
                         missing=tuple(missing))
    return {key: checked[key] for key in known}


def parse_input_text(spec: InputSpec | None, text: str) -> Any:
    """`text` (a `-i KEY=VALUE` value) as the declared type of input `spec`.

    An undeclared input (`spec` None) keeps the text. Raises `ValueError` naming the input and
    its type when the text does not read as that type, e.g. "input 'count' is an int; got 'x'".
    """
    if spec is None:
        return text
    ok, value = convert_text(spec.type, text)
    if not ok:
        kind = _TYPE_WORDS.get(spec.type, spec.type)
        raise ValueError(f"input {spec.name!r} is {kind}; got {text!r}")
    return value


def _read_json_object(path: str, problems: list[str]) -> dict[str, Any]:
    """The JSON object in the file at `path`; {} after adding what is wrong to `problems`."""
    try:  # a regular file of at most MAX_FILE_BYTES: a FIFO or /dev/zero is refused, unread
        text = read_regular_file(path).decode("utf-8")
    except OSError as exc:
        problems.append(f"cannot read --inputs-json {path}: {exc.strerror or exc}")
        return {}
    except UnicodeDecodeError as exc:
        problems.append(f"--inputs-json {path} is not valid JSON: {exc}")
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        problems.append(f"--inputs-json {path} is not valid JSON: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"--inputs-json {path} must hold a JSON object of input values")
        return {}
    return data


def _unknown_message(unknown: list[str], declared: list[str]) -> str:
    import difflib  # only for a mistake: `import mmoc_runtime` stays lean

    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, declared, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown input(s) {', '.join(hints)}; pipeline inputs: {', '.join(declared) or 'none'}"


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
            number = float(text.strip())
        except ValueError:
            return False, text
        # nan and inf parse as floats but no JSON output or trace can hold them.
        return (True, number) if math.isfinite(number) else (False, text)
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
    if kind in LIST_TYPES:
        try:
            return _convert(kind, json.loads(text))
        except (ValueError, RecursionError):
            return False, text
    return True, text


# The list input types: what their items must be (map steps iterate over them).
LIST_TYPES = {"list[str]": "str", "list[int]": "int", "list[json]": "json"}


def _convert_list(kind: str, value: Any) -> tuple[bool, Any]:
    if not isinstance(value, (list, tuple)):
        return False, value
    item_kind = LIST_TYPES[kind]
    items = []
    for item in value:
        ok, converted = (
            _convert(item_kind, item) if item_kind != "int" or not isinstance(item, str)
            else (False, item))  # an int list takes numbers, not numeric text
        if not ok:
            return False, value
        items.append(converted)
    return True, items


def _convert(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "str":
        return isinstance(value, str), value
    if kind in ("int", "float", "bool") and isinstance(value, str):
        return convert_text(kind, value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool), value
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return math.isfinite(value), float(value)
        return False, value
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "json":
        return _is_json(value), value
    if kind in LIST_TYPES:
        return _convert_list(kind, value)
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
            "json": "a JSON value", "list[str]": "a list of strings",
            "list[int]": "a list of integers", "list[json]": "a list"}.get(kind, kind)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
