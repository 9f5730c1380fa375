"""Every YAML mistake is a diagnostic with its code, line and column; none is an exception."""

from __future__ import annotations

import textwrap

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.source import offset_to_line_col


def problems(text: str) -> list[Diagnostic]:
    p, diagnostics = parse_yaml(textwrap.dedent(text), "bad.yaml")
    # Errors come with no pipeline, or a best-effort one the checks can still read.
    assert p is None or p.name
    assert diagnostics and all(d.span is not None for d in diagnostics)
    assert all(d.span.file == "bad.yaml" for d in diagnostics if d.span)
    return diagnostics


def only(text: str, code: str) -> Diagnostic:
    found = problems(text)
    assert [d.code for d in found] == [code], [(d.code, d.message) for d in found]
    return found[0]


def at(d: Diagnostic) -> tuple[int, int]:
    assert d.span is not None
    return d.span.line, d.span.column


def test_syntax_error_points_at_the_problem() -> None:
    d = only("name: x\nsteps:\n  - name: a\n   bad: [\n", "MMO002")
    assert at(d) == (4, 4) and "YAML syntax error" in d.message  # at `bad:`


def test_unclosed_flow_sequence() -> None:
    d = only("name: [a, b\n", "MMO002")
    assert at(d) == (2, 1)  # the end of the text, where `]` was still expected


def test_tab_indentation_is_a_syntax_error() -> None:
    only("name: x\nsteps:\n\t- name: a\n", "MMO002")


def test_several_documents() -> None:
    only("name: a\n---\nname: b\n", "MMO002")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n", "42\n"])
def test_non_mapping_document(text: str) -> None:
    d = only(text, "MMO003")
    assert at(d) == (1, 1)


def test_step_that_is_not_a_mapping() -> None:
    d = only("name: x\nsteps:\n  - research\n", "MMO003")
    assert at(d) == (3, 5)


def test_unknown_key_with_did_you_mean() -> None:
    d = only(
        """\
        name: x
        steps:
          - name: a
            model: m
            prompt: p
            depnds_on: b
        """,
        "MMO004",
    )
    assert at(d) == (6, 5)
    assert d.span is not None and d.span.end_column == 14
    assert "depnds_on" in d.message and d.help is not None and "`depends_on`" in d.help


def test_unknown_top_level_key_lists_known_fields() -> None:
    d = only("name: x\nzzz: 1\nsteps: [{name: a, model: m, prompt: p}]\n", "MMO004")
    assert at(d) == (2, 1) and d.help is not None and "known fields:" in d.help


def test_field_of_another_step_type_is_unknown() -> None:
    d = only("name: x\nsteps: [{name: a, model: m, prompt: p, function: 'a:b'}]\n", "MMO004")
    assert "llm step" in d.message


@pytest.mark.parametrize(
    ("text", "where", "missing"),
    [
        ("steps: [{name: a, model: m, prompt: p}]\n", (1, 1), "`name`"),
        ("name: x\n", (1, 1), "`steps`"),
        ("name: x\nsteps:\n  - {model: m, prompt: p}\n", (3, 5), "`name`"),
        ("name: x\nsteps:\n  - {name: a, prompt: p}\n", (3, 5), "`model`"),
        ("name: x\nsteps:\n  - {name: a, model: m}\n", (3, 5), "`prompt`"),
        ("name: x\nsteps:\n  - {name: a, type: transform}\n", (3, 5), "`function`"),
        ("name: x\nsteps:\n  - {name: g, type: parallel_group}\n", (3, 5), "`steps`"),
        ("name: x\nsteps:\n  - {name: a, type: conditional, model: m, prompt: p}\n", (3, 5),
         "`condition`"),
        ("name: x\nproviders: {l: {kind: k}}\nsteps: [{name: a, model: m, prompt: p}]\n", (2, 16),
         "`base_url`"),
    ],
)  # fmt: skip
def test_missing_fields(text: str, where: tuple[int, int], missing: str) -> None:
    d = only(text, "MMO005")
    assert at(d) == where and missing in d.message


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("name: [x]\nsteps: []\n", "[x]"),
        ("name: x\nsteps: {a: 1}\n", "{a: 1}"),
        ("name: x\nsteps: [{name: a, model: m, prompt: 42}]\n", "42"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, temperature: hot}]\n", "hot"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, max_tokens: 1.5}]\n", "1.5"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, depends_on: {b: 1}}]\n", "{b: 1}"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, json: maybe}]\n", "maybe"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, retry: 3}]\n", "3"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, retry: {max_retries: x}}]\n", "x}"),
        ("name: x\nsteps: [{name: a, model: m, prompt: p, schema: [1]}]\n", "[1]"),
        ("name: x\ninputs: 3\nsteps: [{name: a, model: m, prompt: p}]\n", "3"),
        ("name: x\ninputs: {a: 3}\nsteps: [{name: a, model: m, prompt: p}]\n", "3"),
        ("name: x\ninputs: {a: {default: 2020-01-01}}\nsteps: [{name: a, model: m, prompt: p}]\n",
         "2020"),
        ("name: x\nsteps: [{name: a, type: transform, function: f, input_mapping: {x: y}}]\n",
         "x: y"),
    ],
)  # fmt: skip
def test_wrong_types(text: str, target: str) -> None:
    d = only(text, "MMO006")
    assert at(d) == offset_to_line_col(text, text.index(target))


def test_group_members_must_be_a_list() -> None:
    d = only("name: x\nsteps:\n  - {name: g, type: parallel_group, sub_steps: {a: 1}}\n", "MMO006")
    assert "`sub_steps` of step `g`" in d.message


def test_unknown_step_type_lists_the_allowed_ones() -> None:
    text = "name: x\nsteps:\n  - {name: a, type: lm, model: m, prompt: p}\n"
    d = only(text, "MMO007")
    assert at(d) == offset_to_line_col(text, text.index("lm"))
    assert d.help is not None
    for allowed in ("llm", "transform", "parallel_group", "conditional"):
        assert allowed in d.help
    assert d.help.startswith("did you mean `llm`?")


def test_groups_do_not_nest() -> None:
    text = (
        "name: x\nsteps:\n  - name: g\n    type: parallel_group\n    steps:\n"
        "      - {name: h, type: parallel_group, steps: []}\n"
    )
    d = only(text, "MMO007")
    assert at(d) == offset_to_line_col(
        text, text.rindex("parallel_group")
    ) and "parallel_group" not in (d.help or "")


@pytest.mark.parametrize("value", ["5 minutes", "fast", "-", "2x"])
def test_bad_durations(value: str) -> None:
    text = f"name: x\nsteps: [{{name: a, model: m, prompt: p, timeout: '{value}'}}]\n"
    d = only(text, "MMO008")
    assert at(d) == offset_to_line_col(text, text.index("'"))


@pytest.mark.parametrize(
    "condition", ["equals:k", "key_exists:", "not_empty:", "contains:", "equals::v"]
)
def test_bad_seed_conditions(condition: str) -> None:
    text = f"name: x\nsteps: [{{name: a, model: m, prompt: p, condition: '{condition}'}}]\n"
    d = only(text, "MMO601")
    assert at(d) == offset_to_line_col(text, text.index("'"))


def test_bad_condition_of_a_conditional_step_is_one_problem() -> None:
    text = (
        "name: x\nsteps: [{name: a, type: conditional, model: m, prompt: p, condition: 'a =='}]\n"
    )
    only(text, "MMO601")


def test_duplicate_keys_and_aliases() -> None:
    found = problems(
        """\
        name: x
        steps:
          - name: a
            model: m
            prompt: p
            prompt_template: q
            model: n
            max_retries: 2
            retry: {max_retries: 3}
        """
    )
    assert sorted((d.code, at(d)) for d in found) == [
        ("MMO107", (6, 5)),
        ("MMO107", (7, 5)),
        ("MMO107", (8, 5)),
    ]


def test_all_problems_are_reported_at_once() -> None:
    found = problems(
        """\
        name: x
        colour: red
        steps:
          - {name: a, model: m}
          - {name: b, type: nope}
          - {name: c, model: m, prompt: p, timeout: soon}
        """
    )
    assert sorted(d.code for d in found) == ["MMO004", "MMO005", "MMO007", "MMO008"]


def test_unsafe_tags_are_refused_without_running_anything() -> None:
    text = "name: !!python/object/apply:os.system ['echo hi']\nsteps: []\n"
    p, diagnostics = parse_yaml(text, "evil.yaml")
    assert p is None and diagnostics
    assert diagnostics[0].code in ("MMO002", "MMO006")


def test_recursive_alias_in_a_schema() -> None:
    d = only("name: x\nsteps: [{name: a, model: m, prompt: p, schema: &s {a: *s}}]\n", "MMO006")
    assert "recursive" in d.message


def test_field_errors_do_not_hide_the_checks() -> None:
    # One run reports every problem: a bad condition and an unknown key leave a pipeline that
    # the checks still read, so the unknown dependency is reported too.
    from mmoc.driver import load_text

    text = textwrap.dedent(
        """\
        name: multi
        steps:
          - name: a
            model: mock/x
            prompt: "About {topic}"
            condition: "topic == "
            depends_on: nosuch
          - name: b
            model: mock/x
            prompt: "{a_output}"
            bogus: 1
        """
    )
    codes = sorted(d.code for d in load_text(text, "multi.yaml", ".yaml").diagnostics)
    assert codes == ["MMO004", "MMO202", "MMO601"]
