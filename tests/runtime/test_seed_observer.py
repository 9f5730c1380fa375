"""Issue 10: the earlier library's observer and trace names on mmoc's `PipelineObserver` and
trace: the run bracket (`start_pipeline` / `end_pipeline` / `current_trace`), `print_result`,
the old field names, and traces built by hand."""

from __future__ import annotations

import io
import subprocess
import sys

from mmoc import (
    Pipeline,
    PipelineExecutor,
    PipelineObserver,
    PipelineTrace,
    StepTrace,
    create_llm_step,
)
from rich.console import Console


def _pipeline() -> Pipeline:
    return Pipeline("brief", version="2.0", steps=[
        create_llm_step("ask", "gpt-4", "About {topic}", "answer"),
        create_llm_step("skip_me", "gpt-4", "Never {answer}", "unused", condition="equals:topic:z"),
    ])


def test_the_run_bracket_and_print_result_as_the_demo_app_used_them() -> None:
    out = io.StringIO()
    observer = PipelineObserver(console=Console(file=out, width=120, color_system=None))
    pipeline = _pipeline()
    observer.start_pipeline(pipeline)
    assert observer.current_trace is not None and observer.current_trace.pipeline_name == "brief"
    result = PipelineExecutor().execute(pipeline, initial_input={"topic": "tides"})
    trace = observer.end_pipeline(result)
    assert trace is result.trace and observer.current_trace is trace and trace in observer.traces
    observer.print_result(pipeline, result)
    shown = out.getvalue()
    for text in ("ask", "skip_me", "success", "skipped", "gpt-4", "Final output", "About tides"):
        assert text in shown, text


def test_a_run_trace_answers_the_old_names() -> None:
    result = PipelineExecutor().execute(_pipeline(), {"topic": "tides"})
    trace = result.trace
    assert (trace.pipeline_name, trace.pipeline_version, trace.success) == ("brief", "2.0", True)
    assert trace.total_tokens > 0 and trace.total_cost == trace.total_cost_usd
    assert trace.total_latency_ms == trace.latency_ms
    assert trace.started_at and trace.completed_at == trace.ended_at
    ask, skipped = trace.step_traces
    assert (ask.step_name, ask.model, ask.success, ask.skipped, ask.error) == (
        "ask", "gpt-4", True, False, None)
    assert ask.tokens_used == ask.input_tokens + ask.output_tokens > 0
    assert ask.cost == ask.cost_usd and ask.latency_ms >= 0
    assert (skipped.success, skipped.skipped) == (True, True)


def test_a_trace_built_by_hand_as_the_old_library_allowed() -> None:
    trace = PipelineTrace(pipeline_name="manual", pipeline_version="1.0")
    trace.add_step_trace(StepTrace(step_name="a", model="gpt-4", latency_ms=10.0,
                                   tokens_used=30, cost=0.002))
    trace.add_step_trace(StepTrace(step_name="b", model="gpt-4", latency_ms=5.0,
                                   success=False, error="boom"))
    trace.add_step_trace(StepTrace(step_name="c", skipped=True))
    trace.finalize()
    assert (trace.success, trace.total_tokens, trace.total_latency_ms) == (False, 30, 15.0)
    assert trace.total_cost == 0.002 and trace.completed_at is not None
    assert [(s.success, s.skipped) for s in trace.step_traces] == [
        (True, False), (False, False), (True, True)]
    assert "| a |" in trace.to_markdown() and '"pipeline": "manual"' in trace.to_json()
    assert PipelineTrace("named").pipeline_name == "named"


def test_a_hand_filled_bracket_without_a_run_trace_is_finalized() -> None:
    observer = PipelineObserver()
    observer.start_pipeline(_pipeline())
    assert observer.current_trace is not None
    observer.current_trace.add_step_trace(StepTrace(step_name="x", latency_ms=2.0))
    trace = observer.end_pipeline()
    assert trace is not None and trace.success and trace.total_latency_ms == 2.0


def test_print_result_says_plainly_when_rich_is_missing() -> None:
    script = (
        "import sys; sys.modules['rich'] = None\n"
        "from mmoc_runtime.observer import PipelineObserver\n"
        "try:\n    PipelineObserver().print_result('p', None)\n"
        "except ImportError as exc:\n    print('MSG', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=False)
    assert "MSG PipelineObserver.print_result needs Rich: pip install rich" in out.stdout, out.stderr
