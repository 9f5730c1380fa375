"""`mmoc check`, `explain`, `fmt` and `convert` through click's CliRunner (plus one real
subprocess): exit codes, output formats, escaping, SARIF structure, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmoc.cli import cli
from mmoc.diagnostics.codes import CODES
from mmoc.diagnostics.model import Diagnostic
from mmoc.diagnostics.render import render_github
from mmoc.source import Span

ROOT = Path(__file__).resolve().parents[2]
GOOD = """pipeline good {
  input topic
  step research = llm openai/gpt-4o-mini { prompt "Research {topic}" } -> notes
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {notes}" } -> summary
}
"""
CYCLE = """pipeline loop {
  step a = llm openai/gpt-4o-mini { prompt "A {b_out}" } -> a_out
  step b = llm openai/gpt-4o-mini { prompt "B {a_out}" } -> b_out
}
"""
WARN = """pipeline warn {
  input topic
  step a = llm openai/gpt-4o-mni { prompt "About {topic}" } -> notes
}
"""


def run(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Invoke the CLI in `cwd` (display paths are relative to it); (exit code, out, err)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "good.mmo").write_text(GOOD)
    (tmp_path / "loop.mmo").write_text(CYCLE)
    (tmp_path / "warn.mmo").write_text(WARN)
    return tmp_path


def test_clean_file_exits_0(work: Path) -> None:
    code, out, _ = run(["check", "good.mmo"], work)
    assert code == 0 and "All checks passed" in out


def test_error_exits_1_with_rendered_text(work: Path) -> None:
    code, out, _ = run(["check", "loop.mmo", "good.mmo"], work)
    assert code == 1
    assert "error[MMO201]: dependency cycle: a -> b -> a" in out
    assert " --> loop.mmo:2:8" in out and "found 1 error in 2 files" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_warning_exits_0_unless_strict(work: Path) -> None:
    assert run(["check", "warn.mmo"], work)[0] == 0
    assert run(["check", "--strict", "warn.mmo"], work)[0] == 1


def test_folder_is_searched(work: Path) -> None:
    (work / "sub").mkdir()
    (work / "sub" / "x.yaml").write_text("name: x\nsteps:\n  - name: a\n    model: gpt-4o\n"
                                         "    prompt: hi {topic}\n")
    (work / ".hidden").mkdir()
    (work / ".hidden" / "bad.mmo").write_text("garbage")
    code, out, _ = run(["check", "--format", "json", "."], work)
    files = {d["file"] for d in json.loads(out)}
    assert files == {"loop.mmo", "warn.mmo"} and code == 1


def test_json_fields(work: Path) -> None:
    code, out, _ = run(["check", "--format", "json", "loop.mmo", "good.mmo"], work)
    data = json.loads(out)
    assert code == 1 and isinstance(data, list) and len(data) == 1
    d = data[0]
    assert {"code", "slug", "severity", "message", "file", "line", "column", "end_line",
            "end_column", "help"} <= set(d)
    assert (d["code"], d["slug"], d["severity"]) == ("MMO201", "dependency-cycle", "error")
    assert (d["file"], d["line"], d["column"], d["end_line"], d["end_column"]) == (
        "loop.mmo", 2, 8, 2, 9)
    assert d["labels"][0]["line"] == 3


def test_json_is_an_empty_array_when_clean(work: Path) -> None:
    code, out, _ = run(["check", "--format", "json", "good.mmo"], work)
    assert code == 0 and json.loads(out) == []


def test_github_format(work: Path) -> None:
    code, out, _ = run(["check", "--format", "github", "loop.mmo"], work)
    assert code == 1
    assert out.startswith("::error file=loop.mmo,line=2,col=8,endLine=2,endColumn=9,"
                          "title=MMO201 dependency-cycle::dependency cycle: a -> b -> a%0Ahelp: ")


def test_github_escaping() -> None:
    d = Diagnostic("MMO301", "100% bad: a,b\r\nnext", Span.point("dir,x/a:b.mmo", 3, 4),
                   help=None)
    line = render_github([d])
    assert line == ("::error file=dir%2Cx/a%3Ab.mmo,line=3,col=4,endLine=3,endColumn=5,"
                    "title=MMO301 missing-key::100%25 bad: a,b%0D%0Anext\n")
    warn = Diagnostic("MMO401", "w", None)
    assert render_github([warn]) == "::warning title=MMO401 unknown-model::w\n"


def test_sarif_structure(work: Path) -> None:
    code, out, _ = run(["check", "--format", "sarif", "loop.mmo", "warn.mmo"], work)
    log = json.loads(out)
    assert code == 1 and log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run_,) = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert run_["tool"]["driver"]["name"] == "mmoc"
    assert [r["id"] for r in rules] == sorted(CODES)
    results = run_["results"]
    assert {r["ruleId"] for r in results} == {"MMO201", "MMO401"}
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] in (
            "loop.mmo", "warn.mmo")


def test_sarif_uris_are_percent_encoded(work: Path) -> None:
    (work / "my pipe é.mmo").write_text(CYCLE)
    _, out, _ = run(["check", "--format", "sarif", "my pipe é.mmo", str(work / "loop.mmo")],
                    work)
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]
                 for r in json.loads(out)["runs"][0]["results"]]
    assert {"uri": "my%20pipe%20%C3%A9.mmo", "uriBaseId": "%SRCROOT%"} in locations


def test_unreadable_and_non_utf8_files(work: Path) -> None:
    (work / "latin.mmo").write_bytes(b"pipeline x {\n  # caf\xe9\n}\n")
    code, out, _ = run(["check", "--format", "json", "missing.mmo", "latin.mmo"], work)
    data = json.loads(out)
    assert code == 1 and [d["code"] for d in data] == ["MMO001", "MMO001"]
    latin = next(d for d in data if d["file"] == "latin.mmo")
    assert (latin["line"], latin["column"]) == (2, 8)  # the byte after `  # caf`


def test_a_byte_order_mark_is_not_part_of_the_source(work: Path) -> None:
    # Some Windows editors start UTF-8 files with a BOM; line 1's columns must not shift.
    (work / "bom.mmo").write_bytes("\ufeff".encode() + b"pipeline 9lives {\n}\n")
    (work / "bom.yaml").write_bytes(b"\xef\xbb\xbfbogus: 1\nname: x\nsteps: []\n")
    code, out, _ = run(["check", "--format", "json", "bom.mmo", "bom.yaml"], work)
    found = [(d["file"], d["code"], d["line"], d["column"]) for d in json.loads(out)]
    assert code == 1
    assert ("bom.mmo", "MMO002", 1, 10) in found
    assert ("bom.yaml", "MMO004", 1, 1) in found


def test_wrong_suffix_is_a_diagnostic(work: Path) -> None:
    (work / "notes.txt").write_text("hello")
    code, out, _ = run(["check", "notes.txt"], work)
    assert code == 1 and "MMO001" in out


def test_usage_errors_exit_2(work: Path) -> None:
    assert run(["check", "--format", "xml", "good.mmo"], work)[0] == 2
    assert run(["check", "--nope", "good.mmo"], work)[0] == 2


def test_explain_by_code_number_and_slug(work: Path) -> None:
    for query in ("MMO201", "mmo201", "201", "dependency-cycle"):
        code, out, _ = run(["explain", query], work)
        assert code == 0 and out.startswith("MMO201 dependency-cycle (error)")
        assert "Example" in out
    assert run(["explain", "MMO999"], work)[0] == 2


def test_fmt_check_diff_and_write(work: Path) -> None:
    ugly = "pipeline   x {\n  # keep me\n step a = llm openai/gpt-4o-mini { prompt \"Hi\" } -> b }\n"
    (work / "ugly.mmo").write_text(ugly)
    code, out, _ = run(["fmt", "--check", "ugly.mmo"], work)
    assert code == 1 and (work / "ugly.mmo").read_text() == ugly
    code, out, _ = run(["fmt", "--diff", "ugly.mmo"], work)
    assert code == 1 and "-pipeline   x {" in out and "+pipeline x {" in out
    assert run(["fmt", "ugly.mmo"], work)[0] == 0
    formatted = (work / "ugly.mmo").read_text()
    assert formatted != ugly and "# keep me" in formatted
    assert run(["fmt", "--check", "ugly.mmo"], work)[0] == 0  # idempotent


def test_fmt_formats_files_with_check_errors(work: Path) -> None:
    # A cycle is a check error, not a parse error: fmt formats the file (layout only).
    code, _, _ = run(["fmt", "loop.mmo"], work)
    assert code == 0
    assert run(["fmt", "--check", "loop.mmo"], work)[0] == 0
    assert run(["check", "loop.mmo"], work)[0] == 1


def test_convert_round_trip(work: Path) -> None:
    assert run(["convert", "good.mmo", "-o", "good.yaml"], work)[0] == 0
    assert "name: good" in (work / "good.yaml").read_text()
    assert run(["convert", "good.yaml", "-o", "back.mmo"], work)[0] == 0
    assert run(["check", "back.mmo"], work)[0] == 0
    code, out, _ = run(["convert", "good.yaml", "-o", "-", "--to", "mmo"], work)
    assert code == 0 and out == (work / "back.mmo").read_text()
    assert run(["convert", "good.mmo", "-o", "out.txt"], work)[0] == 2
    assert run(["convert", "loop.mmo", "-o", "loop.yaml"], work)[0] == 1
    assert not (work / "loop.yaml").exists()


def test_seed_pipelines_check_clean() -> None:
    files = sorted(str(p) for p in (ROOT / "pipelines").glob("*.yaml"))
    files += sorted(str(p) for p in (ROOT / "pipelines").glob("*.mmo"))
    assert files, "the seed pipelines are missing"
    code, out, _ = run(["check", "--strict", *files], ROOT)
    assert code == 0, out


def test_subprocess_exit_code_and_no_traceback(work: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mmoc", "check", "loop.mmo", "nowhere.yaml"],
                          cwd=work, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "MMO201" in proc.stdout and "MMO001" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_internal_failure_is_mmo702_and_exit_2(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmoc.cli.check as check_module

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(check_module, "load_path", explode)
    code, out, err = run(["check", "good.mmo"], work)
    assert code == 2
    assert "MMO702" in err and "kaboom" in err and "Traceback" not in out + err


def test_colour_when_forced(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    code, out, _ = run(["check", "loop.mmo"], work)
    assert code == 1 and "\x1b[" in out and "MMO201" in out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(["check", "loop.mmo"], work)[1]


def test_a_file_named_twice_is_checked_once(work: Path) -> None:
    code, out, _ = run(["check", "--format", "json", "loop.mmo", "./loop.mmo", "."], work)
    assert code == 1 and [d["code"] for d in json.loads(out)] == ["MMO201", "MMO401"]
