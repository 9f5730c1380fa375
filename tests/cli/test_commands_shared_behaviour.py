"""What the commands share: an explicitly named file the user cannot read is MMO001 (exit 1),
not a click usage error; one summary line everywhere; paths as given; fmt formats files with
semantic errors; an internal failure is MMO702 (exit 2) unless MMOC_DEBUG asks for the
traceback; outputs (`compile -o`, `convert -o`, `run --trace`) get their missing folders."""

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


# `run` takes a folder of pipelines (tests/cli/test_demo_yaml_folder.py).
@pytest.mark.parametrize("command", ["graph"])
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
    import mmoc.codegen.module

    def explode(*args: object, **kwargs: object) -> str:
        raise ValueError("simulated codegen bug")

    monkeypatch.setattr(mmoc.codegen.module, "render", explode)
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


def _break(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Make `command` hit a bug of ours (a ValueError deep inside it)."""
    import mmoc.cli.graph
    import mmoc.cli.run
    import mmoc.codegen.module

    def explode(*args: object, **kwargs: object) -> str:
        raise ValueError("simulated bug")

    target = {"compile": (mmoc.codegen.module, "render"), "run": (mmoc.cli.run, "collect_inputs"),
              "graph": (mmoc.cli.graph, "render_graph")}[command]
    monkeypatch.setattr(*target, explode)


@pytest.mark.parametrize("command", ["compile", "run", "graph"])
def test_internal_failure_is_mmo702_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.delenv("MMOC_DEBUG", raising=False)
    _break(monkeypatch, command)
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    extra = ["--mock", "-i", "topic=x"] if command == "run" else []
    result = invoke(command, str(path), *extra)
    assert result.exit_code == 2, result.output
    assert "MMO702" in result.output and "simulated bug" in result.output


@pytest.mark.parametrize("command", ["check", "run", "graph"])
def test_mmoc_debug_lets_the_traceback_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("MMOC_DEBUG", "1")
    if command == "check":
        import mmoc.cli.check

        def explode(*args: object, **kwargs: object) -> None:
            raise ValueError("simulated bug")

        monkeypatch.setattr(mmoc.cli.check, "load_path", explode)
    else:
        _break(monkeypatch, command)
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    extra = ["--mock", "-i", "topic=x"] if command == "run" else []
    result = CliRunner().invoke(cli, [command, str(path), *extra])
    assert isinstance(result.exception, ValueError), result.output
    assert str(result.exception) == "simulated bug"
    assert "MMO702" not in result.output
    # without MMOC_DEBUG, the same bug is MMO702 and the hint says how to see the traceback
    monkeypatch.delenv("MMOC_DEBUG")
    quiet = invoke(command, str(path), *extra)
    assert quiet.exit_code == 2 and "MMO702" in quiet.output
    assert "set MMOC_DEBUG=1 to see the traceback" in quiet.output


def test_compile_and_convert_create_missing_output_folders(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    module = tmp_path / "out" / "deeper" / "p_gen.py"
    compiled = invoke("compile", str(path), "-o", str(module))
    assert compiled.exit_code == 0, compiled.output
    assert "PIPELINE" in module.read_text(encoding="utf-8")
    converted_path = tmp_path / "yaml" / "dir" / "p.yaml"
    converted = invoke("convert", str(path), "-o", str(converted_path))
    assert converted.exit_code == 0, converted.output
    assert "name: p" in converted_path.read_text(encoding="utf-8")


def test_convert_under_a_file_is_a_write_error(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke("convert", str(path), "-o", str(blocker / "p.yaml"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_written_files_respect_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    path.write_text(CLEAN, encoding="utf-8")
    trace = tmp_path / "t.json"
    old = os.umask(0o077)
    try:
        assert invoke("convert", str(path), "-o", str(tmp_path / "p.yaml")).exit_code == 0
        assert invoke("compile", str(path)).exit_code == 0
        ran = invoke("run", str(path), "--mock", "-i", "topic=x", "--trace", str(trace))
        assert ran.exit_code == 0, ran.stderr
    finally:
        os.umask(old)
    for written in ("p.yaml", "p_gen.py", "t.json"):
        assert (tmp_path / written).stat().st_mode & 0o777 == 0o600, written


def test_fmt_keeps_the_mode_of_the_file_it_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "p.mmo"
    path.write_text(SEMANTIC_ERRORS_UNFORMATTED, encoding="utf-8")
    path.chmod(0o640)
    result = invoke("fmt", str(path))
    assert result.exit_code == 0, result.stderr
    assert path.read_text(encoding="utf-8") != SEMANTIC_ERRORS_UNFORMATTED  # rewritten
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_reader_that_leaves_early_is_not_an_internal_error(tmp_path: Path) -> None:
    # `mmoc check ... | head`: stdout closes under us; no traceback, no MMO702.
    import subprocess
    import sys

    bad = "pipeline p {\n  step a = llm mock/x { prompt \"{b_out}\" } -> a_out\n" \
          "  step b = llm mock/x { prompt \"{a_out}\" } -> b_out\n}\n"
    files = []
    for i in range(200):
        path = tmp_path / f"loop{i}.mmo"
        path.write_text(bad)
        files.append(str(path))
    proc = subprocess.Popen([sys.executable, "-m", "mmoc", "check", *files],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "MMO702" not in err


def test_a_fifo_is_never_read(tmp_path: Path) -> None:
    # Reading a FIFO would block forever: a folder walk skips it, a named one is MMO001.
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "p.yaml")
    (tmp_path / "ok.mmo").write_text('pipeline ok {\n  input t: str\n  step a = llm mock/x { prompt "{t}" } -> out\n}\n')
    walked = subprocess.run([sys.executable, "-m", "mmoc", "check", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert walked.returncode == 0, walked.stdout + walked.stderr
    named = subprocess.run([sys.executable, "-m", "mmoc", "check", str(tmp_path / "p.yaml")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert named.returncode == 1 and "MMO001" in named.stdout and "not a regular file" in named.stdout
