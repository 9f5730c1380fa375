"""User mistakes are diagnostics with a place and a friendly message, never exceptions."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.frontends.mmo.parse import parse_condition, parse_mmo


def problems(text: str) -> list[Diagnostic]:
    _, diags = parse_mmo(text, "bad.mmo")
    assert diags, "expected a diagnostic"
    return diags


def where(d: Diagnostic) -> tuple[str, int, int]:
    assert d.span is not None
    return d.code, d.span.line, d.span.column


def test_empty_file() -> None:
    [d] = problems("")
    assert where(d) == ("MMO002", 1, 1) and "`pipeline`" in d.message


def test_unclosed_pipeline_says_file_ends() -> None:
    [d] = problems("pipeline x {\n  input a\n")
    assert d.code == "MMO002" and "ends too early" in d.message and "`}`" in d.message


def test_misspelt_field_gets_did_you_mean() -> None:
    [d] = problems('pipeline x {\n  step a = llm m {\n    prompt "x"\n    tempreture 0.2\n  }\n}')
    assert where(d) == ("MMO002", 4, 5)
    assert "tempreture" in d.message and "`temperature`" in d.message
    assert d.help == "did you mean `temperature`?"
    assert "`description`" not in d.message  # only what fits inside a step body


def test_bad_character() -> None:
    [d] = problems("pipeline x {\n  @\n}")
    assert where(d) == ("MMO002", 2, 3) and "`@`" in d.message


def test_trailing_garbage() -> None:
    [d] = problems("pipeline x { }\nmore")
    assert where(d) == ("MMO002", 2, 1) and "end of the file" in d.message


def test_unterminated_string() -> None:
    [d] = problems('pipeline x {\n  step a = llm m { prompt "abc\n  }\n}')
    assert where(d) == ("MMO009", 2, 27)


def test_unknown_escape() -> None:
    [d] = problems('pipeline x { step a = llm m { prompt "a\\qb" } }')
    assert where(d) == ("MMO009", 1, 40) and "\\q" in d.message


def test_bad_unicode_escape() -> None:
    [d] = problems('pipeline x { step a = llm m { prompt "\\u12" } }')
    assert d.code == "MMO009" and "hex" in d.message


@pytest.mark.parametrize(("value", "fragment"), [("5x", "unknown duration unit"), ("5", "no unit")])
def test_bad_durations(value: str, fragment: str) -> None:
    [d] = problems(f'pipeline x {{ step a = llm m {{ prompt "x"\n timeout {value} }} }}')
    assert where(d) == ("MMO008", 2, 10) and fragment in d.message


def test_policy_argument_mistakes_are_all_reported() -> None:
    diags = problems(
        'pipeline x { retry r = exponential(base: 5, maxx: 3s, jitter: "full", base: 1s) }'
    )
    assert [d.code for d in diags] == ["MMO008", "MMO004", "MMO006", "MMO107"]
    assert diags[1].help == "did you mean `max`?"


def test_duplicate_field_in_step_points_at_both() -> None:
    [d] = problems(
        'pipeline x {\n step a = llm m {\n  prompt "x"\n  timeout 1s\n  timeout 2s\n }\n}'
    )
    assert where(d) == ("MMO107", 5, 3) and "`timeout`" in d.message and "`a`" in d.message
    assert d.labels and d.labels[0].span.line == 4


def test_duplicate_pipeline_fields() -> None:
    diags = problems('pipeline x { version "1" version "2" default timeout 1s default timeout 2s }')
    assert [d.code for d in diags] == ["MMO107", "MMO107"]


def test_field_not_allowed_in_transform() -> None:
    [d] = problems('pipeline x { step a = transform upper(x) { prompt "a" } }')
    assert d.code == "MMO004" and "transform step" in d.message


def test_step_inside_llm_step() -> None:
    [d] = problems('pipeline x { step a = llm m { prompt "a" step b = transform upper(x) } }')
    assert d.code == "MMO004" and "`b`" in d.message


def test_missing_prompt_still_gives_a_pipeline() -> None:
    p, diags = parse_mmo('pipeline x { step a = llm m { system "s" } }', "bad.mmo")
    assert [d.code for d in diags] == ["MMO005"] and p is not None


def test_endpoint_without_base_url() -> None:
    [d] = problems('pipeline x { provider local = openai_compatible(api_key_env: "K") }')
    assert d.code == "MMO005" and "base_url" in d.message


def test_non_literal_input_default() -> None:
    [d] = problems("pipeline x { input a: str = hello }")
    assert d.code == "MMO006"


def test_syntax_error_returns_no_pipeline() -> None:
    p, diags = parse_mmo("pipeline x { step }", "bad.mmo")
    assert p is None and [d.code for d in diags] == ["MMO002"]


def test_deep_nesting_is_a_diagnostic() -> None:
    expr, diags = parse_condition("not " * 5000 + "a", "deep")
    assert expr is None and [d.code for d in diags] == ["MMO011"]
    assert diags[0].span is not None and diags[0].span.column == 32 * 4 + 1  # the 33rd `not`


def test_condition_trailing_junk() -> None:
    expr, diags = parse_condition("a b", "c")
    assert expr is None and [d.code for d in diags] == ["MMO002"]


def test_nested_group_is_explained() -> None:
    [d] = problems("pipeline x {\n  parallel g {\n    parallel h { }\n  }\n}")
    assert where(d) == ("MMO002", 3, 5) and "cannot hold another group" in d.message


def test_unclosed_triple_quoted_string() -> None:
    [d] = problems('pipeline x {\n  step a = llm m {\n    prompt """\n      text\n  }\n}\n')
    assert where(d) == ("MMO009", 3, 12) and "never closed" in d.message
