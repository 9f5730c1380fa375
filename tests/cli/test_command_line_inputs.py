"""Command-line inputs are read by one function, `mmoc_runtime.inputs.inputs_from_command_line`,
for both `mmoc run` and the generated scripts (`script_main`): the same mistakes are refused
by both, with the same words, all named at once, before any model call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc.cli import cli
from mmoc.driver import compile_file
from mmoc.modules import load_module
from mmoc_runtime import InputError, InputSpec, PipelineSpec, default_registry, script_main
from mmoc_runtime.inputs import inputs_from_command_line

ROOT = Path(__file__).resolve().parents[2]

TYPED = """\
name: typed_inputs
inputs:
  topic: {type: str}
  count: {type: int, default: 1}
  loud: {type: bool}
steps:
  - name: write
    model: mock/w
    prompt: "Write {count} lines about {topic} (loud: {loud})"
    output_key: text
"""

SPEC = PipelineSpec(
    name="typed_inputs",
    inputs=(InputSpec("topic"), InputSpec("count", "int", 1), InputSpec("loud", "bool")),
)

# (arguments, a message both command lines must print for them)
MISTAKES = [
    (["-i", "=x", "-i", "topic=t", "-i", "loud=no"], "bad -i '=x': expected KEY=VALUE"),
    (["-i", " =x", "-i", "topic=t", "-i", "loud=no"], "bad -i ' =x': expected KEY=VALUE"),
    (["-i", "topic", "-i", "loud=no"], "bad -i 'topic': expected KEY=VALUE"),
    (["-i", "topc=t", "-i", "loud=no"], "unknown input(s) 'topc' (did you mean 'topic'?)"),
    (["-i", "topic=t", "-i", "loud=no", "-i", "extra=3"],
     "unknown input(s) 'extra'; pipeline inputs: topic, count, loud"),
    (["-i", "topic=t", "-i", "loud=no", "-i", "count=three"],
     "input 'count' is an int; got 'three'"),
    (["-i", "topic=t"], "missing required input(s): loud (pass -i loud=...)"),
    (["--inputs-json", "/nonexistent/in.json", "-i", "topic=t", "-i", "loud=no"],
     "cannot read --inputs-json /nonexistent/in.json"),
]


@pytest.fixture(scope="module")
def typed_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "typed_inputs.yaml"
    path.write_text(TYPED, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def typed_pipeline(typed_source: Path) -> PipelineSpec:
    compiled = compile_file(typed_source)
    assert compiled.code is not None, compiled.diagnostics
    spec: PipelineSpec = load_module(compiled.code, "g1_typed_inputs_gen").PIPELINE
    return spec


def mock_calls() -> int:
    return default_registry().mock().total_calls  # type: ignore[attr-defined, no-any-return]


def via_run(source: Path, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", str(source), "--mock", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stderr


def via_script(
    pipeline: PipelineSpec, args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = script_main(pipeline, [*args, "--mock"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return code, captured.err


@pytest.mark.parametrize(("args", "message"), MISTAKES)
def test_both_command_lines_refuse_the_same_mistake_in_the_same_words(
    typed_source: Path,
    typed_pipeline: PipelineSpec,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    before = mock_calls()
    run_code, run_err = via_run(typed_source, args)
    script_code, script_err = via_script(typed_pipeline, args, capsys)
    assert (run_code, script_code) == (2, 2)
    assert message in run_err
    assert message in script_err
    assert mock_calls() == before  # refused before any model call


def test_every_problem_is_named_at_once(
    typed_source: Path, typed_pipeline: PipelineSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-i", "=x", "-i", "extra=3", "-i", "count=three"]
    expected = ["bad -i '=x'", "unknown input(s) 'extra'", "input 'count' is an int",
                "missing required input(s): topic, loud"]
    for code, err in (via_run(typed_source, args), via_script(typed_pipeline, args, capsys)):
        assert code == 2
        assert "error: 4 problems with the inputs:\n" in err
        listed = [line for line in err.splitlines() if line.startswith("  - ")]
        assert len(listed) == 4  # one line each
        for part, line in zip(expected, listed, strict=True):
            assert line.startswith(f"  - {part}"), (part, line)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "must hold a JSON object of input values"),
        ("{not json", "is not valid JSON"),
        ("[" * 100_000, "is not valid JSON"),  # too deep for the parser: still a usage error
        ('{"topic": "t", "loud": "perhaps"}', "input 'loud' must be true or false"),
        ('{"topic": "t", "loud": true, "extar": 1}', "unknown input(s) 'extar'"),
    ],
)
def test_inputs_json_mistakes_are_refused_by_both(
    typed_source: Path,
    typed_pipeline: PipelineSpec,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "in.json"
    path.write_text(content, encoding="utf-8")
    args = ["--inputs-json", str(path)]
    for code, err in (via_run(typed_source, args), via_script(typed_pipeline, args, capsys)):
        assert code == 2
        assert message in err


def test_both_accept_the_same_good_inputs_and_run(
    typed_source: Path, typed_pipeline: PipelineSpec, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"topic": "bats", "count": 2, "loud": False}), encoding="utf-8")
    args = ["--inputs-json", str(path), "-i", "topic=moths", "-i", "loud=yes"]
    ran = CliRunner().invoke(cli, ["run", str(typed_source), "--mock", "--json", *args])
    assert ran.exit_code == 0, ran.stderr
    assert script_main(typed_pipeline, [*args, "--mock"]) == 0
    scripted = json.loads(capsys.readouterr().out)
    for outputs in (json.loads(ran.stdout), scripted):
        assert "Write 2 lines about moths (loud: true)" in outputs["text"]


def test_a_generated_script_refuses_an_empty_key_and_an_unknown_input() -> None:
    # The review's reproduction: this used to exit 0, accepting both.
    script = ROOT / "pipelines" / "analyze_and_report_gen.py"
    done = subprocess.run(
        [sys.executable, str(script), "--mock", "-i", "=x", "-i", "input_data=y",
         "-i", "extra=3"],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "bad -i '=x'" in done.stderr and "unknown input(s) 'extra'" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr


# ---- the function itself ----------------------------------------------------------------


def test_the_result_holds_only_what_was_given_typed() -> None:
    values = inputs_from_command_line(SPEC, ["topic=42", "loud=on", "count= 7 "])
    assert values == {"topic": "42", "loud": True, "count": 7}
    assert inputs_from_command_line(SPEC, ["topic=a=b", "loud=0"]) == {"topic": "a=b",
                                                                       "loud": False}


def test_the_error_lists_what_is_missing() -> None:
    with pytest.raises(InputError) as caught:
        inputs_from_command_line(SPEC, ["count=2"])
    assert caught.value.missing == ("topic", "loud")
    # an input given as unreadable text is wrong, not missing
    with pytest.raises(InputError) as caught:
        inputs_from_command_line(SPEC, ["topic=t", "loud=maybe"])
    assert caught.value.missing == ()
    assert "missing" not in str(caught.value)


def test_a_pipeline_without_inputs_takes_none_from_the_command_line() -> None:
    with pytest.raises(InputError, match=r"unknown input\(s\) 'x'; pipeline inputs: none"):
        inputs_from_command_line(PipelineSpec(name="bare"), ["x=1"])
    assert inputs_from_command_line(PipelineSpec(name="bare")) == {}


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=4, unique=True), NAMES)
def test_a_name_the_pipeline_does_not_declare_is_always_refused(
    declared: list[str], given_name: str
) -> None:
    spec = PipelineSpec(name="p", inputs=tuple(InputSpec(name, default="") for name in declared))
    if given_name in declared:
        assert inputs_from_command_line(spec, [f"{given_name}=v"]) == {given_name: "v"}
        return
    with pytest.raises(InputError) as caught:
        inputs_from_command_line(spec, [f"{given_name}=v"])
    assert f"unknown input(s) {given_name!r}" in str(caught.value)


@settings(max_examples=100, deadline=None)
@given(st.integers(), st.integers())
def test_dash_i_overrides_the_json_file(
    tmp_path_factory: pytest.TempPathFactory, from_file: int, from_flag: int
) -> None:
    path = tmp_path_factory.getbasetemp() / "g1_override_in.json"
    path.write_text(json.dumps({"topic": "t", "loud": True, "count": from_file}))
    assert inputs_from_command_line(SPEC, [], str(path))["count"] == from_file
    assert inputs_from_command_line(SPEC, [f"count={from_flag}"], str(path))["count"] == from_flag

