"""Each check on a small .mmo source: the failing case (code, names, line and column) and a
passing one. Sources go through the real loader, so spans are the parser's."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text


def diags(body: str, *, inputs: str = "") -> list[Diagnostic]:
    source = "pipeline demo {\n" + inputs + body + "}\n"
    result = load_text(source, "t.mmo", ".mmo")
    assert result.pipeline is not None, [d.message for d in result.diagnostics]
    return result.diagnostics


def only(found: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in found if d.code == code]


def codes(found: list[Diagnostic]) -> set[str]:
    return {d.code for d in found}


LLM = "openai/gpt-4o-mini"


def step(name: str, prompt: str, out: str, extra: str = "") -> str:
    return f'  step {name} = llm {LLM} {{\n    prompt "{prompt}"\n{extra}  }} -> {out}\n'


CLEAN = (
    "  input topic\n"
    "  output summary\n"
    + step("research", "Research {topic}", "notes")
    + step("summarize", "Summarize {notes} on {topic}", "summary")
)


def test_clean_pipeline_has_no_diagnostics() -> None:
    assert diags(CLEAN) == []


def test_duplicate_step_points_at_second_and_labels_first() -> None:
    found = only(diags(step("a", "x", "one") + step("a", "{one}", "two")), "MMO101")
    assert len(found) == 1
    d = found[0]
    assert "`a`" in d.message
    assert (d.span.line, d.span.column) == (5, 8)
    assert d.labels[0].span.line == 2 and "first" in d.labels[0].message


def test_duplicate_output_names_both_steps() -> None:
    (d,) = only(diags(step("a", "x", "text") + step("b", "y", "text")), "MMO102")
    assert "`a`" in d.message and "`b`" in d.message and "`text`" in d.message
    assert (d.span.line, d.span.column) == (7, 8)  # at the second `-> text`
    assert d.labels[0].span.line == 4


def test_output_shadows_input_without_a_cycle() -> None:
    found = diags("  input topic\n" + step("a", "About {topic}", "topic"))
    assert codes(found) == {"MMO103"}
    assert "`topic`" in found[0].message and "`a`" in found[0].message


def test_keyword_names_are_not_identifiers() -> None:
    found = only(diags(step("a", "x {class}", "None")), "MMO104")
    messages = " ".join(d.message for d in found)
    assert "`None`" in messages and "`class`" in messages


def test_declared_output_nothing_produces() -> None:
    (d,) = only(diags("  output summary\n" + step("a", "x", "summry")), "MMO105")
    assert "`summary`" in d.message and d.help == "did you mean `summry`?"
    assert (d.span.line, d.span.column) == (2, 10)


def test_unused_output_is_a_warning_only_when_outputs_are_declared() -> None:
    body = step("a", "x", "notes") + step("b", "y", "summary")
    assert only(diags(body), "MMO106") == []
    (d,) = only(diags("  output summary\n" + body), "MMO106")
    assert d.level == "warning" and "`notes`" in d.message and "`a`" in d.message


def test_unused_input_warning() -> None:
    (d,) = only(diags(step("a", "{topic}", "x"), inputs="  input topic\n  input style\n"),
                "MMO304")
    assert "`style`" in d.message and d.level == "warning"


def test_empty_pipeline_and_empty_group() -> None:
    assert "MMO108" in codes(diags(""))
    found = diags(step("a", "x", "y") + "  parallel g {\n  } -> both\n")
    (d,) = only(found, "MMO109")
    assert "`g`" in d.message


def test_bad_input_type_and_default() -> None:
    found = only(diags(step("a", "{n} {m}", "x"),
                       inputs='  input n: int = "three"\n  input m: number\n'), "MMO110")
    assert len(found) == 2
    assert any("`n`" in d.message and "int" in d.message for d in found)


def test_duplicate_input_definition() -> None:
    (d,) = only(diags(step("a", "{t}", "x"), inputs="  input t\n  input t\n"), "MMO107")
    assert "`t`" in d.message and d.span.line == 3


def test_missing_keys_reported_all_at_once_at_each_placeholder() -> None:
    found = only(diags(step("a", "{topic} {alpha} and {beta}", "x"), inputs="  input topic\n"),
                 "MMO301")
    assert [d.message.split("`")[3] for d in found] == ["alpha", "beta"]
    # `prompt "` starts at column 5; `{alpha}` is the 17th character of the prompt text.
    assert [(d.span.line, d.span.column, d.span.end_column) for d in found] == [
        (4, 21, 28), (4, 33, 39)]


def test_missing_key_suggests_close_name() -> None:
    (d,) = only(diags(step("a", "{topik}", "x"), inputs="  input topic\n"), "MMO301")
    assert d.help == "did you mean `topic`?"


def test_seed_style_reads_further_back_than_the_parent() -> None:
    body = (step("a", "{topic}", "one") + step("b", "{one}", "two")
            + step("c", "{one} {two} {topic}", "three"))
    assert diags(body, inputs="  input topic\n") == []


@pytest.mark.parametrize("bad", ["{a.b}", "{0}", "{x!r}", "{x:>10}", "{open", "close}"])
def test_invalid_placeholders(bad: str) -> None:
    found = only(diags(step("s", f"text {bad} end", "x")), "MMO302")
    assert len(found) == 1 and "`s`" in found[0].message
    text = f"text {bad} end"
    first_brace = min(i for i, ch in enumerate(text) if ch in "{}")
    # the prompt's text starts at column 13 of line 3 (`    prompt "`)
    assert (found[0].span.line, found[0].span.column) == (3, 13 + first_brace)


def test_possible_typo_with_undeclared_inputs() -> None:
    found = diags(step("a", "{topic}", "research_output") + step("b", "{research_outptu}", "s"))
    (d,) = only(found, "MMO303")
    assert "`research_outptu`" in d.message and "`research_output`" in d.message
    assert (d.span.line, d.span.column) == (6, 13)
    # a genuinely new name is an input, not a typo
    assert only(diags(step("a", "{topic}", "research_output")), "MMO303") == []


def test_cycle_names_each_step_in_order() -> None:
    body = (step("a", "{c_out}", "a_out") + step("b", "{a_out}", "b_out")
            + step("c", "{b_out}", "c_out") + step("d", "{c_out}", "d_out"))
    (d,) = only(diags(body), "MMO201")
    assert d.message == "dependency cycle: a -> b -> c -> a"
    assert "d" not in d.message.split(":")[1].split(" -> ")
    assert (d.span.line, d.span.column) == (2, 8)
    assert len(d.labels) == 2


def test_self_dependency_by_read_and_by_after() -> None:
    (d,) = only(diags(step("a", "{a_out}", "a_out")), "MMO201")
    assert d.message == "dependency cycle: a -> a"
    assert d.label is not None and d.label.startswith("depends on itself")
    (d,) = only(diags(step("a", "x", "a_out", "    after a\n")), "MMO201")
    assert d.message == "dependency cycle: a -> a" and "itself" in (d.label or "")


def test_two_disjoint_cycles_reported_once_each() -> None:
    body = (step("a", "{b_out}", "a_out") + step("b", "{a_out}", "b_out")
            + step("c", "{d_out}", "c_out") + step("d", "{c_out}", "d_out"))
    found = only(diags(body), "MMO201")
    assert [d.message for d in found] == [
        "dependency cycle: a -> b -> a", "dependency cycle: c -> d -> c"]


def test_unknown_dependency_with_suggestion() -> None:
    found = diags(step("research", "x", "r") + step("s", "{r}", "y", "    after reserch\n"))
    (d,) = only(found, "MMO202")
    assert "`s`" in d.message and "`reserch`" in d.message
    assert d.help == "did you mean `research`?"
    assert (d.span.line, d.span.column) == (7, 11)


def test_sibling_dependency_in_a_group() -> None:
    body = ("  parallel g {\n" + step("p", "{topic}", "pros").replace("  ", "    ", 1)
            + step("c", "{pros}", "cons") + "  } -> both\n")
    (d,) = only(diags(body, inputs="  input topic\n"), "MMO204")
    assert "`c`" in d.message and "`p`" in d.message and "`g`" in d.message


def test_conditional_producer_warning() -> None:
    body = step("a", "{topic}", "notes", "    when len(topic) > 3\n") + step("b", "{notes}", "s")
    (d,) = only(diags(body, inputs="  input topic\n"), "MMO203")
    assert d.level == "warning" and "`b`" in d.message and "`a`" in d.message
    guarded = step("a", "{topic}", "notes", "    when len(topic) > 3\n") + step(
        "b", "{notes}", "s", "    when exists(notes)\n")
    assert only(diags(guarded, inputs="  input topic\n"), "MMO203") == []


def test_group_members_feed_steps_after_the_group() -> None:
    body = ("  parallel g {\n" + step("p", "{topic}", "pros") + step("c", "{topic}", "cons")
            + "  } -> both\n" + step("j", "{pros} {cons} {both}", "joined"))
    assert diags(body, inputs="  input topic\n") == []


def test_member_reading_its_own_group_is_a_cycle() -> None:
    body = ("  parallel g {\n" + step("p", "{topic}", "pros") + step("c", "{both}", "cons")
            + "  } -> both\n")
    (d,) = only(diags(body, inputs="  input topic\n"), "MMO201")
    assert "`c`" in d.message and "`g`" in d.message and "`both`" in d.message
    body = ("  parallel g {\n" + step("p", "{topic}", "pros")
            + step("c", "{topic}", "cons", "    after g\n") + "  } -> both\n")
    (d,) = only(diags(body, inputs="  input topic\n"), "MMO201")
    assert "runs after its own parallel group `g`" in d.message


def test_whole_context_transform_silences_unused_warnings() -> None:
    body = (step("a", "{topic}", "notes") + step("b", "{topic}", "summary")
            + "  step c = transform mylib.fmt:report(*) -> report\n")
    found = diags("  output report\n" + body, inputs="  input topic\n  input extra\n")
    assert not {"MMO106", "MMO304"} & codes(found)
