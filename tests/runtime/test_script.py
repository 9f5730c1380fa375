"""`mmoc_runtime.script`: the command line generated modules delegate to, and the one
text-to-typed-input conversion (`parse_input_text`) that it and `mmoc run -i` share."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime import InputSpec, LlmStep, PipelineSpec, parse_input_text, script_main

COUNT = InputSpec(name="count", type="int")
RATIO = InputSpec(name="ratio", type="float")
LOUD = InputSpec(name="loud", type="bool")
DATA = InputSpec(name="data", type="json")
TOPIC = InputSpec(name="topic")


def _pipeline(model: str = "mock/x") -> PipelineSpec:
    return PipelineSpec(
        name="scripted",
        description="a pipeline run from the command line",
        inputs=(TOPIC, InputSpec(name="count", type="int", default=1), LOUD),
        outputs=("text",),
        steps=(
            LlmStep(
                name="write",
                model=model,
                prompt="Write {count} lines about {topic}, loud={loud}",
                output_key="text",
            ),
        ),
    )


def _run(
    capsys: pytest.CaptureFixture[str], *argv: str, model: str = "mock/x"
) -> tuple[int, str, str]:
    code = script_main(_pipeline(model), list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- parse_input_text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (COUNT, "3", 3),
        (COUNT, " -12 ", -12),
        (RATIO, "2.5", 2.5),
        (RATIO, "4", 4.0),
        (LOUD, "true", True),
        (LOUD, "Yes", True),
        (LOUD, "on", True),
        (LOUD, "1", True),
        (LOUD, "FALSE", False),
        (LOUD, "no", False),
        (LOUD, " off ", False),
        (LOUD, "0", False),
        (DATA, '{"k": [1, 2]}', {"k": [1, 2]}),
        (DATA, "[1, null]", [1, None]),
        (DATA, "7", 7),
        (DATA, "hello", "hello"),  # a bare word is the string the user did not quote
        (TOPIC, "42", "42"),  # str keeps the text, even when it reads as a number
        (TOPIC, " spaced ", " spaced "),
        (None, "anything=1", "anything=1"),  # an undeclared input keeps its text
    ],
)
def test_parse_input_text_converts_to_the_declared_type(
    spec: InputSpec | None, text: str, expected: object
) -> None:
    value = parse_input_text(spec, text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        (COUNT, "three", "input 'count' is an int; got 'three'"),
        (COUNT, "2.5", "input 'count' is an int; got '2.5'"),
        (RATIO, "x", "input 'ratio' is a float; got 'x'"),
        (LOUD, "maybe", "input 'loud' is a bool (true/false); got 'maybe'"),
        (LOUD, "", "input 'loud' is a bool (true/false); got ''"),
    ],
)
def test_parse_input_text_names_the_input_and_type_of_a_bad_value(
    spec: InputSpec, text: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_input_text(spec, text)
    assert str(caught.value) == message


@settings(max_examples=100, deadline=None)
@given(st.integers())
def test_any_int_round_trips_through_its_text(n: int) -> None:
    assert parse_input_text(COUNT, str(n)) == n


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_round_trips_through_its_repr(x: float) -> None:
    value = parse_input_text(RATIO, repr(x))
    assert value == x and math.copysign(1.0, value) == math.copysign(1.0, x)


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                               max_size=3),
    max_leaves=8,
))
def test_any_json_value_round_trips_through_its_text(value: object) -> None:
    assert parse_input_text(DATA, json.dumps(value)) == value


# ---- main -------------------------------------------------------------------------------


def test_success_prints_the_outputs_as_one_json_object(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace.json"
    code, out, err = _run(
        capsys, "-i", "topic=owls", "--input", "count=3", "-i", "loud=yes", "--mock",
        "--trace", str(trace),
    )
    assert code == 0, err
    outputs = json.loads(out)
    assert list(outputs) == ["text"]
    # "yes" became the bool True (templates write bools as true/false)
    assert "Write 3 lines about owls, loud=true" in outputs["text"]
    assert json.loads(trace.read_text(encoding="utf-8"))["pipeline"] == "scripted"


def test_inputs_json_gives_typed_values_and_input_overrides_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = tmp_path / "in.json"
    values.write_text(json.dumps({"topic": "bats", "count": 2, "loud": False}))
    code, out, err = _run(capsys, "--inputs-json", str(values), "-i", "topic=moths", "--mock")
    assert code == 0, err
    assert "Write 2 lines about moths, loud=false" in json.loads(out)["text"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-i", "topic=x", "-i", "count=three", "-i", "loud=1"],
         "input 'count' is an int; got 'three'"),
        (["-i", "topic=x", "-i", "loud=maybe"], "input 'loud' is a bool (true/false)"),
        (["-i", "topic", "-i", "loud=1"], "bad -i 'topic': expected KEY=VALUE"),
        (["-i", "=x", "-i", "topic=x", "-i", "loud=1"], "bad -i '=x': expected KEY=VALUE"),
        (["-i", "topic=x", "-i", "loud=1", "-i", "extra=3"],
         "unknown input(s) 'extra'; pipeline inputs: topic, count, loud"),
        (["-i", "topc=x", "-i", "loud=1"], "unknown input(s) 'topc' (did you mean 'topic'?)"),
        (["--inputs-json", "/nonexistent/in.json"], "--inputs-json /nonexistent/in.json"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = _run(capsys, *argv, "--mock")
    assert code == 2
    assert message in err
    assert "usage:" in err and "Traceback" not in err
    assert out == ""


def test_inputs_json_must_be_a_json_object(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "in.json"
    bad.write_text("[1, 2]")
    code, _, err = _run(capsys, "--inputs-json", str(bad), "--mock")
    assert code == 2 and f"--inputs-json {bad} must hold a JSON object" in err
    bad.write_text("{not json")
    code, _, err = _run(capsys, "--inputs-json", str(bad), "--mock")
    assert code == 2 and f"--inputs-json {bad} is not valid JSON" in err


def test_missing_input_exits_2_before_any_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "-i", "topic=x", "--mock")
    assert code == 2
    assert "error: missing required input(s): loud (pass -i loud=...)" in err
    assert "usage:" in err and "Traceback" not in err
    assert out == ""


def test_failing_step_exits_1_naming_the_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "-i", "topic=x", "-i", "loud=no",
                          model="mock/x?fail=always")
    assert code == 1
    assert err.startswith("error: step 'write' failed: ")
    assert err.count("failed:") == 1  # the step is named once, not twice
    assert out == ""


def test_missing_api_key_suggests_mock(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, out, err = _run(capsys, "-i", "topic=x", "-i", "loud=no", model="openai/gpt-4o")
    assert code == 1 and out == ""
    assert "OPENAI_API_KEY" in err and "--mock" in err


def test_failing_run_still_writes_its_trace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "t.json"
    code, _, _ = _run(capsys, "-i", "topic=x", "-i", "loud=no", "--trace", str(trace),
                      model="mock/x?fail=always")
    assert code == 1
    assert json.loads(trace.read_text(encoding="utf-8"))["pipeline"] == "scripted"


def test_trace_folders_are_created(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dirs" / "t.json"
    code, _, err = _run(capsys, "-i", "topic=x", "-i", "loud=no", "--mock", "--trace",
                        str(target))
    assert code == 0, err
    assert json.loads(target.read_text(encoding="utf-8"))["pipeline"] == "scripted"


def test_unwritable_trace_exits_2_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "t.json"
    code, _, err = _run(capsys, "-i", "topic=x", "-i", "loud=no", "--mock", "--trace",
                        str(target))
    assert code == 2
    assert f"cannot write --trace {target}" in err and "Traceback" not in err


def test_help_exits_0_and_shows_the_pipeline_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    assert "a pipeline run from the command line" in out and "--inputs-json" in out
