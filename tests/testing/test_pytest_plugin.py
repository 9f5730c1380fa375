"""The pytest plugin (`pytest11` entry point `mmoc.pytest_plugin`): `test` blocks as pytest
items, opt-in, run in-process with pytester (no subprocess)."""

from __future__ import annotations

from pathlib import Path

# Imported here, not first inside a pytester run: pytester drops the modules a run imported
# when it ends, and a later run's Cassette class would then differ from the executor's.
import mmoc_runtime.cassette
import mmoc_runtime.executor  # noqa: F401
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

PIPELINE = '''pipeline demo {
  input topic: str

  step research = llm mock/m {
    prompt "Research {topic}"
  } -> notes

  test about_tea {
    input topic = "tea"
    expect notes contains "tea"
  }

  test about_coffee {
    input topic = "coffee"
    expect notes == "Coffee."
  }
}
'''

YAML = '''name: yaml_demo
steps:
  - name: research
    model: mock/m
    prompt: Research {topic}
tests:
  - name: from_yaml
    inputs: {topic: tea}
    expect:
      - research_output contains "tea"
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".mmo", demo=PIPELINE)
    return pytester


def test_nothing_is_collected_without_opting_in(project: pytest.Pytester) -> None:
    result = project.inline_run()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_mmoc_collects_each_test_and_reports_the_diff(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--mmoc", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "demo.mmo::about_tea PASSED*",
        "demo.mmo::about_coffee FAILED*",
        "*demo.mmo:15: expect notes == \"Coffee.\"",
        "E   -Coffee.",
        "E   +[[]mock/m] Research coffee",
    ])


def test_k_selects_and_the_ini_option_opts_in(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nmmoc_tests = true\n")
    result = project.inline_run("-k", "tea")
    result.assertoutcome(passed=1, failed=0)


def test_yaml_is_collected_unless_it_has_a_mmo_twin(project: pytest.Pytester) -> None:
    project.makefile(".yaml", demo="tests: []\nnot: read\n", other=YAML)
    result = project.inline_run("--mmoc", "-k", "tea or yaml")
    result.assertoutcome(passed=2, failed=0)
    assert [r.nodeid for r in result.getreports("pytest_runtest_logreport")
            if r.when == "call"] == ["demo.mmo::about_tea", "other.yaml::from_yaml"]


def test_a_pipeline_with_errors_is_one_failing_item(pytester: pytest.Pytester) -> None:
    pytester.makefile(".mmo", bad=PIPELINE.replace("input topic = \"tea\"", "input topc = \"tea\""))
    result = pytester.runpytest_inprocess("--mmoc")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*error[[]MMO905]: test `about_tea` gives input `topc`*"])


def test_replay_mode_runs_the_shipped_tests_offline(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    source = (ROOT / "pipelines" / "research_and_summarize.mmo").read_text(encoding="utf-8")
    pytester.makefile(".mmo", research_and_summarize=source)
    cassette = ROOT / "pipelines" / "cassettes" / "research_and_summarize.jsonl"
    result = pytester.inline_run("--mmoc", "--mmoc-mode", "replay", "--mmoc-cassette",
                                 str(cassette))
    result.assertoutcome(passed=2, failed=0)


def test_replay_without_a_cassette_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--mmoc", "--mmoc-mode", "replay")
    result.stderr.fnmatch_lines(["*--mmoc-mode replay needs --mmoc-cassette PATH*"])
