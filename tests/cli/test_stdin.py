"""`-` as the path of `check`, `fmt` and `compile`: the source comes from stdin and is named
by `--stdin-filename` (whose suffix picks the language), as ruff and black do."""

from __future__ import annotations

import json

from click.testing import CliRunner
from mmoc.cli import cli

UNFORMATTED = 'pipeline t {\n  output y\n   step a = llm mock/x { prompt "hi" } -> y\n}\n'
WARNED = 'pipeline t {\n  output y\n  step a = llm gpt-9 { prompt "hi" } -> y\n}\n'


def run(args: list[str], stdin: str | bytes) -> tuple[int, str, str]:
    result = CliRunner(env={"MMOC_DEBUG": None}).invoke(cli, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_check_stdin_names_the_source_by_stdin_filename() -> None:
    code, out, _ = run(["check", "--format", "json", "-", "--stdin-filename", "p/x.mmo"], WARNED)
    found = json.loads(out)
    assert code == 0 and [(d["file"], d["code"], d["line"]) for d in found] == [
        ("p/x.mmo", "MMO401", 3)]


def test_check_stdin_suffix_picks_yaml_and_default_name_is_stdin() -> None:
    code, out, _ = run(["check", "--format", "json", "-", "--stdin-filename", "a.yaml"],
                       "name: t\nsteps: []\n")
    assert code == 1 and json.loads(out)[0]["code"] == "MMO108"
    code, out, _ = run(["check", "-"], "pipeline t {")
    assert code == 1 and "<stdin>:1:13" in out


def test_check_stdin_not_utf8_and_mixed_with_paths() -> None:
    code, out, _ = run(["check", "-"], b"pipeline \xff {}")
    assert code == 1 and "MMO001" in out and "not valid UTF-8" in out
    code, _, err = run(["check", "-", "other.mmo"], WARNED)
    assert code == 2 and "cannot be combined" in err


def test_fmt_stdin_writes_the_formatted_source_to_stdout() -> None:
    code, out, _ = run(["fmt", "-"], UNFORMATTED)
    assert code == 0 and out.startswith("pipeline t {\n  output y\n\n  step a = llm mock/x {")
    assert run(["fmt", "-"], out)[:2] == (0, out)  # idempotent
    code, out, err = run(["fmt", "--check", "-"], UNFORMATTED)
    assert (code, out) == (1, "") and "would reformat <stdin>" in err
    code, out, _ = run(["fmt", "--diff", "-", "--stdin-filename", "t.mmo"], UNFORMATTED)
    assert code == 1 and "--- t.mmo (original)" in out
    assert run(["fmt", "-"], "pipeline t {")[0] == 1


def test_compile_stdin_prints_the_module_with_the_stdin_filename_header() -> None:
    code, out, err = run(["compile", "-", "--stdin-filename", "pipes/t.mmo"], UNFORMATTED)
    assert code == 0, err
    assert "# source: 'pipes/t.mmo'" in out and "pipeline = CompiledPipeline" in out
    code, out, err = run(["compile", "-"], "pipeline t {")
    assert code == 1 and out == "" and "MMO002" in err  # diagnostics off stdout
    assert run(["compile", "--check", "-"], UNFORMATTED)[0] == 2
