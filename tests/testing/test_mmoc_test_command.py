"""`mmoc test`: modes, selection, reports and exit codes, on the mock provider (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_invoke import invoke

PIPELINE = '''pipeline demo {
  input topic: str
  output summary

  step research = llm mock/m {
    prompt "Research {topic}"
  } -> notes

  step summarize = llm mock/m {
    prompt "Summarize {notes}"
  } -> summary

  test fixed_research {
    input topic = "tea"
    reply research = "Tea is a drink."
    expect summary contains "Tea is a drink."
    expect notes == "Tea is a drink."
    expect len(summary) <= 400
    expect step research ran
    expect cost <= $0.01
    expect latency <= 1h
    expect summary judged by openai/gpt-4o-mini "mentions tea"
  }

  test wrong_summary {
    input topic = "coffee"
    expect summary == "Coffee."
    expect notes matches r"^tea"
  }
}
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "demo.mmo").write_text(PIPELINE, encoding="utf-8")
    return tmp_path


def test_a_passing_and_a_failing_test_exit_1_with_a_diff(project: Path) -> None:
    code, out, err = invoke(["test", str(project)])
    assert code == 1, err
    assert "collected 2 tests from 1 file (mode: mock)" in out
    assert "demo.mmo::fixed_research PASSED (1 not judged under --mock)" in out
    assert "demo.mmo::wrong_summary FAILED" in out
    # pytest-like: where, what was expected, and a diff of expected against actual.
    assert 'demo.mmo:27: expect summary == "Coffee."' in out
    assert "E   -Coffee." in out
    assert "E   +[mock/m] Summarize [mock/m] Research coffee" in out
    assert "demo.mmo:28: expect notes matches r\"^tea\"" in out
    assert "1 failed, 1 passed, 1 not judged" in out


def test_k_selects_tests_and_all_passing_exits_0(project: Path) -> None:
    code, out, _ = invoke(["test", str(project), "-k", "fixed and not wrong"])
    assert code == 0
    assert "collected 1 test" in out and "wrong_summary" not in out


def test_the_json_report_holds_each_expectation(project: Path) -> None:
    code, out, _ = invoke(["test", str(project), "--format", "json"])
    assert code == 1
    data = json.loads(out)
    assert data["summary"] == {"passed": 1, "failed": 1, "error": 0, "total": 2,
                               "seconds": data["summary"]["seconds"]}
    failing = data["tests"][1]
    assert failing["name"] == "wrong_summary" and failing["status"] == "failed"
    first = failing["expectations"][0]
    assert first["expect"] == 'summary == "Coffee."' and first["passed"] is False
    assert "-Coffee." in first["diff"]
    judged = data["tests"][0]["expectations"][-1]
    assert judged["skipped"] is True and judged["passed"] is True


def test_a_judge_that_says_no_fails_the_test_with_its_reason(tmp_path: Path) -> None:
    # The mock provider answers with `reply=` (percent-encoded JSON), run as a live model.
    verdict = "%7B%22pass%22%3Afalse%2C%22reason%22%3A%22it%20is%20rude%22%7D"
    source = PIPELINE.replace("openai/gpt-4o-mini", f"mock/judge?reply={verdict}")
    (tmp_path / "demo.mmo").write_text(source, encoding="utf-8")
    code, out, _ = invoke(["test", str(tmp_path), "--live", "-k", "fixed"])
    assert code == 1
    assert "judged no: it is rude" in out


def test_a_failed_step_fails_the_test_unless_expected(tmp_path: Path) -> None:
    source = PIPELINE.replace("llm mock/m {\n    prompt \"Summarize",
                              "llm mock/m?fail=always {\n    prompt \"Summarize")
    source = source.replace('    expect summary == "Coffee."\n    expect notes matches r"^tea"\n',
                            "    expect step summarize failed\n")
    (tmp_path / "demo.mmo").write_text(source, encoding="utf-8")
    code, out, _ = invoke(["test", str(tmp_path)])
    assert code == 1
    assert "demo.mmo::wrong_summary PASSED" in out  # it expects the failure
    assert "demo.mmo::fixed_research FAILED" in out
    assert "E   step 'summarize' failed" in out
    assert "`summary` was not produced: step `summarize` failed" in out


def test_a_pipeline_with_errors_is_reported_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.mmo").write_text(PIPELINE.replace("reply research", "reply reserch"),
                                      encoding="utf-8")
    code, out, err = invoke(["test", str(tmp_path)])
    assert code == 1
    assert "error[MMO901]" in err and "did you mean `research`?" in err
    assert "bad.mmo ERROR" in out


def test_a_folder_tests_the_mmo_of_twins_and_skips_sources_without_tests(tmp_path: Path) -> None:
    (tmp_path / "demo.mmo").write_text(PIPELINE, encoding="utf-8")
    (tmp_path / "demo.yaml").write_text("tests: []\nnot: a pipeline\n", encoding="utf-8")
    (tmp_path / "ci.yaml").write_text("jobs: {}\n", encoding="utf-8")  # no `tests:`: not read
    (tmp_path / "plain.mmo").write_text("pipeline p {\n}\n", encoding="utf-8")
    code, out, err = invoke(["test", str(tmp_path), "-k", "fixed"])
    assert code == 0, err
    assert "collected 1 test from 1 file" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mock", "--live"], "choose one of --mock, --live"),
        (["-k", "fixed and"], "ends too early"),
        (["-k", "nothing_matches"], "no tests found"),
        (["--replay", "missing.jsonl"], "cassette missing.jsonl"),
        (["nowhere"], "nowhere: no such file or folder"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    code, out, err = invoke(["test", *args])
    assert code == 2, (out, err)
    assert message in err
    assert "Traceback" not in err


def test_live_without_keys_is_a_usage_error_before_any_call(project: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    source = (project / "demo.mmo").read_text(encoding="utf-8")
    (project / "demo.mmo").write_text(source.replace("mock/m", "openai/gpt-4o-mini"),
                                      encoding="utf-8")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    code, _, err = invoke(["test", str(project), "--live"])
    assert code == 2
    assert "no API key for openai/gpt-4o-mini: set OPENAI_API_KEY" in err


def test_junit_xml_is_written_beside_the_text_report(project: Path) -> None:
    target = project / "reports" / "junit.xml"
    code, out, _ = invoke(["test", str(project), "--junit-xml", str(target)])
    assert code == 1 and "FAILURES" in out
    xml = target.read_text(encoding="utf-8")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert 'tests="2" failures="1" errors="0"' in xml


def test_a_transform_imports_lazily_from_its_pipeline_folder(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # As under `mmoc run`, the pipeline's folder stays importable during the run, not only
    # while the module loads: a transform may import a sibling module when it is called.
    folder = tmp_path / "pipes"
    folder.mkdir()
    (folder / "late_helper_for_tests.py").write_text("def up(t):\n    return t.upper()\n")
    (folder / "shouting_for_tests.py").write_text(
        "def shout(notes):\n    import late_helper_for_tests\n"
        "    return late_helper_for_tests.up(notes)\n")
    (folder / "p.mmo").write_text('''pipeline p {
  input topic: str
  step a = llm mock/m {
    prompt "About {topic}"
  } -> notes
  step b = transform shouting_for_tests:shout(notes) -> loud
  test t {
    input topic = "tea"
    expect loud contains "TEA"
  }
}
''', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(["test", "pipes"])
    assert code == 0, out + err


def test_tests_do_not_share_circuit_breakers(tmp_path: Path) -> None:
    # The broken tests' failures would open a shared breaker on `mock/m` (2 failures in a
    # row), and the healthy test's call to the same model would be refused: each test has
    # its own breakers.
    tests = "".join(f"""
  test broken_{i} {{
    input topic = "x"
    expect step flaky failed
  }}""" for i in range(4))
    source = f"""pipeline demo {{
  input topic: str
  breaker touchy = breaker(failures: 2, recovery: 1h)
  step flaky = llm mock/m?fail=always {{
    prompt "Research {{topic}}"
    when topic != "tea"
    breaker touchy
  }} -> notes
  step steady = llm mock/m {{
    prompt "Hello {{topic}}"
    when topic == "tea"
    breaker touchy
  }} -> greeting
{tests}
  test healthy {{
    input topic = "tea"
    expect step steady ran
  }}
}}
"""
    (tmp_path / "demo.mmo").write_text(source, encoding="utf-8")
    code, out, err = invoke(["test", str(tmp_path), "-j", "1"])
    assert code == 0, out + err


def test_tests_never_use_the_response_cache(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MMOC_CACHE_DIR", str(cache_dir))
    source = PIPELINE.replace("  output summary\n", "  output summary\n  default cache on\n")
    (tmp_path / "demo.mmo").write_text(source, encoding="utf-8")
    code, out, err = invoke(["test", str(tmp_path), "-k", "fixed"])
    assert code == 0, out + err
    assert not (cache_dir / "responses.sqlite3").exists()  # never opened, nothing stored
