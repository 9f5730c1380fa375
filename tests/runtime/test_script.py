"""`mmoc_runtime.script`: the command line generated modules delegate to, and the one
text-to-typed-input conversion (`parse_input_text`) that it and `mmoc run -i` share; how it
reads and writes special files (`mmoc_runtime.files`) and a stdout it cannot write."""

from __future__ import annotations

import errno
import json
import math
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime import InputSpec, LlmStep, PipelineSpec, parse_input_text, script_main
from mmoc_runtime.files import read_regular_file

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


# ---- special files and a stdout that cannot be written (a real process each) ------------

SCRIPT = """\
import sys
from mmoc_runtime import InputSpec, LlmStep, PipelineSpec, script_main

PIPELINE = PipelineSpec(
    name="scripted",
    inputs=(InputSpec(name="topic"),),
    steps=(LlmStep(name="write", model="mock/x", prompt="About {topic}", output_key="text"),),
)
sys.exit(script_main(PIPELINE))
"""


def _script(folder: Path, *argv: str, shell_tail: str = "",
            stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """Run a pipeline script in `folder` (a subprocess with a timeout: the bugs were hangs)."""
    script = folder / "pipeline_gen.py"
    script.write_text(SCRIPT, encoding="utf-8")
    command = " ".join(shlex.quote(part) for part in (sys.executable, str(script), *argv))
    done = subprocess.run(["sh", "-c", f"exec {command} {shell_tail}"], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60, check=False,
                          cwd=folder)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize(("special", "kind"), [("fifo.json", "a FIFO"),
                                               ("/dev/zero", "a character device")])
def test_script_inputs_json_that_is_not_a_regular_file_is_refused_unread(
    tmp_path: Path, special: str, kind: str
) -> None:
    if special == "fifo.json":
        os.mkfifo(tmp_path / special)
    done = _script(tmp_path, "--mock", "-i", "topic=x", "--inputs-json", special)
    assert done.returncode == 2
    assert f"cannot read --inputs-json {special}: it is {kind}, not a regular file" in done.stderr


def test_read_regular_file_reads_at_most_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_bytes(b"x" * 11)
    assert read_regular_file(path, limit=11) == b"x" * 11
    with pytest.raises(OSError) as caught:
        read_regular_file(path, limit=10)
    assert caught.value.errno == errno.EFBIG
    assert caught.value.strerror == "larger than 10 bytes, the most mmoc reads"


def test_script_trace_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "t.json").symlink_to("kept.json")
    done = _script(tmp_path, "--mock", "-i", "topic=x", "--trace", "t.json")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.json").is_symlink()
    assert json.loads((tmp_path / "kept.json").read_text())["pipeline"] == "scripted"


def test_script_trace_into_a_fifo_nobody_reads_is_an_error_not_a_wait(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "t.fifo")
    done = _script(tmp_path, "--mock", "-i", "topic=x", "--trace", "t.fifo")
    assert done.returncode == 2
    assert done.stderr == (
        "error: cannot write --trace t.fifo: it is a FIFO that no process is reading\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_script_trace_into_a_character_device_leaves_it_a_device(tmp_path: Path) -> None:
    null = tmp_path / "null"  # /dev/null's twin: as root, `--trace /dev/null` replaced it
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    done = _script(tmp_path, "--mock", "-i", "topic=x", "--trace", "null")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


@pytest.mark.parametrize(("redirect", "reason"), [(">/dev/full", "No space left on device"),
                                                  (">&-", "Bad file descriptor")])
def test_script_stdout_that_cannot_be_written_is_an_io_error(
    tmp_path: Path, redirect: str, reason: str
) -> None:
    done = _script(tmp_path, "--mock", "-i", "topic=x", shell_tail=redirect, stdout=None)
    assert done.returncode == 2
    assert done.stderr == f"error: cannot write to standard output: {reason}\n"
