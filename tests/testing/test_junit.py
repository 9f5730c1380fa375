"""`mmoc test --format junit` is valid JUnit XML, per the schema CI systems read
(tests/support/junit.xsd), with counts that agree with its test cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from support.cli_invoke import invoke

XSD = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"

PIPELINE = '''pipeline demo {
  input topic: str

  step research = llm mock/m {
    prompt "Research {topic}"
  } -> notes

  test passes {
    input topic = "tea"
    expect notes contains "tea"
  }

  test fails_with_hostile_text {
    input topic = "<b>&\\u0001]]>"
    expect notes == "<nope>"
  }
}
'''


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _report(tmp_path: Path, extra: str = "") -> etree._Element:
    (tmp_path / "demo.mmo").write_text(PIPELINE, encoding="utf-8")
    if extra:
        (tmp_path / "broken.mmo").write_text(extra, encoding="utf-8")
    code, out, err = invoke(["test", str(tmp_path), "--format", "junit"])
    assert code == 1, err
    return etree.fromstring(out.encode("utf-8"))


def test_the_report_is_valid_junit(tmp_path: Path, schema: etree.XMLSchema) -> None:
    root = _report(tmp_path)
    assert schema.validate(root), schema.error_log
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name", "").endswith("demo.mmo")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["passes", "fails_with_hostile_text"]
    failure = cases[1].find("failure")
    assert failure is not None
    # The control character a model echoed cannot go into XML: it is replaced, not dropped.
    assert "\ufffd" in (failure.text or "") and "<nope>" in (failure.text or "")
    assert failure.get("message", "").startswith('expect notes == "<nope>"')


def test_counts_agree_with_the_cases_and_a_broken_pipeline_is_an_error(
    tmp_path: Path, schema: etree.XMLSchema
) -> None:
    root = _report(tmp_path, extra="pipeline broken {\n  test t {\n    input x = 1\n  }\n}\n")
    assert schema.validate(root), schema.error_log
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None
                                                        for c in cases)
        assert int(suite.get("errors", "-1")) == sum(c.find("error") is not None for c in cases)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert "error[MMO905]: test `t` gives input `x`, which the pipeline does not take" in (
        error.get("message") or "")


def test_the_schema_rejects_what_ci_would_reject(schema: etree.XMLSchema) -> None:
    # The schema is not vacuous: a suite without its counts, or a case without a name, fails.
    assert not schema.validate(etree.fromstring(b'<testsuites><testsuite name="x"/></testsuites>'))
    bad_case = b'<testsuites><testsuite name="x" tests="1" failures="0" errors="0">' \
               b'<testcase/></testsuite></testsuites>'
    assert not schema.validate(etree.fromstring(bad_case))
