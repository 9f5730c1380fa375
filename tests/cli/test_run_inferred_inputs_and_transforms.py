"""`mmoc run` with inferred inputs (condition-only keys optional, any JSON value) and with
transform modules beside the pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc.driver import compile_file


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["run", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CONDITION_ONLY = """\
name: s
steps:
  - {name: c, model: gpt-4, prompt: Hello, condition: "key_exists:flag", output_key: out}
"""


def test_key_read_only_by_a_condition_is_an_optional_input(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", CONDITION_ONLY)
    skipped = run(str(path), "--mock", "--json")
    assert skipped.exit_code == 0, skipped.stderr
    assert json.loads(skipped.stdout) == {}
    ran = run(str(path), "--mock", "--json", "-i", "flag=yes")
    assert ran.exit_code == 0, ran.stderr
    assert "out" in json.loads(ran.stdout)


def test_key_read_by_a_template_and_a_condition_stays_required(tmp_path: Path) -> None:
    text = CONDITION_ONLY.replace("prompt: Hello", 'prompt: "Hello {flag}"')
    result = run(str(write(tmp_path, "s.yaml", text)), "--mock")
    assert result.exit_code != 0
    assert "flag" in result.stderr


def test_inferred_input_takes_any_json_value(tmp_path: Path) -> None:
    text = """\
name: t
steps:
  - {name: c, model: gpt-4, prompt: "Look at {input_data}", output_key: out}
"""
    path = write(tmp_path, "t.yaml", text)
    result = run(str(path), "--mock", "--json", "-i", 'input_data={"a": [1, 2]}')
    assert result.exit_code == 0, result.stderr
    assert '{"a":[1,2]}' in json.loads(result.stdout)["out"]
    plain = run(str(path), "--mock", "--json", "-i", "input_data=just words")
    assert plain.exit_code == 0, plain.stderr
    assert "just words" in json.loads(plain.stdout)["out"]


@pytest.mark.parametrize("declared", [False, True])
def test_generated_inputs_spec(tmp_path: Path, declared: bool) -> None:
    text = CONDITION_ONLY.replace("prompt: Hello", 'prompt: "Hello {topic}"')
    if declared:
        text += "inputs:\n  topic: {type: str}\n  flag: {type: str, default: ''}\n"
    result = compile_file(write(tmp_path, "s.yaml", text))
    assert result.code is not None, result.diagnostics
    if declared:
        assert 'InputSpec(name="topic")' in result.code
    else:
        assert 'InputSpec(name="topic", type="json")' in result.code
        assert 'InputSpec(name="flag", type="json", default=None)' in result.code
        assert "flag: NotRequired[Any]" in result.code


def transform_pipeline(tmp_path: Path, function: str) -> Path:
    return write(tmp_path, "c.mmo", f"pipeline c {{\n  step t = transform {function}(topic) -> out\n}}\n")


def test_transform_module_beside_the_pipeline_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "c1_beside_lib.py", "def shout(topic):\n    return topic.upper() + '!'\n")
    monkeypatch.chdir(tmp_path.parent)  # not the pipeline's folder: its folder must be searched
    monkeypatch.delitem(sys.modules, "c1_beside_lib", raising=False)
    before = list(sys.path)
    result = run(str(transform_pipeline(tmp_path, "c1_beside_lib:shout")), "-i", "topic=hi",
                 "--mock", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"out": "HI!"}
    assert sys.path == before  # the folder is on sys.path for the run only
    sys.modules.pop("c1_beside_lib", None)


@pytest.mark.parametrize(
    ("function", "why"),
    [
        ("c1_no_such_lib:fn", "no module named `c1_no_such_lib`"),
        ("c1_present_lib:missing", "`missing` in module `c1_present_lib` does not exist"),
        ("c1_broken_lib:fn", "raised ZeroDivisionError"),
    ],
)
def test_transform_import_failure_is_a_user_error_at_the_step(
    tmp_path: Path, function: str, why: str
) -> None:
    write(tmp_path, "c1_present_lib.py", "def fn(topic):\n    return topic\n")
    write(tmp_path, "c1_broken_lib.py", "1 / 0\n")
    result = run(str(transform_pipeline(tmp_path, function)), "-i", "topic=hi", "--mock")
    for name in ("c1_present_lib", "c1_broken_lib"):
        sys.modules.pop(name, None)
    assert result.exit_code == 1, result.stderr
    assert "error[MMO703]: transform `t` cannot import" in result.stderr
    assert why in result.stderr
    assert "c.mmo:2:8" in result.stderr
    assert "MMO702" not in result.stderr and "bug" not in result.stderr


def test_a_value_json_cannot_hold_is_shown_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A transform may return anything; the output panel, --json and the trace show it as text.
    write(tmp_path, "objlib.py", "def make(t):\n    return object()\n")
    source = write(tmp_path, "o.mmo", 'pipeline o {\n  input t: str\n  step s = transform objlib:make(t) -> out\n}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("objlib", None)
    trace = tmp_path / "t.json"
    shown = run(str(source), "-i", "t=x", "--mock", "--trace", str(trace), "--capture-content")
    assert shown.exit_code == 0, shown.stderr
    assert "<object object at" in shown.stdout
    assert json.loads(trace.read_text())["status"] == "success"
