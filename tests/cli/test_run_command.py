"""`mmoc run`: exit codes 0/1/2, `--json` stdout, trace files, inputs, credentials, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc_runtime import default_registry

PipelineFile = Callable[[str], Path]
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["run", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def mock_calls() -> int:
    return default_registry().mock().total_calls  # type: ignore[attr-defined, no-any-return]


def test_success_prints_outputs_and_exits_0(pipeline_file: PipelineFile) -> None:
    result = invoke(str(pipeline_file("seed.yaml")), "-i", "topic=tidal power", "--mock")
    assert result.exit_code == 0, result.stderr
    assert "summary" in result.stdout and "tidal power" in result.stdout
    # the summary table goes to stderr
    assert "wall time" in result.stderr and "attempts" in result.stderr


def test_json_stdout_is_exactly_one_object(pipeline_file: PipelineFile) -> None:
    result = invoke(str(pipeline_file("seed.yaml")), "-i", "topic=tidal power", "--mock", "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    outputs = json.loads(lines[0])
    assert set(outputs) == {"research_output", "summary"}
    assert "tidal power" in outputs["summary"]


def test_trace_files_have_documented_fields(pipeline_file: PipelineFile, tmp_path: Path) -> None:
    trace_json, trace_md = tmp_path / "t.json", tmp_path / "t.md"
    result = invoke(
        str(pipeline_file("seed.yaml")), "-i", "topic=x", "--mock",
        "--trace", str(trace_json), "--trace-md", str(trace_md),
    )
    assert result.exit_code == 0, result.stderr
    trace = json.loads(trace_json.read_text())
    for field in ("schema_version", "pipeline", "version", "status", "started_at", "ended_at",
                  "latency_ms", "total_tokens", "total_cost_usd", "steps"):
        assert field in trace, field
    assert trace["pipeline"] == "research_and_summarize" and trace["status"] == "success"
    assert [s["name"] for s in trace["steps"]] == ["research", "summarize"]
    for step in trace["steps"]:
        for field in ("name", "kind", "status", "model", "model_used", "attempts",
                      "input_tokens", "output_tokens", "cost_usd", "latency_ms", "error"):
            assert field in step, field
        assert step["model"] == "gemini-2.5-flash-lite"  # the requested id, though mocked
    assert trace["total_tokens"] == sum(s["input_tokens"] + s["output_tokens"]
                                        for s in trace["steps"])
    markdown = trace_md.read_text()
    assert "research_and_summarize" in markdown and "| research |" in markdown


def test_missing_input_exits_2_naming_it_with_zero_model_calls(
    pipeline_file: PipelineFile,
) -> None:
    before = mock_calls()
    result = invoke(str(pipeline_file("typed.yaml")), "--mock")
    assert result.exit_code == 2
    assert "missing required input(s): topic, count (pass -i topic=... -i count=...)" in (
        result.stderr
    )
    assert "loud" not in result.stderr  # it has a default
    assert mock_calls() == before


def test_inputs_are_typed_from_declarations(pipeline_file: PipelineFile, tmp_path: Path) -> None:
    path = str(pipeline_file("typed.yaml"))
    result = invoke(path, "-i", "topic=owls", "-i", "count=3", "--mock", "--json")
    assert result.exit_code == 0, result.stderr
    assert "Write 3 lines about owls" in json.loads(result.stdout)["text"]
    bad = invoke(path, "-i", "topic=owls", "-i", "count=three", "--mock")
    assert bad.exit_code == 2 and "'count' is an int" in bad.stderr
    # --inputs-json gives typed values; -i overrides it
    values = tmp_path / "in.json"
    values.write_text(json.dumps({"topic": "bats", "count": 2}))
    both = invoke(path, "--inputs-json", str(values), "-i", "topic=moths", "--mock", "--json")
    assert both.exit_code == 0, both.stderr
    assert "Write 2 lines about moths" in json.loads(both.stdout)["text"]
    # a JSON value of the wrong type is caught by the runtime's input check: still exit 2
    values.write_text(json.dumps({"topic": "bats", "count": "three"}))
    before = mock_calls()
    wrong = invoke(path, "--inputs-json", str(values), "--mock")
    assert wrong.exit_code == 2 and "count" in wrong.stderr
    assert mock_calls() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "topic"], "expected KEY=VALUE"),
        (["-i", "=x"], "expected KEY=VALUE"),
        (["-i", "topc=x"], "did you mean 'topic'?"),
        (["--inputs-json", "/nonexistent/in.json"], "cannot read --inputs-json"),
        (["--no-such-flag"], "No such option"),
    ],
)
def test_usage_errors_exit_2(pipeline_file: PipelineFile, args: list[str], message: str) -> None:
    before = mock_calls()
    result = invoke(str(pipeline_file("seed.yaml")), "--mock", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert mock_calls() == before


def test_inputs_json_must_be_an_object(pipeline_file: PipelineFile, tmp_path: Path) -> None:
    bad = tmp_path / "in.json"
    bad.write_text("[1, 2]")
    result = invoke(str(pipeline_file("seed.yaml")), "--inputs-json", str(bad), "--mock")
    assert result.exit_code == 2 and "JSON object" in result.stderr
    bad.write_text("{not json")
    result = invoke(str(pipeline_file("seed.yaml")), "--inputs-json", str(bad), "--mock")
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


def test_trace_folders_are_created(pipeline_file: PipelineFile, tmp_path: Path) -> None:
    trace_json = tmp_path / "new" / "dirs" / "t.json"
    trace_md = tmp_path / "other" / "t.md"
    result = invoke(str(pipeline_file("seed.yaml")), "-i", "topic=x", "--mock",
                    "--trace", str(trace_json), "--trace-md", str(trace_md))
    assert result.exit_code == 0, result.stderr
    assert json.loads(trace_json.read_text())["pipeline"] == "research_and_summarize"
    assert "research_and_summarize" in trace_md.read_text()


def test_trace_under_a_file_is_refused_before_the_run(
    pipeline_file: PipelineFile, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    before = mock_calls()
    result = invoke(str(pipeline_file("seed.yaml")), "-i", "topic=x", "--mock",
                    "--trace", str(blocker / "sub" / "t.json"))
    assert result.exit_code == 2
    assert f"{blocker} is not a directory" in result.stderr
    assert mock_calls() == before


def test_failed_run_exits_1_naming_the_step(pipeline_file: PipelineFile, tmp_path: Path) -> None:
    trace_path = tmp_path / "fail.json"
    result = invoke(str(pipeline_file("failing.yaml")), "-i", "topic=x", "--mock", "--json",
                    "--trace", str(trace_path))
    assert result.exit_code == 1
    assert result.stdout == ""  # --json: nothing on stdout when the run failed
    assert "broken" in result.stderr and "simulated" in result.stderr
    trace = json.loads(trace_path.read_text())  # the trace is written for failed runs too
    statuses = {s["name"]: s["status"] for s in trace["steps"]}
    assert statuses == {"first": "success", "broken": "failed", "after_broken": "not_run"}


def test_missing_api_key_names_the_variable(pipeline_file: PipelineFile) -> None:
    before = mock_calls()
    result = invoke(str(pipeline_file("real.yaml")), "-i", "topic=x")
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.stderr and "ANTHROPIC_API_KEY" in result.stderr
    assert "--mock" in result.stderr
    assert mock_calls() == before
    # with --mock the same pipeline runs without keys
    assert invoke(str(pipeline_file("real.yaml")), "-i", "topic=x", "--mock").exit_code == 0


def test_compile_errors_exit_1_rendered_like_check(pipeline_file: PipelineFile) -> None:
    result = invoke(str(pipeline_file("cycle.yaml")), "--mock")
    assert result.exit_code == 1
    assert "error[MMO201]" in result.stderr and "a -> b -> a" in result.stderr


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "missing.yaml"), "--mock")
    assert result.exit_code == 1
    assert "MMO001" in result.stderr


def test_subprocess_run_plain_progress_and_no_traceback(
    pipeline_file: PipelineFile, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    ok = subprocess.run(
        [sys.executable, "-m", "mmoc", "run", str(pipeline_file("seed.yaml")),
         "-i", "topic=x", "--mock", "--json"],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["summary"]
    # stderr is not a terminal: plain progress lines, one per event
    assert "start   research" in ok.stderr and "done    summarize" in ok.stderr
    failed = subprocess.run(
        [sys.executable, "-m", "mmoc", "run", str(pipeline_file("failing.yaml")),
         "-i", "topic=x", "--mock"],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert failed.returncode == 1
    assert "broken" in failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout


def test_internal_failure_is_mmo702_and_exit_2(
    pipeline_file: PipelineFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmoc.cli.run as run_module

    def broken(*_: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(run_module, "collect_inputs", broken)
    result = invoke(str(pipeline_file("seed.yaml")), "-i", "topic=x", "--mock")
    assert result.exit_code == 2
    assert "MMO702" in result.stderr and "simulated bug" in result.stderr


def test_raising_transform_fails_the_run_not_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "h7_boom.py").write_text(
        "def boom(text: str) -> str:\n    raise ValueError('bad text')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    source = tmp_path / "boom.yaml"
    source.write_text(
        "name: boom\nsteps:\n"
        "  - name: draft\n    model: mock/x\n    prompt: 'Draft {topic}'\n    output_key: text\n"
        "  - name: explode\n    type: transform\n    function: h7_boom:boom\n"
        "    reads: [text]\n    output_key: exploded\n"
    )
    result = invoke(str(source), "-i", "topic=x", "--mock")
    assert result.exit_code == 1, result.stderr
    assert "explode" in result.stderr and "bad text" in result.stderr
