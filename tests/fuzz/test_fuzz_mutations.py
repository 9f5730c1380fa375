"""Mutation fuzz of the shipped pipelines (`pipelines/*.mmo` and `*.yaml`): bytes flipped,
inserted and deleted, lines deleted, duplicated and swapped, blocks duplicated, files cut
short, and tokens of both languages spliced in. `mmoc check` and `mmoc compile` must hold
the fuzz property (support.fuzz) on every result."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import assert_well_behaved, check_and_compile, fuzz_settings, shipped_sources

SEEDS = [(p.suffix, p.read_bytes()) for p in shipped_sources()]
# Pieces of both languages and of YAML's corners, and bytes that are not text at all.
TOKENS = [
    b"{",
    b"}",
    b"{x}",
    b"{{",
    b"}}",
    b'"""',
    b'"',
    b"'",
    b"\\",
    b"->",
    b"#",
    b":",
    b",",
    b"- ",
    b": ",
    b"? ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary aGk=",
    b"|\n",
    b">-\n",
    b"\t",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"99999999999999999999999999",
    b"-1",
    b"0",
    b"1e999",
    b".inf",
    b".nan",
    b"1:2:3",
    b'step s = llm mock/m { prompt "{s_out}" } -> s_out\n',
    b"parallel g {",
    b"when ",
    b"after ",
    b"len(",
    b"retry r\n",
    b"timeout 0s\n",
    b"json schema {",
    b"  - name: x\n",
    b"depends_on: x\n",
    b"type: parallel_group\n",
    b"steps: []\n",
    b"pipeline p {",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A shipped pipeline after one to four random mutations."""
    suffix, data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return suffix, data


def _at(draw: st.DrawFn, data: bytes) -> int:
    return draw(st.integers(0, len(data)))


def _flip_byte(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]


def _insert_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    at = _at(draw, data)
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


def _insert_token(draw: st.DrawFn, data: bytes) -> bytes:
    at = _at(draw, data)
    return data[:at] + draw(st.sampled_from(TOKENS)) + data[at:]


def _delete_range(draw: st.DrawFn, data: bytes) -> bytes:
    at = _at(draw, data)
    return data[:at] + data[at + draw(st.integers(1, 40)) :]


def _truncate(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: _at(draw, data)]


def _line_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """Delete, duplicate or swap lines, or duplicate a block of lines (a step twice)."""
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(i, min(len(lines), i + 12)))
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "block"]))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        k = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[k] = lines[k], lines[i]
    else:
        lines[j:j] = lines[i:j] * draw(st.integers(1, 3))
    return b"".join(lines)


MUTATIONS = [_flip_byte, _insert_bytes, _insert_token, _delete_range, _truncate, _line_edit]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutations")


@fuzz_settings(suite_examples=30)
@given(case=mutated())
def test_mutated_pipelines_hold_the_fuzz_property(case: tuple[str, bytes], work: Path) -> None:
    suffix, data = case
    source = work / f"mutated{suffix}"
    source.write_bytes(data)
    for outcome in check_and_compile(source, work):
        assert_well_behaved(outcome)


def test_unmutated_pipelines_compile_cleanly(tmp_path: Path) -> None:
    # The seeds themselves: the property holds and both commands succeed.
    for source in shipped_sources():
        for outcome in check_and_compile(source, tmp_path):
            assert_well_behaved(outcome)
            assert outcome.code == 0, outcome.describe()
