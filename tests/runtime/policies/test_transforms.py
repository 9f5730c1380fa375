"""Built-in transforms: one value in, one out; `json` forgives fences and prose."""

from __future__ import annotations

import pytest
from mmoc_runtime.transforms import BUILTINS


def test_the_documented_builtins_exist() -> None:
    expected = {"upper", "lower", "strip", "json", "to_json", "length", "lines", "first_line",
                "trim_fences"}  # fmt: skip
    assert expected <= set(BUILTINS)


def test_text_transforms() -> None:
    assert BUILTINS["upper"]("Bees") == "BEES"
    assert BUILTINS["lower"]("Bees") == "bees"
    assert BUILTINS["strip"]("  x \n") == "x"
    assert BUILTINS["upper"](None) == ""
    assert BUILTINS["lines"]("a\nb\r\nc") == ["a", "b", "c"]
    assert BUILTINS["first_line"]("\n\n  Title  \nbody") == "Title"
    assert BUILTINS["length"]("four") == 4
    assert BUILTINS["nonempty_lines"]("- a\n\n - b \n") == ["- a", "- b"]
    assert BUILTINS["title"]("the bee book") == "The Bee Book"
    assert BUILTINS["join"](["a", 2, None]) == "a\n2\n"
    assert BUILTINS["join"](BUILTINS["lines"]("x\ny")) == "x\ny"
    marker = object()
    assert BUILTINS["identity"](marker) is marker


def test_non_text_values_become_their_json_text() -> None:
    assert BUILTINS["upper"]({"k": "v"}) == '{"K": "V"}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ("```\n[true, null]\n```", [True, None]),
        ('Here you go:\n```json\n{"ok": true}\n```\nAnything else?', {"ok": True}),
        ('Sure! {"x": {"y": "}"}} hope that helps', {"x": {"y": "}"}}),
        ("  42  ", 42),
    ],
)
def test_json_is_tolerant_of_model_wrapping(text: str, expected: object) -> None:
    assert BUILTINS["json"](text) == expected


def test_json_of_text_without_json_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="holds no valid JSON.*'I cannot do that'"):
        BUILTINS["json"]("I cannot do that")


def test_json_passes_structured_values_through() -> None:
    data = {"already": "parsed"}
    assert BUILTINS["json"](data) is data


def test_to_json_round_trips_through_json() -> None:
    data = {"name": "Zoë", "items": [1, 2.5, None]}
    text = BUILTINS["to_json"](data)
    assert "Zoë" in text
    assert BUILTINS["json"](text) == data


def test_trim_fences_only_removes_a_wrapping_fence() -> None:
    assert BUILTINS["trim_fences"]("```python\nprint(1)\n```") == "print(1)"
    prose = "text ```x``` more"
    assert BUILTINS["trim_fences"](prose) == prose
