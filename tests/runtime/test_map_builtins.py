"""The built-in transforms for map steps: split_chunks and lines on the way in; join with a
separator, flatten and json_list on the way out."""

from __future__ import annotations

import pytest
from mmoc_runtime.transforms import BUILTIN_ARITY, BUILTIN_RESULTS, BUILTINS


def test_split_chunks_overlaps_and_covers_the_text() -> None:
    split = BUILTINS["split_chunks"]
    assert split("abcdefghij", 4, 1) == ["abcd", "defg", "ghij"]
    assert split("abcdefgh", 4) == ["abcd", "efgh"]
    assert split("abc", 10, 2) == ["abc"]
    assert split("   ", 4) == []
    text = "x" * 5000
    chunks = split(text)  # defaults: 2000 characters, no overlap
    assert [len(c) for c in chunks] == [2000, 2000, 1000] and "".join(chunks) == text


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (4, 4), (4, -1), (True, 0), (2.5, 0)])
def test_split_chunks_rejects_bad_sizes(size: object, overlap: object) -> None:
    with pytest.raises(ValueError, match="split_chunks"):
        BUILTINS["split_chunks"]("text", size, overlap)


def test_join_takes_an_optional_separator() -> None:
    assert BUILTINS["join"](["a", "b"]) == "a\nb"
    assert BUILTINS["join"](["a", {"k": 1}], ", ") == 'a, {"k": 1}'


def test_flatten_one_level() -> None:
    assert BUILTINS["flatten"]([[1, 2], [], 3, [[4]]]) == [1, 2, 3, [4]]
    assert BUILTINS["flatten"]("x") == ["x"]


def test_json_list() -> None:
    assert BUILTINS["json_list"]('```json\n["a", "b"]\n```') == ["a", "b"]
    assert BUILTINS["json_list"]('{"items": [1, 2], "n": 2}') == [1, 2]
    assert BUILTINS["json_list"]([3]) == [3]
    with pytest.raises(ValueError, match="json_list"):
        BUILTINS["json_list"]('{"a": 1}')


def test_arity_and_result_tables_name_only_builtins() -> None:
    assert set(BUILTIN_ARITY) <= set(BUILTINS) and set(BUILTIN_RESULTS) <= set(BUILTINS)
    assert BUILTIN_RESULTS["split_chunks"] == BUILTIN_RESULTS["lines"] == "list"
