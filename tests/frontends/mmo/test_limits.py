"""Inputs that used to blow up the .mmo front end end in a diagnostic at their place: numbers
too large for any field (MMO010), nesting past MAX_NESTING (MMO011), a source too large
(MMO012). Nothing reaches Python's recursion or int-conversion limits as an MMO702."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text
from mmoc.frontends.mmo.literals import parse_duration, parse_number
from mmoc.frontends.mmo.parse import parse_condition
from mmoc.limits import MAX_NESTING, MAX_NUMBER, MAX_SOURCE_BYTES
from mmoc.source import offset_to_line_col


def errors(text: str) -> list[Diagnostic]:
    found = load_text(text, "t.mmo", ".mmo").diagnostics
    assert all(d.code != "MMO702" for d in found), found
    return [d for d in found if d.is_error]


def where(d: Diagnostic) -> tuple[str, int, int]:
    assert d.span is not None
    return d.code, d.span.line, d.span.column


def pipeline(body: str = "", fields: str = "") -> str:
    return (
        "pipeline x {\n  input a: int\n" + body
        + '  step s = llm mock/echo {\n    prompt "hi {a}"\n' + fields + "  } -> out\n"
        + "  output out\n}\n"
    )  # fmt: skip


# ---- numbers ---------------------------------------------------------------------------------

HUGE = {"309-nines": "9" * 309, "negative": "-" + "9" * 309, "4301-digits": "1" + "0" * 4300,
        "2**53": str(MAX_NUMBER + 1), "float": "1" + "0" * 400 + ".5"}  # fmt: skip

# Every place .mmo takes a number, N marking it.
NUMBER_PLACES = [
    pipeline("  retry r = exponential(max_retries: N)\n", "    retry r\n"),
    pipeline("  retry r = exponential(multiplier: N)\n", "    retry r\n"),
    pipeline(fields="    retry exponential(max_retries: N)\n"),
    pipeline("  breaker b = breaker(failures: N)\n", "    breaker b\n"),
    pipeline(fields="    breaker(trials: N)\n"),
    pipeline(fields="    temperature N\n"),
    pipeline(fields="    max_tokens N\n"),
    pipeline(fields="    when a > N\n"),
    pipeline(fields='    json schema {"type": "integer", "enum": [1, N]}\n'),
    pipeline().replace("input a: int", "input a: int = N"),
    pipeline('  input b: json = {"k": [N]}\n'),
    pipeline("  parallel g (concurrency: N) {\n    step t = llm mock/echo { prompt \"hi\" } -> o\n"
             "  } -> all\n"),
]
# Every place .mmo takes a duration, D marking it (written N followed by a unit).
DURATION_PLACES = [
    pipeline(fields="    timeout Ds\n"),
    pipeline("  default timeout Dms\n"),
    pipeline("  retry r = exponential(base: Ds)\n", "    retry r\n"),
    pipeline("  retry r = constant(delay: Dm)\n", "    retry r\n"),
    pipeline("  retry r = exponential(max: Dh)\n", "    retry r\n"),
    pipeline(fields="    breaker(recovery: Ds)\n"),
]


@pytest.mark.parametrize("number", HUGE.values(), ids=HUGE.keys())
@pytest.mark.parametrize("template", NUMBER_PLACES)
def test_a_huge_number_is_mmo010_at_the_number(template: str, number: str) -> None:
    text = template.replace("N", number)
    expected = ("MMO010", *offset_to_line_col(text, text.index(number)))
    assert [where(d) for d in errors(text)] == [expected]


@pytest.mark.parametrize("number", ["1" + "0" * 309, "9" * 5000, str(MAX_NUMBER) + "0"])
@pytest.mark.parametrize("template", DURATION_PLACES)
def test_a_huge_duration_is_mmo010_at_the_duration(template: str, number: str) -> None:
    text = template.replace("D", number)
    expected = ("MMO010", *offset_to_line_col(text, text.index(number)))
    assert [where(d) for d in errors(text)] == [expected]


def test_the_largest_number_is_read() -> None:
    assert parse_number(str(MAX_NUMBER)) == MAX_NUMBER
    assert parse_number(f"-{MAX_NUMBER}") == -MAX_NUMBER
    assert parse_number(str(MAX_NUMBER + 1)) is None
    assert parse_number("0" * 100 + ".5") == 0.5  # a long decimal is no error
    assert parse_duration("2500ms") == (2.5, None)
    assert parse_duration(f"{MAX_NUMBER}ms")[1] is None


# ---- nesting ---------------------------------------------------------------------------------

NESTED = {
    "list": lambda n: pipeline("  input b: json = " + "[" * n + "]" * n + "\n"),
    "object": lambda n: pipeline(fields="    json schema " + '{"k": ' * n + "1" + "}" * n + "\n"),
    "not": lambda n: pipeline(fields="    when " + "not " * n + "a\n"),
    "and": lambda n: pipeline(fields="    when " + "(a and " * n + "a" + ")" * n + "\n"),
    "compare": lambda n: pipeline(fields="    when " + "(a == " * n + "a" + ")" * n + "\n"),
    "call": lambda n: pipeline(fields="    when " + "len(" * n + "a" + ")" * n + "\n"),
}
# What opens one level, and where in it the construct starts (`(a and ...)` starts at `a`).
OPENERS = {"list": ("[", 0), "object": ("{", 0), "not": ("not ", 0), "and": ("(", 1),
           "compare": ("(", 1), "call": ("len(", 0)}  # fmt: skip


@pytest.mark.parametrize("kind", NESTED)
def test_nesting_at_the_limit_parses(kind: str) -> None:
    found = errors(NESTED[kind](MAX_NESTING))
    assert "MMO011" not in [d.code for d in found]


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 5000])
@pytest.mark.parametrize("kind", NESTED)
def test_nesting_past_the_limit_is_mmo011_at_the_first_level_too_deep(kind: str, depth: int) -> None:
    text = NESTED[kind](depth)
    (d,) = errors(text)
    opener, into = OPENERS[kind]
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if ln.count(opener) >= depth)
    column = 0
    for _ in range(MAX_NESTING + 1):  # the opener of level MAX_NESTING + 1
        column = text.splitlines()[line - 1].index(opener, column) + 1
    assert where(d) == ("MMO011", line, column + into)


def test_a_condition_alone_is_bounded_too() -> None:
    expr, (d,) = parse_condition("not " * 100 + "a", "c.yaml", line=7, column=20)
    assert expr is None and where(d) == ("MMO011", 7, 20 + MAX_NESTING * 4)


def test_parentheses_alone_nest_nothing() -> None:
    """`((((a))))` builds no tree: any number of them is fine (and costs no recursion)."""
    text = pipeline(fields="    when " + "(" * 10_000 + "a" + ")" * 10_000 + " > 1\n")
    assert errors(text) == []


# ---- the source's size -----------------------------------------------------------------------


def test_a_source_past_the_size_limit_is_refused_before_it_is_parsed() -> None:
    text = pipeline() + "#" * MAX_SOURCE_BYTES
    (d,) = errors(text)
    assert where(d) == ("MMO012", 1, 1)
    assert errors(pipeline() + "#" * (MAX_SOURCE_BYTES - len(pipeline()))) == []
