"""Audit fixes for the commands' shared behaviour: an explicitly named file the user cannot
read is MMO001 (exit 1), not a click usage error; one summary line everywhere; paths as given;
fmt formats files with semantic errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli

CLEAN = """\
pipeline p {
  step a = llm mock/m {
    prompt "Hello {topic}"
  } -> out
}
"""


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize("command", ["check", "compile", "run", "graph", "fmt"])
def test_unreadable_file_is_left_to_the_loader_not_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Tests run as root, where permissions do not stop reading: make click's os.access probe
    # say "unreadable" and check the command does not turn that into a usage error (exit 2).
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(path)
                        else real_access(p, mode, **kw))
    extra = ["--mock", "-i", "topic=x"] if command == "run" else []
    result = invoke(command, str(path), *extra)
    assert result.exit_code in (0, 1), result.output
    assert "not readable" not in result.output + result.stderr


@pytest.mark.parametrize("command", ["run", "graph"])
def test_a_directory_named_as_the_file_is_mmo001(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "dir.mmo"
    folder.mkdir()
    result = invoke(command, str(folder))
    assert result.exit_code == 1, result.output
    assert "error[MMO001]: cannot read" in result.stderr


BROKEN = """\
name: s
steps:
  - {name: a, model: mock/m, prompt: "{b_out}", output_key: a_out}
  - {name: b, model: mock/m, prompt: "{a_out}", output_key: b_out}
  - {name: c, model: mock/m, prompt: "{nowhere_at_all", output_key: c_out}
"""


@pytest.mark.parametrize("command", ["check", "compile", "run", "graph"])
def test_every_command_ends_with_checks_summary(tmp_path: Path, command: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke(command, str(path))
    assert result.exit_code == 1, result.output
    last = (result.stdout + result.stderr).strip().splitlines()[-1]
    assert last.startswith("found ") and last.endswith(" in 1 file"), last


def test_compile_internal_failure_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmoc.codegen  # noqa: PLC0415

    def explode(*args: object, **kwargs: object) -> str:
        raise ValueError("simulated codegen bug")

    monkeypatch.setattr(mmoc.codegen, "render", explode)
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    result = invoke("compile", str(path))
    assert "MMO702" in result.output
    assert result.exit_code == 2
    assert not (tmp_path / "p_gen.py").exists()


def test_graph_shows_an_absolute_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke("graph", str(path))
    assert f"--> {path.as_posix()}:" in result.stderr
    assert "../" not in result.stderr


SEMANTIC_ERRORS_UNFORMATTED = """\
pipeline   p {
  input topic: str
  step a = llm mock/m {   prompt "About {topic} and {missing_key}" } -> out
}
"""


def test_fmt_formats_a_file_with_check_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    path.write_text(SEMANTIC_ERRORS_UNFORMATTED, encoding="utf-8")
    assert invoke("check", str(path)).exit_code == 1  # it does have check errors
    result = invoke("fmt", str(path))
    assert result.exit_code == 0, result.stderr
    formatted = path.read_text(encoding="utf-8")
    assert formatted != SEMANTIC_ERRORS_UNFORMATTED and "pipeline p {" in formatted
    assert "error[" not in result.stderr
    assert invoke("fmt", "--check", str(path)).exit_code == 0  # now canonical


def test_fmt_still_refuses_a_file_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    broken = "pipeline p {\n  step a = llm mock/m {\n    prompt \"x\"\n  -> out\n}\n"
    path.write_text(broken, encoding="utf-8")
    result = invoke("fmt", str(path))
    assert result.exit_code == 1
    assert "MMO002" in result.stderr
    assert path.read_text(encoding="utf-8") == broken
