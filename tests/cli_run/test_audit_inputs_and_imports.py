"""Audit fixes for `mmoc run`: inferred inputs (condition-only keys optional, any JSON value)
and transform modules beside the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc.compile import compile_file


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
