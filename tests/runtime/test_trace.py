"""Trace shape: one entry per step, statuses, totals, JSON schema, Markdown, observer events."""

from __future__ import annotations

import json
from typing import Any

from mmoc_runtime import (
    InputSpec,
    LlmStep,
    MockProvider,
    ParallelGroup,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    StepTrace,
    Trace,
    TransformStep,
    execute_sync,
)
from support.fakes import FakeTime

RUN_KEYS = {"schema_version", "run_id", "pipeline", "version", "status", "mock", "started_at",
            "ended_at", "latency_ms", "error", "failed_step", "metadata", "total_input_tokens",
            "total_output_tokens", "total_tokens", "total_cost_usd", "cost_estimated", "totals",
            "steps"}
STEP_KEYS = {"name", "kind", "group", "status", "model", "model_used", "when", "skip_reason",
             "attempts", "retries", "fallback_used", "breaker_state", "input_tokens",
             "output_tokens", "cached_input_tokens", "tokens_estimated", "cost_usd", "cost_estimated", "start_ms",
             "latency_ms", "ttft_ms", "reply_source", "cost_saved_usd", "error_kind", "error",
             "prompt", "system", "output"}
ATTEMPT_KEYS = {"number", "model", "status", "wait_before_ms", "latency_ms", "ttft_ms",
                "error_kind", "error", "input_tokens", "output_tokens", "cached_input_tokens",
                "reply_source"}


def boom() -> str:
    raise RuntimeError("transform exploded")


def mixed_spec() -> PipelineSpec:
    return PipelineSpec("mixed", version="2.0", inputs=(InputSpec("topic"),), steps=(
        LlmStep("research", "mock/r?latency_ms=10", "Research {topic}", "research"),
        ParallelGroup("views", (
            LlmStep("pro", "mock/p", "Pro: {research}", "pro"),
            LlmStep("con", "mock/c", "Con: {research}", "con"),
            TransformStep("broken", boom, "broken"),
        ), output_key="views"),
        LlmStep("verdict", "mock/v", "Decide: {views}", "verdict"),
        LlmStep("maybe", "mock/m", "x", "maybe", when=lambda v: False, when_text="never"),
        TransformStep("after_maybe", lambda maybe: maybe, "am", reads=("maybe",)),
        LlmStep("side", "mock/s", "Side note on {topic}", "side"),
    ))


def run_mixed(**options: Any) -> Any:
    registry = ProviderRegistry()
    fake = FakeTime()
    registry.register("mock", MockProvider(sleep=fake.sleep))
    return execute_sync(mixed_spec(), {"topic": "bees"}, providers=registry, sleep=fake.sleep,
                        clock=fake.clock, now=lambda: 1_700_000_000.0, **options)


def test_one_entry_per_step_with_the_right_statuses() -> None:
    result = run_mixed()
    trace = result.trace
    assert [(s.name, s.kind, s.group, s.status) for s in trace.steps] == [
        ("research", "llm", None, "success"),
        ("views", "group", None, "failed"),
        ("pro", "llm", "views", "success"),
        ("con", "llm", "views", "success"),
        ("broken", "transform", "views", "failed"),
        ("verdict", "llm", None, "not_run"),
        ("maybe", "llm", None, "skipped"),
        ("after_maybe", "transform", None, "skipped"),
        ("side", "llm", None, "success"),
    ]
    assert trace.status == "failed" and trace.failed_step == "broken"
    assert result.failed_steps == ("broken", "views")
    assert trace.step("verdict").skip_reason == "dependency 'views' failed"
    assert trace.step("maybe").when == "never"
    assert trace.step("views").error == "member 'broken' failed: transform exploded"


def test_totals_equal_the_sums_over_steps() -> None:
    trace = run_mixed().trace
    data = trace.to_dict()
    steps = data["steps"]
    assert data["total_input_tokens"] == sum(s["input_tokens"] for s in steps) > 0
    assert data["total_output_tokens"] == sum(s["output_tokens"] for s in steps) > 0
    assert data["total_tokens"] == data["total_input_tokens"] + data["total_output_tokens"]
    assert data["total_cost_usd"] == sum(s["cost_usd"] for s in steps)
    group = next(s for s in steps if s["kind"] == "group")
    assert group["input_tokens"] == 0  # members carry the tokens: nothing counted twice


def test_json_schema_fields_and_times() -> None:
    result = run_mixed()
    data = json.loads(result.trace.to_json())
    assert set(data) == RUN_KEYS and data["schema_version"] == 1
    assert (data["pipeline"], data["version"], data["status"]) == ("mixed", "2.0", "failed")
    assert data["started_at"] == data["ended_at"] == "2023-11-14T22:13:20.000Z"
    assert data["latency_ms"] == 10.0  # the run's wall time on the fake clock, not a sum
    for step in data["steps"]:
        assert set(step) == STEP_KEYS
        for attempt in step["attempts"]:
            assert set(attempt) == ATTEMPT_KEYS
    research = data["steps"][0]
    assert research["latency_ms"] == 10.0 and research["start_ms"] == 0.0
    assert research["attempts"][0]["latency_ms"] == 10.0
    assert research["prompt"] is None and research["output"] is None


def test_markdown_has_a_table_and_an_error_section() -> None:
    text = run_mixed().trace.to_markdown()
    assert "| research | llm | Pass |" in text
    assert "| views / broken | transform | Fail |" in text
    assert "| maybe | llm | Skipped |" in text and "| verdict | llm | Not run |" in text
    assert "## Errors" in text and "### broken" in text and "transform exploded" in text


def test_observer_callbacks_in_order() -> None:
    events: list[tuple[str, ...]] = []

    class Recorder(PipelineObserver):
        def on_run_start(self, trace: Trace) -> None:
            events.append(("run_start", str(len(trace.steps))))

        def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
            events.append(("start", step_name, kind, str(model)))

        def on_step_end(self, step_trace: StepTrace) -> None:
            events.append(("end", step_trace.name, step_trace.status))

        def on_run_end(self, trace: Trace) -> None:
            events.append(("run_end", trace.status))

    observer = Recorder()
    result = run_mixed(observer=observer)
    assert events[0] == ("run_start", "9") and events[-1] == ("run_end", "failed")
    ended = [e[1] for e in events if e[0] == "end"]
    assert sorted(ended) == sorted(s.name for s in result.trace.steps)  # each step once
    assert ("start", "research", "llm", "mock/r?latency_ms=10") in events
    assert events.index(("end", "research", "success")) < events.index(
        ("start", "pro", "llm", "mock/p"))
    assert list(observer.traces) == [result.trace]
    assert observer.build_trace_from_result(mixed_spec(), result) is result.trace


def test_an_observer_keeps_only_its_latest_traces() -> None:
    class Short(PipelineObserver):
        max_traces = 3

    spec = PipelineSpec("tiny", steps=(TransformStep("t", lambda: "x", "out"),))
    observer = Short()
    results = [execute_sync(spec, {}, observer=observer) for _ in range(5)]
    assert list(observer.traces) == [r.trace for r in results[2:]]  # the oldest two dropped
    assert observer.last_trace is results[-1].trace
    assert PipelineObserver().traces.maxlen == 100  # the documented default


def test_another_objects_traces_list_is_left_alone() -> None:
    class Watcher:  # duck-typed observer that happens to have a `traces` list of its own
        def __init__(self) -> None:
            self.traces: list[Any] = []
            self.ended: list[Trace] = []

        def on_run_end(self, trace: Trace) -> None:
            self.ended.append(trace)

    spec = PipelineSpec("tiny", steps=(TransformStep("t", lambda: "x", "out"),))
    watcher = Watcher()
    result = execute_sync(spec, {}, observer=watcher)
    assert watcher.traces == [] and watcher.ended == [result.trace]


def test_a_raising_observer_does_not_fail_the_run() -> None:
    class Broken(PipelineObserver):
        def on_step_end(self, step_trace: StepTrace) -> None:
            raise ValueError("ui bug")

    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = execute_sync(PipelineSpec("p", steps=(
            TransformStep("t", lambda: 1, "t"),)), {}, observer=Broken())
    assert result.success and any("ui bug" in str(w.message) for w in caught)


def test_outputs_are_the_declared_ones_or_every_produced_key() -> None:
    steps = (TransformStep("a", lambda: 1, "a"), TransformStep("b", lambda a: a + 1, "b",
                                                                reads=("a",)))
    declared = execute_sync(PipelineSpec("d", outputs=("b",), steps=steps), {"extra": "x"})
    assert declared.outputs == {"b": 2}
    assert declared.values == {"extra": "x", "a": 1, "b": 2}
    everything = execute_sync(PipelineSpec("e", steps=steps), {"extra": "x"})
    assert everything.outputs == {"a": 1, "b": 2}


def test_raise_for_status() -> None:
    import pytest
    from mmoc_runtime import PipelineFailed

    result = run_mixed()
    with pytest.raises(PipelineFailed) as info:
        result.raise_for_status()
    assert info.value.result is result and "broken" in str(info.value)
    ok = execute_sync(PipelineSpec("ok", steps=(TransformStep("a", lambda: 1, "a"),)), {})
    assert ok.raise_for_status() is ok
