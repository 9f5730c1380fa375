"""What the renderers print stays bounded by what is worth reading: repeats of one code on
one line are capped with a note (every format), long source lines show a window around the
span, long messages keep their ends, and the source is split into lines once per render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmoc.cli import cli
from mmoc.diagnostics.model import REPEAT_LIMIT, Diagnostic, Label, cap_repeats
from mmoc.diagnostics.render import (
    SNIPPET_WIDTH,
    render_github,
    render_json,
    render_text,
)
from mmoc.diagnostics.sarif import render_sarif
from mmoc.driver import load_text
from mmoc.source import Span


def unknown_placeholders(n: int) -> str:
    """n distinct placeholders that name nothing, all on line 3."""
    placeholders = " ".join(f"{{u{i}}}" for i in range(n))
    return (
        "pipeline unknown {\n  input topic\n"
        f'  step a = llm mock/m {{ prompt "{{topic}} {placeholders}" }} -> k\n}}\n'
    )


def at(line: int, column: int, length: int = 1, file: str = "t.mmo") -> Span:
    return Span.point(file, line, column, length)


def test_many_unknown_placeholders_on_one_line_print_a_bounded_report() -> None:
    text = unknown_placeholders(2000)
    loaded = load_text(text, "t.mmo", ".mmo")
    assert len(loaded.diagnostics) == 2000
    out = render_text(loaded.diagnostics, {"t.mmo": text})
    # Was 2,000 blocks each repeating the 14 kB line: 28 MB.
    assert len(out) < 20_000
    assert out.count("error[MMO301]") == REPEAT_LIMIT
    assert f"info[MMO301]: {2000 - REPEAT_LIMIT} more MMO301 errors on line 3 are not shown" in out
    assert out.endswith("found 2000 errors\n")  # the summary counts every diagnostic


def test_mmoc_check_of_10000_unknown_placeholders_prints_under_2_mb(tmp_path: Path) -> None:
    (tmp_path / "p.mmo").write_text(unknown_placeholders(10_000), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "p.mmo")])
    assert result.exit_code == 1
    assert len(result.output.encode()) < 2_000_000  # was 1.2 GB
    assert "9980 more MMO301 errors on line 3" in result.output
    assert "found 10000 errors in 1 file" in result.output


@pytest.mark.parametrize("render", [render_json, render_sarif, render_github])
def test_machine_formats_carry_the_same_capped_list_and_note(render: object) -> None:
    diags = [Diagnostic("MMO301", f"unknown `u{i}`", at(3, 10 + i)) for i in range(30)]
    out = render(diags)  # type: ignore[operator]
    if render is render_json:
        items = json.loads(out)
        assert len(items) == REPEAT_LIMIT + 1
        assert items[-1]["severity"] == "info" and items[-1]["code"] == "MMO301"
        assert items[-1]["message"].startswith("10 more MMO301 errors on line 3")
    elif render is render_sarif:
        results = json.loads(out)["runs"][0]["results"]
        assert len(results) == REPEAT_LIMIT + 1
        assert results[-1]["level"] == "note" and results[-1]["ruleId"] == "MMO301"
    else:
        lines = out.splitlines()
        assert len(lines) == REPEAT_LIMIT + 1 and lines[-1].startswith("::notice ")


def test_cap_counts_per_code_and_line_and_is_idempotent() -> None:
    same_line = [Diagnostic("MMO301", f"a{i}", at(3, i + 1)) for i in range(25)]
    other_code = [Diagnostic("MMO302", f"b{i}", at(3, i + 1)) for i in range(5)]
    other_lines = [Diagnostic("MMO301", f"c{i}", at(10 + i, 1)) for i in range(25)]
    capped = cap_repeats([*same_line, *other_code, *other_lines])
    assert capped[:REPEAT_LIMIT] == same_line[:REPEAT_LIMIT]
    note = capped[REPEAT_LIMIT]
    assert note.level == "info" and note.message.startswith("5 more MMO301 errors on line 3")
    assert note.span == same_line[REPEAT_LIMIT].span  # where the first left out was
    assert capped[REPEAT_LIMIT + 1 :] == [*other_code, *other_lines]
    assert cap_repeats(capped) == capped


def test_a_long_line_shows_a_window_with_the_carets_under_the_span() -> None:
    line = "x" * 500_000 + "\tabc" + "y" * 500_000
    text = f"first\n{line}\n"
    d = Diagnostic("MMO302", "bad", at(2, 500_002, 3), label="here")
    out = render_text([d], {"t.mmo": text}, summary=False)
    assert len(out) < 3 * SNIPPET_WIDTH + 200  # was the whole megabyte
    rows = out.splitlines()
    source = next(r for r in rows if r.startswith("2 |"))
    carets = next(r for r in rows if "^" in r)
    assert source.endswith("...") and "| ..." in source  # clipped on both sides
    start = carets.index("^")
    assert source[start : start + 3] == "abc" and carets[start:].startswith("^^^ here")


def test_a_span_past_the_window_keeps_its_caret_and_label_in_view() -> None:
    line = "z" * 10_000
    d = Diagnostic("MMO302", "bad", at(1, 10, 2), labels=())
    far = Diagnostic("MMO302", "bad", at(1, 5000, 1), label="far")
    out = render_text([d, far], {"t.mmo": line}, summary=False)
    assert all(len(row) < SNIPPET_WIDTH + 40 for row in out.splitlines())
    assert "^ far" in out


def test_a_long_message_keeps_its_start_and_end() -> None:
    name = "n" * 100_000
    d = Diagnostic("MMO301", f"step reads `{name}`, which names nothing", at(1, 1), help=name)
    out = render_text([d], {"t.mmo": "x\n"}, summary=False)
    assert len(out) < 3000
    assert "step reads `nnn" in out and "which names nothing" in out
    assert "characters)" in out


def test_the_source_is_split_into_lines_once_per_render() -> None:
    splits = [0]

    class Counting(str):
        def splitlines(self, keepends: bool = False) -> list[str]:
            splits[0] += 1
            return str.splitlines(self, keepends)

    text = Counting("".join(f"line {i}\n" for i in range(1000)))
    diags = [
        Diagnostic("MMO101", "dup", at(i, 1), labels=(), label="again") for i in range(1, 1001)
    ]
    render_text(diags, {"t.mmo": text})
    assert splits[0] == 1  # was three per diagnostic


def test_fullwidth_names_get_carets_as_wide_as_they_are_shown() -> None:
    text = "name: ｓ\n"
    d = Diagnostic("MMO104", "bad", at(1, 7, 1, "t.yaml"), label="not an identifier")
    out = render_text([d], {"t.yaml": text}, summary=False)
    assert "|       ^^ not an identifier" in out


def test_rendering_runs_with_the_cyclic_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from mmoc.diagnostics import render

    seen: list[bool] = []
    real = render._render_one

    def probe(d: Diagnostic, lines: object, color: bool) -> str:
        seen.append(gc.isenabled())
        return real(d, lines, color)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "_render_one", probe)
    was = gc.isenabled()
    render_text([Diagnostic("MMO301", "m", at(1, 1))], {"t.mmo": "x\n"})
    assert seen == [False]
    assert gc.isenabled() == was


@pytest.mark.parametrize("render", [render_json, render_sarif, render_github])
def test_machine_formats_clip_long_texts_too(render: object) -> None:
    name = "n" * 100_000
    d = Diagnostic("MMO301", f"reads `{name}`", at(1, 1), label=name, help=name,
                   labels=(Label(at(2, 1), name),))
    empty = render([])  # type: ignore[operator]
    out = render([d])  # type: ignore[operator]
    assert len(out) - len(empty) < 6_000  # SARIF has its rules table either way
    assert "characters)" in out and name not in out
