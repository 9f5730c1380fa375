"""`mmoc run --data --out`: exactly once after a SIGTERM and --resume, exit codes, the summary,
plain progress lines, and limits from the command line and the project's configuration."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mmoc_runtime.limiter import Limits, default_limiters
from support.cli_invoke import invoke

SLOW = """\
pipeline slow {
  input text: str
  step a = llm mock/m?latency_ms=100 {
    prompt "say {text}"
  } -> x
}
"""

QUICK = """\
pipeline quick {
  input text: str
  step a = llm mock/m {
    prompt "say {text}"
  } -> x
}
"""


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """`mmoc run` configures the process's limiters: leave none behind for other tests."""
    yield
    default_limiters().clear()


def _rows(path: Path, count: int, bad: int | None = None) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for i in range(count):
            stream.write("oops\n" if i == bad else json.dumps({"id": f"r{i}", "text": f"t{i}"}) + "\n")
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")  # never half a line
    return [json.loads(line) for line in text.splitlines()]


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the batch did not start writing results")


def test_sigterm_then_resume_gives_every_row_exactly_once(tmp_path: Path) -> None:
    pipeline = tmp_path / "slow.mmo"
    pipeline.write_text(SLOW, encoding="utf-8")
    rows = _rows(tmp_path / "rows.jsonl", 300)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "mmoc", "run", str(pipeline), "--data", str(rows),
               "--out", str(out), "--mock", "--concurrency", "4"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_lines(out, 8, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert b"run again with --resume" in stderr
    first = _lines(out)
    assert 8 <= len(first) < 300
    assert all(line["status"] == "success" for line in first)
    assert len({line["index"] for line in first}) == len(first)

    code, _, err = invoke([*command[3:], "--resume", "--concurrency", "64"])
    assert code == 0, err
    final = _lines(out)
    assert sorted(line["index"] for line in final) == list(range(300))  # each row exactly once
    assert {line["id"] for line in final} == {f"r{i}" for i in range(300)}
    assert f"{len(first)} already done" in err


def test_a_failed_row_exits_1_and_resume_retries_only_it(tmp_path: Path) -> None:
    pipeline = tmp_path / "quick.mmo"
    pipeline.write_text(QUICK, encoding="utf-8")
    rows = _rows(tmp_path / "rows.jsonl", 5, bad=2)
    out = tmp_path / "out.jsonl"
    args = ["run", str(pipeline), "--data", str(rows), "--out", str(out), "--mock"]
    code, _, err = invoke(args)
    assert code == 1, err
    assert "5 rows run, 4 succeeded, 1 failed" in err
    assert sorted(line["index"] for line in _lines(out)) == [0, 1, 2, 3, 4]
    _rows(rows, 5)  # the bad line is fixed
    code, _, err = invoke([*args, "--resume"])
    assert code == 0, err
    assert "1 rows run, 1 succeeded, 0 failed, 4 already done" in err
    final = _lines(out)
    assert sorted(line["index"] for line in final) == [0, 1, 2, 3, 4]
    assert all(line["status"] == "success" for line in final)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_results_that_cannot_be_written_are_a_usage_error_not_a_traceback(
        tmp_path: Path) -> None:
    pipeline = tmp_path / "quick.mmo"
    pipeline.write_text(QUICK, encoding="utf-8")
    rows = _rows(tmp_path / "rows.jsonl", 3)
    code, _, err = invoke(["run", str(pipeline), "--data", str(rows), "--out", "/dev/full",
                           "--mock", "-q"])
    assert code == 2, err
    assert "--out /dev/full: cannot write: No space left on device" in err
    assert "Traceback" not in err and "MMO702" not in err


def test_max_cost_stops_the_batch_with_its_status(tmp_path: Path) -> None:
    pipeline = tmp_path / "priced.mmo"
    pipeline.write_text(QUICK.replace("mock/m", "gpt-4o?reply=ok"), encoding="utf-8")
    rows = tmp_path / "rows.jsonl"
    rows.write_text((json.dumps({"text": "x" * 40_000}) + "\n") * 20, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    # Each call: 10,001 prompt tokens at $2.50/M and 1024 output tokens allowed at $10/M,
    # estimated at $0.0352; it costs $0.0250 (a one-token reply). $0.07 admits two calls.
    code, _, err = invoke(["run", str(pipeline), "--data", str(rows), "--out", str(out),
                           "--mock", "--concurrency", "1", "--max-cost", "0.07"])
    assert code == 1
    lines = _lines(out)
    assert [line["status"] for line in lines] == ["success", "success", "budget_exceeded"]
    assert "stopped: the budget (--max-cost)" in err and "$0.050025 of $0.07 (--max-cost)" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--data", "rows.jsonl"], "--data and --out go together"),
    (["--data", "rows.jsonl", "--out", "o.jsonl", "--limit", "gpt-4o"], "MODEL=rpm:N"),
    (["--data", "rows.jsonl", "--out", "o.jsonl", "--limit", "m=rpm:-1"], "must be a number"),
    (["--data", "rows.jsonl", "--out", "o.jsonl", "-i", "text=x"], "do not go with --data"),
    (["--data", "rows.jsonl", "--out", "o.jsonl", "--json"], "do not go with --data"),
    (["--data", "missing.jsonl", "--out", "rows.jsonl"], "--data missing.jsonl: no such file"),
    (["--data", "rows.jsonl", "--out", "no/such/dir/o.jsonl"], "--out no/such/dir/o.jsonl"),
])
def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             extra: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("quick.mmo").write_text(QUICK, encoding="utf-8")
    _rows(tmp_path / "rows.jsonl", 2)
    code, _, err = invoke(["run", "quick.mmo", "--mock", *extra])
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len((tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_limits_come_from_the_project_config_and_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text(
        '[tool.mmoc.limits]\n"mock" = {rpm = 600000}\n"openai/gpt-4o" = {rpm = 5, tpm = 100}\n',
        encoding="utf-8")
    Path("quick.mmo").write_text(QUICK, encoding="utf-8")
    _rows(tmp_path / "rows.jsonl", 3)
    code, _, err = invoke(["run", "quick.mmo", "--mock", "--data", "rows.jsonl", "--out",
                           "o.jsonl", "--limit", "openai/gpt-4o=rpm:50", "--tpm", "900000"])
    assert code == 0, err
    limits = default_limiters().limits
    assert limits["openai/gpt-4o"] == Limits(rpm=50, tpm=100)  # --limit over the file
    assert limits["mock/m"] == Limits(tpm=900000)  # --tpm: each model the pipeline calls
    assert limits["mock"] == Limits(rpm=600000)
    assert default_limiters().limiter("mock") is not None
    assert default_limiters().limiter("mock").granted == 3  # type: ignore[union-attr]


def test_a_bad_limits_table_is_a_configuration_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mmoc.toml").write_text('[limits]\n"openai" = {rpm = 0}\n', encoding="utf-8")
    Path("quick.mmo").write_text(QUICK, encoding="utf-8")
    code, _, err = invoke(["run", "quick.mmo", "--mock", "-i", "text=x"])
    assert code == 2
    assert "limit `openai` takes numbers > 0" in err


def _progress_lines(tmp_path: Path, clock: Callable[[], float]) -> tuple[list[str], str]:
    from mmoc.cli import batch
    from mmoc.driver import compile_file
    from mmoc.modules import load_module
    from rich.console import Console

    source = tmp_path / "quick.mmo"
    source.write_text(QUICK, encoding="utf-8")
    module = load_module(compile_file(source).code or "", "batch_progress_case")
    stream = io.StringIO()
    console = Console(file=stream, width=200)  # not a terminal
    request = batch.BatchRequest(str(_rows(tmp_path / "rows.jsonl", 10)),
                                 str(tmp_path / "o.jsonl"), concurrency=1, mock=True)
    assert batch.run_batch_request(module, request, console, clock=clock) == 0
    text = stream.getvalue()
    return [line for line in text.splitlines() if "rows done" in line], text


def test_without_a_terminal_progress_is_a_plain_periodic_line(tmp_path: Path) -> None:
    ticks = iter(range(0, 10_000, 4))  # the clock moves 4 s each time it is read
    lines, text = _progress_lines(tmp_path, lambda: float(next(ticks)))
    assert 0 < len(lines) < 10
    shape = re.compile(r"batch: \d+ rows done, 0 failed, [\d.]+ rows/s, \d+ tokens, "
                       r"\$0\.0000, ETA \d+s")
    assert all(shape.fullmatch(line) for line in lines), lines
    assert "batch: 10 rows run, 10 succeeded, 0 failed" in text
    # A clock that does not move reaches no period: no progress line, only the summary.
    lines, text = _progress_lines(tmp_path, lambda: 0.0)
    assert lines == [] and "batch: 10 rows run" in text


def test_rows_from_stdin(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from mmoc.cli import cli

    pipeline = tmp_path / "quick.mmo"
    pipeline.write_text(QUICK, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = CliRunner().invoke(cli, ["run", str(pipeline), "--data", "-", "--out", str(out),
                                    "--mock", "-q"], input='{"text": "a"}\n{"text": "b"}\n')
    assert done.exit_code == 0, done.output
    assert sorted(line["index"] for line in _lines(out)) == [0, 1]


def test_on_a_terminal_progress_is_a_rich_bar(tmp_path: Path) -> None:
    from mmoc.cli import batch
    from mmoc.driver import compile_file
    from mmoc.modules import load_module
    from rich.console import Console

    source = tmp_path / "quick.mmo"
    source.write_text(QUICK, encoding="utf-8")
    module = load_module(compile_file(source).code or "", "batch_bar_case")
    stream = io.StringIO()
    console = Console(file=stream, width=200, force_terminal=True)
    request = batch.BatchRequest(str(_rows(tmp_path / "rows.jsonl", 3)),
                                 str(tmp_path / "o.jsonl"), mock=True)
    assert batch.run_batch_request(module, request, console) == 0
    text = stream.getvalue()
    assert "rows done" not in text  # no plain lines on a terminal
    assert "batch: 3 rows run, 3 succeeded, 0 failed" in text


def test_max_cost_on_a_single_run_refuses_the_call_and_the_trace_shows_it(
        tmp_path: Path) -> None:
    pipeline = tmp_path / "priced.mmo"
    pipeline.write_text(QUICK.replace("mock/m", "gpt-4o"), encoding="utf-8")
    trace = tmp_path / "trace.json"
    code, _, err = invoke(["run", str(pipeline), "--mock", "-i", "text=x", "--max-cost",
                           "0.001", "--trace", str(trace)])
    assert code == 1
    assert "budget" in err and "not called" in err
    data = json.loads(trace.read_text(encoding="utf-8"))
    assert data["status"] == "budget_exceeded"
    assert data["budget"] == {"limit_usd": 0.001, "spent_usd": 0.0, "calls_refused": 1}
    assert data["steps"][0]["error_kind"] == "budget_exceeded"
