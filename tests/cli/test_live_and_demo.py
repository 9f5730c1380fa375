"""The live view (terminal and plain modes), the summary table, and `python -m mmoc.demo`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from mmoc.cli.demo import example_inputs, find_sources, main
from mmoc.cli.live import LiveView, summary_table
from mmoc_runtime import (
    InputSpec,
    LlmStep,
    PipelineSpec,
    RetryStrategy,
    execute_sync,
)
from rich.console import Console


async def _no_sleep(_: float) -> None:
    return None


def _spec() -> PipelineSpec:
    return PipelineSpec(
        name="viewed",
        inputs=(InputSpec("topic"),),
        steps=(
            LlmStep("flaky", "mock/f?fail_first=1&error=rate_limit", "Go {topic}", "a",
                    retry=RetryStrategy(max_retries=2, base_delay_seconds=0.5)),
            LlmStep("never", "mock/x", "No {a}", "b", when=lambda v: False, when_text="false"),
            LlmStep("broken", "mock/x?fail=always&error=bad_request", "Bad {a}", "c"),
        ),
    )


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=160, color_system=None), buffer


def test_plain_mode_prints_one_line_per_event() -> None:
    console, buffer = _console(terminal=False)
    view = LiveView(console)
    result = execute_sync(_spec(), {"topic": "t"}, observer=view, sleep=_no_sleep)
    assert not result.success
    text = buffer.getvalue()
    assert "run viewed: 3 step(s)" in text
    assert "start   flaky" in text
    assert "retry   flaky: attempt 2 after 500 ms" in text
    assert "done    flaky" in text
    assert "skipped never" in text
    assert "failed  broken" in text
    assert "run failed in" in text
    assert view.rows["flaky"].state == "success"
    assert view.rows["never"].state == "skipped"
    assert view.rows["broken"].state == "failed"


def test_terminal_mode_draws_a_live_table() -> None:
    console, buffer = _console(terminal=True)
    view = LiveView(console)
    execute_sync(_spec(), {"topic": "t"}, observer=view, sleep=_no_sleep)
    assert view._live is None  # stopped at the end of the run
    text = buffer.getvalue()
    for word in ("step", "state", "flaky", "done", "skipped", "failed"):
        assert word in text
    assert "start   flaky" not in text  # no plain lines on a terminal


def test_quiet_view_prints_nothing() -> None:
    console, buffer = _console(terminal=False)
    execute_sync(_spec(), {"topic": "t"}, observer=LiveView(console, quiet=True), sleep=_no_sleep)
    assert buffer.getvalue() == ""


def test_summary_table_counts() -> None:
    result = execute_sync(_spec(), {"topic": "t"}, sleep=_no_sleep)
    console, buffer = _console(terminal=False)
    console.print(summary_table(result.trace))
    text = buffer.getvalue()
    assert "viewed: failed" in text
    assert "3 (1 done, 1 failed, 1 skipped)" in text
    assert "3 (1 retries)" in text  # two attempts of flaky + one of broken
    assert f"{result.trace.total_tokens} (" in text


MMO_OK = """pipeline tiny {
  input topic: str
  step write = llm mock/w {
    prompt "Write about {topic}"
  } -> text
}
"""


def test_demo_runs_each_pipeline_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tiny.mmo").write_text(MMO_OK)
    assert find_sources([str(tmp_path)]) == [tmp_path / "tiny.mmo"]
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no checked-in tiny_gen.py" in out
    assert "Write about the economics of offshore wind power" in out
    assert "tiny: success" in out
    assert "ok" in out and "Traceback" not in out


def test_demo_fails_when_a_pipeline_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.mmo").write_text(MMO_OK.replace("mock/w", "mock/w?fail=always"))
    (tmp_path / "cycle.mmo").write_text(
        'pipeline c {\n  step a = llm mock/x { prompt "{b}" } -> a_out\n'
        '  step b = llm mock/x { prompt "{a_out}" } -> b\n}\n'
    )
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "does not compile" in out and "run failed" in out


def test_example_inputs_cover_required_inputs_only() -> None:
    spec = PipelineSpec(name="p", inputs=(InputSpec("topic"), InputSpec("n", "int"),
                                          InputSpec("opt", default="x")))
    assert example_inputs(spec) == {
        "topic": "the economics of offshore wind power", "n": "3",
    }
