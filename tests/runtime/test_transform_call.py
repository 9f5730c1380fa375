"""Transforms take the keys they read by name when their parameters say so, else by position."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mmoc_runtime import InputSpec, PipelineSpec, TransformStep, execute_sync


def run(function: Any, reads: tuple[str, ...], inputs: dict[str, Any]) -> Any:
    spec = PipelineSpec(
        name="t",
        inputs=tuple(InputSpec(k, type="json") for k in inputs),
        steps=(TransformStep("t", function, "out", reads=reads),),
    )
    result = execute_sync(spec, inputs)
    assert result.success, result.error
    return result.values["out"]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (lambda s: s.upper(), "HI"),  # a lambda whose parameter is not the key's name
        (str.upper, "HI"),  # a method descriptor
        (json.dumps, '"hi"'),  # a library function with other parameter names
        (len, 2),  # a builtin taking its argument by position only
    ],
)
def test_any_one_argument_callable_gets_the_value(function: Any, expected: Any) -> None:
    assert run(function, ("draft",), {"draft": "hi"}) == expected


def test_several_values_go_in_the_declared_order() -> None:
    assert run(lambda a, b: f"{a}-{b}", ("second", "first"), {"first": 1, "second": 2}) == "2-1"


def test_parameters_named_after_the_keys_bind_by_name_whatever_the_order() -> None:
    def combine(first: int, second: int) -> str:
        return f"{first}-{second}"

    assert run(combine, ("second", "first"), {"first": 1, "second": 2}) == "1-2"


def test_a_function_taking_keywords_gets_every_key_by_name() -> None:
    assert run(lambda **values: sorted(values), ("b", "a"), {"a": 1, "b": 2}) == ["a", "b"]
