"""Structured output: parse an llm step's reply as JSON and check it against a small schema.

The schema language is a subset of JSON Schema, small enough to check by hand and to
translate for every provider: `type` (string, number, integer, boolean, array, object, null,
or a list of them), `properties`, `required`, `items`, `enum`, `additionalProperties`
(true, false, or a schema) and the annotations `title`, `description`, `default`, `$schema`.
`schema_is_supported` lists what falls outside it, for the compiler's check; `parse_structured`
raises `LlmError(kind="invalid_output")` for a reply that is not JSON or does not match, which a
step's retry policy can retry (`retry_on: invalid_output`) and which triggers fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import LlmError

TYPES: frozenset[str] = frozenset(
    {"string", "number", "integer", "boolean", "array", "object", "null"}
)
_VALIDATED = frozenset({"type", "properties", "required", "items", "enum", "additionalProperties"})
_ANNOTATIONS = frozenset({"title", "description", "default", "$schema", "examples"})
KEYWORDS: frozenset[str] = _VALIDATED | _ANNOTATIONS

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)
_MAX_SHOWN = 200


def schema_is_supported(schema: Any, path: str = "$") -> list[str]:
    """Problems that put `schema` outside the subset, each prefixed by where it is."""
    if not isinstance(schema, Mapping):
        return [f"{path}: a schema must be an object, not {_type_name(schema)}"]
    problems: list[str] = []
    for key in schema:
        if key not in KEYWORDS:
            problems.append(
                f"{path}: unsupported keyword {key!r} (supported: {', '.join(sorted(_VALIDATED))})"
            )
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        for k in kinds:
            if not isinstance(k, str) or k not in TYPES:
                problems.append(
                    f"{path}.type: unknown type {k!r} (types: {', '.join(sorted(TYPES))})"
                )
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, Mapping):
            problems.append(f"{path}.properties: must be an object of schemas")
        else:
            for name, sub in props.items():
                problems += schema_is_supported(sub, f"{path}.properties.{name}")
    required = schema.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            problems.append(f"{path}.required: must be a list of property names")
        elif isinstance(props, Mapping):
            for name in required:
                if name not in props:
                    problems.append(f"{path}.required: {name!r} is not among the properties")
    items = schema.get("items")
    if items is not None:
        problems += schema_is_supported(items, f"{path}.items")
    enum = schema.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        problems.append(f"{path}.enum: must be a non-empty list of values")
    extra = schema.get("additionalProperties")
    if extra is not None and not isinstance(extra, bool):
        problems += schema_is_supported(extra, f"{path}.additionalProperties")
    return problems


# Annotations a provider's native structured output does not need (the runtime still checks
# the reply against the full schema): left out of the schema a request carries.
_NOT_SENT = frozenset({"$schema", "default", "examples"})


def wire_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` as a request carries it: the same schema without `_NOT_SENT` annotations."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _NOT_SENT:
            continue
        if key == "properties" and isinstance(value, Mapping):
            value = {
                name: wire_schema(sub) if isinstance(sub, Mapping) else sub
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            value = wire_schema(value)
        out[key] = value
    return out


def is_closed_schema(schema: Mapping[str, Any], *, all_required: bool = False) -> bool:
    """Whether constrained decoding can take `schema` as is: every object in it lists its
    `properties` and forbids others (`additionalProperties: false`), and with `all_required`
    (OpenAI's strict mode) also requires every property. Anthropic's structured outputs need
    the first, OpenAI's `strict: true` both; a schema that is not closed is sent another way
    (non-strict, or by instruction), never silently changed."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        props = schema.get("properties")
        if not isinstance(props, Mapping) or schema.get("additionalProperties") is not False:
            return False
        if all_required and set(schema.get("required") or ()) != set(props):
            return False
        if not all(
            isinstance(sub, Mapping) and is_closed_schema(sub, all_required=all_required)
            for sub in props.values()
        ):
            return False
    items = schema.get("items")
    if not isinstance(items, Mapping):
        return not (all_required and "array" in kinds)  # strict mode needs the items' schema
    return is_closed_schema(items, all_required=all_required)


def extract_json_text(text: str) -> str:
    """The JSON part of a reply: the body of a ```json fence if there is one, else the text."""
    match = _FENCE.search(text)
    return match.group(1).strip() if match else text.strip()


def parse_json_reply(text: str) -> Any:
    """Decode a reply, tolerating code fences and prose around one JSON object or array."""
    body = extract_json_text(text)
    try:
        return json.loads(body)
    except ValueError as first_error:
        # Models sometimes wrap the value in a sentence: take the first object or array.
        embedded = first_embedded_json(body)
        if embedded is not None:
            return embedded
        shown = body if len(body) <= _MAX_SHOWN else body[:_MAX_SHOWN] + "..."
        raise LlmError(
            "invalid_output", f"the reply is not valid JSON ({first_error}): {shown!r}"
        ) from None


def first_embedded_json(text: str) -> dict[str, Any] | list[Any] | None:
    """The first JSON object or array in `text` that parses (None: there is none).

    For replies that wrap the value in prose: each `{` or `[` is tried as a start until one
    decodes. The value is always a dict or a list, so None cannot be mistaken for a find.
    """
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _end = decoder.raw_decode(text, index)
            except ValueError:
                continue
            return value  # type: ignore[no-any-return]
    return None


def parse_structured(text: str, schema: Mapping[str, Any] | None) -> Any:
    """The reply decoded as JSON and, when `schema` is given, checked against it."""
    value = parse_json_reply(text)
    if schema is not None:
        errors = validate(value, schema)
        if errors:
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise LlmError(
                "invalid_output",
                "the reply does not match the schema: " + "; ".join(errors[:3]) + more,
            )
    return value


def validate(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, each as `path: problem`."""
    errors: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            expected = " or ".join(str(k) for k in kinds)
            return [f"{path}: expected {expected}, got {_type_name(value)}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(_json_equal(value, option) for option in enum):
        errors.append(f"{path}: {_short(value)} is not one of {_short(enum)}")
    if isinstance(value, dict):
        errors += _validate_object(value, schema, path)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                errors += validate(item, items, f"{path}[{index}]")
    return errors


def _validate_object(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        sub = props.get(name)
        if isinstance(sub, Mapping):
            errors += validate(item, sub, f"{path}.{name}")
        elif extra is False:
            errors.append(f"{path}: unexpected property {name!r}")
        elif isinstance(extra, Mapping):
            errors += validate(item, extra, f"{path}.{name}")
    return errors


def _is_type(value: Any, kind: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        # JSON has one number type: 3.0 is an integer, True is not.
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "null":
        return value is None
    return False


def _json_equal(a: Any, b: Any) -> bool:
    # `1 == True` in Python but not in JSON.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


# The JSON name of each Python type a decoded value can have; bool before int, since a bool
# is an int to isinstance.
_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _type_name(value: Any) -> str:
    for python_type, name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
