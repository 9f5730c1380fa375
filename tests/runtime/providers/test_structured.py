"""Structured output: JSON parsing that tolerates fences, and the schema subset's validator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime.errors import LlmError
from mmoc_runtime.structured import (
    is_closed_schema,
    parse_structured,
    schema_is_supported,
    validate,
    wire_schema,
)

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "role": {"enum": ["admin", "user"]},
        "note": {"type": ["string", "null"]},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        'Here you go:\n```json\n{"a": 1}\n```\nAnything else?',
        'Sure! {"a": 1} Hope that helps.',
        '  \n{"a": 1}\n',
    ],
)
def test_reply_forms_parse(text: str) -> None:
    assert parse_structured(text, None) == {"a": 1}


def test_arrays_and_scalars_parse() -> None:
    assert parse_structured("[1, 2]", None) == [1, 2]
    assert parse_structured("42", {"type": "integer"}) == 42
    assert parse_structured('"x"', {"type": "string"}) == "x"


def test_not_json_is_invalid_output() -> None:
    with pytest.raises(LlmError) as caught:
        parse_structured("I cannot answer that.", None)
    assert caught.value.kind == "invalid_output"
    assert "not valid JSON" in str(caught.value)


def test_valid_person_passes() -> None:
    value = {"name": "Ada", "age": 36, "tags": ["x"], "role": "admin", "note": None}
    assert parse_structured(json.dumps(value), PERSON) == value


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"age": 3}, "$: missing required property 'name'"),
        ({"name": "a", "age": "3"}, "$.age: expected integer, got string"),
        ({"name": "a", "age": True}, "$.age: expected integer, got boolean"),
        ({"name": "a", "age": 3, "x": 1}, "$: unexpected property 'x'"),
        ({"name": "a", "age": 3, "tags": ["ok", 2]}, "$.tags[1]: expected string, got integer"),
        ({"name": "a", "age": 3, "role": "root"}, '$.role: "root" is not one of ["admin", "user"]'),
        ({"name": "a", "age": 3, "note": 5}, "$.note: expected string or null, got integer"),
        ([], "$: expected object, got array"),
    ],
)
def test_schema_violations_are_named(value: Any, problem: str) -> None:
    assert problem in validate(value, PERSON)
    with pytest.raises(LlmError) as caught:
        parse_structured(json.dumps(value), PERSON)
    assert caught.value.kind == "invalid_output"
    assert problem in str(caught.value)


def test_number_accepts_ints_and_integer_accepts_whole_floats() -> None:
    assert validate(3, {"type": "number"}) == []
    assert validate(3.0, {"type": "integer"}) == []
    assert validate(3.5, {"type": "integer"}) != []
    assert validate(True, {"enum": [1]}) != []  # JSON: true is not 1


def test_additional_properties_schema_checks_extras() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert validate({"a": 1, "b": 2}, schema) == []
    assert validate({"a": "x"}, schema) == ["$.a: expected integer, got string"]


def test_supported_schema_has_no_problems() -> None:
    assert schema_is_supported(PERSON) == []
    assert schema_is_supported({"type": "object", "title": "T", "description": "d"}) == []


def test_unsupported_schema_problems_are_located() -> None:
    problems = schema_is_supported(
        {
            "type": "object",
            "properties": {"a": {"type": "strin"}, "b": {"pattern": "x+"}},
            "required": ["a", "zz"],
            "items": {"$ref": "#/x"},
            "enum": [],
        }
    )
    assert (
        "$.properties.a.type: unknown type 'strin' (types: array, boolean, integer, null, number, object, string)"
        in problems
    )
    assert any(p.startswith("$.properties.b: unsupported keyword 'pattern'") for p in problems)
    assert "$.required: 'zz' is not among the properties" in problems
    assert any(p.startswith("$.items: unsupported keyword '$ref'") for p in problems)
    assert "$.enum: must be a non-empty list of values" in problems
    assert schema_is_supported([1]) == ["$: a schema must be an object, not array"]


# Backticks excluded: a fence inside a string would end the fence early, which is by design.
_text = st.text(st.characters(blacklist_characters="`"), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


def schema_of(value: Any) -> dict[str, Any]:
    """The tightest schema of the subset that `value` satisfies."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, str):
        return {"type": "string", "enum": [value]}
    if isinstance(value, list):
        return {"type": "array"}
    return {
        "type": "object",
        "properties": {k: schema_of(v) for k, v in value.items()},
        "required": sorted(value),
        "additionalProperties": False,
    }


@settings(max_examples=100, deadline=None)
@given(json_values, st.sampled_from(["{}", "```json\n{}\n```", "Result:\n```\n{}\n```"]))
def test_any_value_round_trips_through_any_wrapping(value: Any, wrapper: str) -> None:
    schema = schema_of(value)
    assert schema_is_supported(schema) == []
    text = wrapper.replace("{}", json.dumps(value, indent=1))
    assert parse_structured(text, schema) == value


def closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required,
            "additionalProperties": False}


@pytest.mark.parametrize(("schema", "closed_ok", "strict_ok"), [
    (closed({"a": {"type": "string"}}), True, True),
    (closed({"a": {"type": "array", "items": closed({"b": {"type": "integer"}})}}), True, True),
    (PERSON, True, False),  # closed, but not every property required
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, False,
     False),  # extra properties allowed
    (closed({"a": {"type": "object", "properties": {}}}), False, False),  # an open inner object
    ({"type": "object"}, False, False),  # no properties listed
    (closed({"a": {"type": "array"}}), True, False),  # strict mode needs the items' schema
    ({"type": "array", "items": {"type": "string"}}, True, True),
    ({"type": "string"}, True, True),
])
def test_closed_schemas_are_told_apart(schema: dict[str, Any], closed_ok: bool,
                                       strict_ok: bool) -> None:
    assert is_closed_schema(schema) is closed_ok
    assert is_closed_schema(schema, all_required=True) is strict_ok


def test_the_wire_schema_leaves_out_annotations_a_provider_does_not_need() -> None:
    schema = {"$schema": "x", "type": "object", "default": {}, "examples": [{}],
              "properties": {"a": {"type": "array", "default": [],
                                   "items": {"type": "string", "examples": ["z"]}}},
              "additionalProperties": {"type": "integer", "default": 0},
              "description": "kept", "title": "kept too"}
    assert wire_schema(schema) == {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": {"type": "integer"},
        "description": "kept", "title": "kept too"}
    assert schema["default"] == {}  # the step's schema itself is left as it was
