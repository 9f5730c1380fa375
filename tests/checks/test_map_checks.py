"""The map step checks (MMO801-MMO810), and every other check inside map bodies: each on a
small source through the real loader, with a clean map beside it that reports nothing."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text


def diags(body: str) -> list[Diagnostic]:
    result = load_text("pipeline demo {\n" + body + "}\n", "t.mmo", ".mmo")
    assert result.pipeline is not None, [d.message for d in result.diagnostics]
    return result.diagnostics


def codes(body: str) -> list[str]:
    return [d.code for d in diags(body)]


def body_map(body: str, head: str = "chunk in chunks", key: str = "summaries") -> str:
    return f"  step m = map {head} {{\n{body}  }} -> {key}\n"


SUMMARIZE = '    step s = llm mock/echo { prompt "Summarize {chunk}" } -> summary\n'
CLEAN = "  input chunks: list[str]\n  output summaries\n" + body_map(SUMMARIZE)


def test_a_clean_map_reports_nothing() -> None:
    assert diags(CLEAN) == []


def test_mmo801_item_named_like_an_input() -> None:
    found = diags("  input chunks: list[str]\n  input chunk: str\n  output summaries\n"
                  + body_map(SUMMARIZE))
    [d] = [d for d in found if d.code == "MMO801"]
    assert d.span is not None and (d.span.line, d.span.column) == (5, 16)


def test_mmo801_item_named_like_a_body_key() -> None:
    assert "MMO801" in codes("  input chunks: list[str]\n  output summaries\n" + body_map(
        '    step s = llm mock/echo { prompt "{chunk}" } -> chunk\n'))


def test_mmo802_item_read_after_the_map() -> None:
    found = diags(CLEAN + '  step after_map = llm mock/echo { prompt "{chunk}" } -> x\n'
                  "  output x\n")
    assert [d.code for d in found if d.level == "error"] == ["MMO802"]  # not MMO301 too


def test_mmo802_also_when_inputs_are_inferred() -> None:
    found = codes(body_map(SUMMARIZE, head="chunk in chunks")
                  + '  step after_map = llm mock/echo { prompt "{chunk}" } -> x\n')
    assert "MMO802" in found and "MMO801" not in found


def test_mmo803_body_key_read_outside() -> None:
    found = diags(CLEAN + '  step after_map = llm mock/echo { prompt "{summary}" } -> x\n'
                  "  output x\n")
    assert [d.code for d in found if d.level == "error"] == ["MMO803"]


@pytest.mark.parametrize(("source", "why"), [
    ("  input chunks: str\n", "input `chunks` has type str"),
    ('  step c = llm mock/echo { prompt "x" } -> chunks\n', "replies with text"),
    (('  step c = llm mock/echo {\n    prompt "x"\n    json schema {"type": "object"}\n'
      "  } -> chunks\n"), "replies with a JSON object"),
    ("  input d: str\n  step c = transform upper(d) -> chunks\n", "`upper` returns text"),
    ('  parallel c {\n    step a = llm mock/echo { prompt "x" } -> a\n  } -> chunks\n',
     "collects a mapping"),
])
def test_mmo804_for_each_known_not_to_be_a_list(source: str, why: str) -> None:
    [d] = [d for d in diags(source + body_map(SUMMARIZE)) if d.code == "MMO804"]
    assert why in d.message


@pytest.mark.parametrize("source", [
    "  input chunks: list[json]\n",
    "  input chunks: json\n",
    ('  step c = llm mock/echo {\n    prompt "x"\n    json schema {"type": "array"}\n'
     "  } -> chunks\n"),
    '  step c = llm mock/echo {\n    prompt "x"\n    json\n  } -> chunks\n',
    "  input d: str\n  step c = transform split_chunks(d) -> chunks\n",
    "  input d: str\n  step c = transform mylib.text:pieces(d) -> chunks\n",
])
def test_mmo804_not_reported_for_lists_or_unknown_types(source: str) -> None:
    assert "MMO804" not in codes(source + body_map(SUMMARIZE))


def test_mmo805_unknown_list_key() -> None:
    assert "MMO805" in codes("  input document: str\n" + body_map(SUMMARIZE))


def test_mmo806_body_reads_a_later_key() -> None:
    body = ('    step v = llm mock/echo { prompt "Check {fields}" } -> verdict\n'
            '    step e = llm mock/echo { prompt "Extract {chunk}" } -> fields\n')
    [d] = [d for d in diags("  input chunks: list[str]\n" + body_map(body)) if d.code == "MMO806"]
    assert "`fields`" in d.message and d.span is not None and d.span.line == 4


def test_mmo807_to_809_options() -> None:
    assert "MMO807" in codes("  input chunks: list[str]\n  step m = map c in chunks { } -> out\n")
    bad = codes("  input chunks: list[str]\n" + body_map(
        SUMMARIZE, head="chunk in chunks (on_error: ignore, concurrency: 0, limit: 2.5)"))
    assert bad.count("MMO808") == 3
    assert "MMO809" in codes("  input chunks: list[str]\n" + body_map("    collect sumary\n" + SUMMARIZE))


def test_mmo810_body_names_clash_with_outer_ones() -> None:
    found = codes("  input chunks: list[str]\n  input summary: str\n"
                  '  step s = llm mock/echo { prompt "{summary}" } -> intro\n'
                  + body_map(SUMMARIZE))
    assert found.count("MMO810") == 2


def test_every_other_check_runs_inside_bodies() -> None:
    body = ('    step s = llm openai/gpt-4o-mni {\n      prompt "{chunk} {missing}"\n'
            "      retry nope\n      when len(chunk) > \"x\" and frob(chunk)\n"
            "    } -> summary\n"
            "    step t = transform upcase(summary) -> loud\n")
    found = codes("  input chunks: list[str]\n  output summaries\n" + body_map(body))
    for code in ("MMO301", "MMO401", "MMO502", "MMO603", "MMO602"):
        assert code in found, (code, found)


def test_a_cycle_inside_a_body_is_reported() -> None:
    body = ('    step a = llm mock/echo { prompt "{b_out} {chunk}" } -> a_out\n'
            '    step b = llm mock/echo { prompt "{a_out}" } -> b_out\n')
    assert "MMO201" in codes("  input chunks: list[str]\n  output summaries\n" + body_map(body))


def test_a_body_reading_its_own_map_result_is_a_cycle() -> None:
    body = '    step s = llm mock/echo { prompt "{chunk} {summaries}" } -> summary\n'
    assert "MMO201" in codes("  input chunks: list[str]\n  output summaries\n" + body_map(body))


def test_outer_keys_read_inside_a_body_count_as_used_and_order_the_map() -> None:
    source = ("  input chunks: list[str]\n  input style: str\n  output summaries\n"
              '  step intro = llm mock/echo { prompt "About {style}" } -> intro_text\n'
              + body_map('    step s = llm mock/echo { prompt "{intro_text} {chunk}" } -> summary\n'))
    assert diags(source) == []  # style and intro_text are used: no MMO304 or MMO106


def test_builtins_with_optional_parameters_take_a_range_of_keys() -> None:
    head = "  input d: str\n  input size: int = 100\n  input overlap: int = 10\n  input extra: int = 1\n"
    ok = codes(head + "  output c\n  step c = transform split_chunks(d, size, overlap) -> c\n"
               + "  output e\n  step e = transform join(c, d) -> e\n  output f\n"
               + "  step f = transform split_chunks(d) -> f\n")
    assert "MMO602" not in ok and "MMO304" in ok  # only `extra` is unread
    [d] = [d for d in diags(head + "  step c = transform split_chunks(d, size, overlap, extra) -> c\n")
           if d.code == "MMO602"]
    assert "takes 1 to 3 keys; it reads 4" in d.message
