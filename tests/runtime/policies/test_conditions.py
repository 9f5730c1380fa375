"""Condition helpers: safe on None, odd types and numeric text; never raise on data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime.conditions import (
    OPERATORS,
    compare,
    contains,
    exists,
    length,
    truthy,
    value,
)


def test_value_and_exists() -> None:
    ctx = {"topic": "bees", "empty": "", "nothing": None}
    assert value(ctx, "topic") == "bees"
    assert value(ctx, "missing") is None
    assert exists(ctx, "empty") is True
    assert exists(ctx, "nothing") is False
    assert exists(ctx, "missing") is False


def test_length() -> None:
    assert length(None) == 0
    assert length("abc") == 3
    assert length([1, 2]) == 2
    assert length({"a": 1}) == 1
    assert length(12345) == 5  # the length of its text


def test_contains() -> None:
    assert contains("a PASS verdict", "PASS")
    assert not contains("a pass verdict", "PASS")
    assert contains(["x", "y"], "y")
    assert contains({"k": 1}, "k")
    assert not contains(None, "x")
    assert not contains("text", None)
    assert not contains({"k": 1}, ["unhashable"])
    assert contains("score: 7", 7)  # non-text items are looked for as text
    assert not contains(42, 4)


def test_truthy() -> None:
    assert not truthy(None)
    assert not truthy("   \n")
    assert truthy("no")
    assert not truthy(0)
    assert truthy([0])
    assert not truthy([])
    assert not truthy(" ")


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("==", "ok", "ok", True),
        ("!=", "ok", "no", True),
        ("<", 1, 2, True),
        (">=", 2, 2, True),
        (">", "8", 7, True),  # numeric text against a number compares as numbers
        ("==", 5, "5.0", True),
        ("<", None, 3, False),
        (">", 3, None, False),
        ("<", "abc", 3, False),  # incomparable: false, not a TypeError
        ("<=", [1], {"a": 1}, False),
        ("==", None, None, True),
        ("!=", None, "x", True),
        ("==", True, "1", False),  # bools are not numbers here
    ],
)
def test_compare(op: str, a: object, b: object, expected: bool) -> None:
    assert compare(op, a, b) is expected


def test_unknown_operator_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown comparison"):
        compare("=~", 1, 2)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(OPERATORS), a=json_values, b=json_values)
def test_helpers_never_raise_on_data(op: str, a: object, b: object) -> None:
    assert isinstance(compare(op, a, b), bool)
    assert isinstance(contains(a, b), bool)
    assert isinstance(truthy(a), bool)
    assert length(a) >= 0
