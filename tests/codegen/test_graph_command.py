"""`mmoc graph`: text formats, Graphviz rendering when `dot` exists, a clear message when not."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli

SOURCE = """\
name: fan
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research {topic}"
    output_key: notes
  - name: views
    type: parallel_group
    output_key: views
    steps:
      - name: pro
        model: mock/a
        prompt: "For {notes}"
        output_key: pro_view
      - name: con
        model: mock/b
        prompt: "Against {notes}"
        output_key: con_view
  - name: judge
    model: openai/gpt-4o-mini
    prompt: "Judge {views}"
    output_key: verdict
    condition: "not_empty:notes"
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "fan.yaml"
    path.write_text(SOURCE)
    return path


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["graph", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_mermaid_on_stdout(source: Path) -> None:
    result = invoke(str(source))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("flowchart TD")
    assert 'subgraph group_views["views (parallel) -#gt; views"]' in out
    assert 'step_judge["judge<br/>openai/gpt-4o-mini<br/>when notes"]' in out
    assert 'group_views -.->|"views"| step_judge' in out  # into a conditional step: dashed
    assert 'step_research -->|"notes"| step_pro' in out


def test_dot_to_a_file(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    result = invoke(str(source), "--format", "dot", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text()
    assert text.startswith('digraph "fan" {') and "subgraph cluster_group_views {" in text
    assert 'step_research [label="research\\ngemini-2.5-flash-lite"];' in text


def test_svg_without_graphviz_says_how_to_install(
    source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = invoke(str(source), "--format", "svg")
    assert result.exit_code == 2
    assert "install Graphviz" in result.stderr and "apt install graphviz" in result.stderr


def test_png_needs_an_output_file(source: Path) -> None:
    result = invoke(str(source), "--format", "png")
    assert result.exit_code == 2 and "-o" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for dot")
def test_svg_is_rendered_by_dot_from_the_dot_text(
    source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in `dot` that records its arguments and echoes its input back, so the test
    # checks what the command sends Graphviz and that the output reaches the file.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\ncat\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    out = tmp_path / "g.svg"
    result = invoke(str(source), "--format", "svg", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert (bin_dir / "args").read_text().strip() == "-Tsvg"
    assert out.read_text().startswith('digraph "fan" {')


def test_failing_dot_is_reported(
    source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text('#!/bin/sh\necho "syntax error in line 1" >&2\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = invoke(str(source), "--format", "svg")
    assert result.exit_code == 2 and "syntax error in line 1" in result.stderr


def test_pipeline_with_errors_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - name: a\n    model: mock/x\n    prompt: '{a_out}'\n"
                   "    output_key: a_out\n")
    result = invoke(str(bad))
    assert result.exit_code == 1
    assert "MMO201" in result.stderr
    assert result.stdout == ""


def test_bad_format_is_a_usage_error(source: Path) -> None:
    assert invoke(str(source), "--format", "pdf").exit_code == 2
