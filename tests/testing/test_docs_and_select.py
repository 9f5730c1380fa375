"""docs/testing.md's examples are clean pipelines, and `-k` reads pytest's keyword expressions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mmoc.driver import load_text
from mmoc.frontends.yaml.printer import print_yaml
from mmoc.testing.select import PatternError, check_pattern, matches

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
TEXT = DOC.read_text(encoding="utf-8")


def test_the_mmo_example_checks_clean() -> None:
    (block,) = re.findall(r"```mmo\n(.*?)```", TEXT, flags=re.DOTALL)
    result = load_text(block, "docs/testing.md", ".mmo")
    assert result.diagnostics == [] and result.pipeline is not None
    assert len(result.pipeline.tests[0].expectations) == 7


def test_the_yaml_example_is_a_clean_tests_section_of_the_same_pipeline() -> None:
    (mmo,) = re.findall(r"```mmo\n(.*?)```", TEXT, flags=re.DOTALL)
    (tests,) = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.DOTALL)
    pipeline = load_text(mmo, "t.mmo", ".mmo").pipeline
    assert pipeline is not None
    header = print_yaml(pipeline.model_copy(update={"tests": ()}))
    result = load_text(header + tests, "t.yaml", ".yaml")
    assert result.diagnostics == [] and result.pipeline is not None
    assert [e.kind for e in result.pipeline.tests[0].expectations] == [
        "value", "matches", "schema", "judged"]


@pytest.mark.parametrize(
    ("pattern", "test_id", "expected"),
    [
        ("tea", "p/demo.mmo::About_Tea", True),  # a substring, any case
        ("tea and not coffee", "demo.mmo::tea", True),
        ("tea and not coffee", "demo.mmo::tea_coffee", False),
        ("(a or b) and c", "x::bc", True),
        ("(a or b) and c", "x::c", False),
        ("not (a or b)", "x::c", True),
        ("demo.mmo::", "demo.mmo::t", True),  # the file part of the id matches too
    ],
)
def test_k_expressions(pattern: str, test_id: str, expected: bool) -> None:
    assert matches(pattern, test_id) is expected


@pytest.mark.parametrize("pattern", ["a and", "(a", "a )", "or a", "a b"])
def test_k_expressions_that_do_not_parse(pattern: str) -> None:
    with pytest.raises(PatternError):
        check_pattern(pattern)
