"""Builder pipelines run through the generated-code path; results carry the seed's fields."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mmoc import (
    Pipeline,
    PipelineExecutor,
    PipelineObserver,
    PipelineValidationError,
    create_conditional_step,
    create_llm_step,
    create_parallel_group,
    create_transform_step,
    ir,
)


def test_seed_python_example_runs_on_mock(seed: Callable[[], Pipeline]) -> None:
    pipeline = seed()
    result = PipelineExecutor().execute(pipeline, {"topic": "AI Safety"})
    assert result.success and result.error is None
    # analysis -> uppercase transform lambda -> summary
    analysis = result.steps_results["analyze"].output
    formatted = result.steps_results["format"].output
    assert "Analyze: AI Safety" in analysis
    assert formatted == analysis.upper()
    assert result.final_output == result.outputs["summary"]
    assert "Summarize: " + formatted in result.final_output
    assert [s.status for s in result.steps_results.values()] == ["success"] * 3
    llm_tokens = sum(result.steps_results[n].tokens_used for n in ("analyze", "summarize"))
    assert result.total_tokens == llm_tokens > 0
    # gemini-2.5-flash-lite is priced (the mock provider only stands in for the wire): the
    # total is the sum of the llm steps' costs, and not zero.
    step_costs = [result.steps_results[n].cost_usd for n in ("analyze", "format", "summarize")]
    assert step_costs[1] == 0.0 and step_costs[0] > 0 and step_costs[2] > 0
    assert result.total_cost == pytest.approx(sum(step_costs))
    # the seed's observer call hands back a trace with Markdown and JSON exports
    trace = PipelineObserver().build_trace_from_result(pipeline, result)
    markdown = trace.to_markdown()
    assert "| format | transform | Pass |" in markdown
    data = json.loads(trace.to_json())
    assert data["pipeline"] == "analysis" and len(data["steps"]) == 3


def test_ctx_transform_sees_inputs_and_every_earlier_output_read_only() -> None:
    seen: dict[str, Any] = {}

    def snapshot(ctx: Any) -> str:
        seen.update(ctx)
        with pytest.raises(TypeError):
            ctx["topic"] = "changed"  # read-only mapping
        return "ok"

    p = Pipeline("ctx")
    p.add_step(create_llm_step("one", "mock/a", "One {topic}", "first"))
    p.add_step(create_llm_step("two", "mock/a", "Two {topic}", "second"))
    p.add_step(create_transform_step("look", snapshot, "looked"))
    result = PipelineExecutor().execute(p, {"topic": "t"})
    assert result.success, result.error
    assert {"topic", "first", "second"} <= set(seen)


def test_transform_with_reads_gets_keywords() -> None:
    p = Pipeline("kw")
    p.add_step(create_llm_step("draft", "mock/a", "Draft {topic}", "text"))
    p.add_step(create_transform_step("count", lambda text: len(text), "length", reads=["text"]))
    result = PipelineExecutor().execute(p, {"topic": "t"})
    assert result.success, result.error
    assert result.outputs["length"] == len(result.outputs["text"])


def test_conditional_step_skipped_with_dependants() -> None:
    p = Pipeline("cond")
    p.add_step(create_llm_step("draft", "mock/a", "Draft {topic}", "text"))
    p.add_step(create_conditional_step(
        "polish", "equals:mode:fancy", create_llm_step("inner", "mock/a", "Polish {text}", "nice")
    ))
    p.add_step(create_llm_step("final", "mock/a", "Final {nice}", "done"))
    plain = PipelineExecutor().execute(p, {"topic": "t", "mode": "plain"})
    assert plain.success
    assert plain.steps_results["polish"].status == "skipped"
    assert plain.steps_results["final"].status == "skipped"
    fancy = PipelineExecutor().execute(p, {"topic": "t", "mode": "fancy"})
    assert fancy.steps_results["final"].status == "success"
    assert "Polish" in fancy.values["nice"]


def test_parallel_group_joins_outputs() -> None:
    p = Pipeline("fan")
    p.add_step(create_parallel_group(
        "views",
        [create_llm_step("pro", "mock/a", "For {topic}", "pro_view"),
         create_llm_step("con", "mock/b", "Against {topic}", "con_view")],
        output_key="views", concurrency=2,
    ))
    p.add_step(create_llm_step("judge", "mock/a", "Judge {views}", "verdict"))
    result = PipelineExecutor().execute(p, {"topic": "t"})
    assert result.success, result.error
    assert set(result.values["views"]) == {"pro_view", "con_view"}
    assert result.final_output == result.outputs["verdict"]


def test_failed_step_and_missing_input_are_results_not_exceptions() -> None:
    p = Pipeline("failing")
    p.add_step(create_llm_step("a", "mock/x?fail=always", "A {topic}", "a_out"))
    p.add_step(create_llm_step("b", "mock/x", "B {a_out}", "b_out"))
    failed = PipelineExecutor().execute(p, {"topic": "t"})
    assert not failed.success and failed.failed_step == "a"
    assert failed.error and "a" in failed.error
    assert failed.steps_results["b"].status == "not_run"
    assert failed.final_output is None
    missing = PipelineExecutor().execute(p, {})
    assert not missing.success and missing.error and "topic" in missing.error
    assert missing.steps_results == []


def test_invalid_pipeline_raises_with_every_diagnostic() -> None:
    p = Pipeline("bad")
    p.add_step(create_llm_step("a", "mock/x", "A {nowhere} {b_out}", "a_out"))
    p.add_step(create_llm_step("b", "mock/x", "B {a_out}", "b_out"))
    with pytest.raises(PipelineValidationError) as info:
        PipelineExecutor().execute(p, {})
    assert "MMO201" in {d.code for d in info.value.diagnostics}


def test_aexecute_and_an_observer_subclass(seed: Callable[[], Pipeline]) -> None:
    events: list[tuple[str, str]] = []

    class Recorder(PipelineObserver):
        def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
            events.append(("start", step_name))

        def on_step_end(self, step_trace: Any) -> None:
            events.append((step_trace.status, step_trace.name))

    observer = Recorder()
    result = asyncio.run(PipelineExecutor(observer=observer).aexecute(seed(),
                                                                     {"topic": "x"}))
    assert result.success
    assert events[0] == ("start", "analyze")
    assert ("success", "summarize") in events
    assert observer.last_trace is result.trace


def test_executor_reuses_the_compiled_module(seed: Callable[[], Pipeline]) -> None:
    executor = PipelineExecutor()
    p = seed()
    executor.execute(p, {"topic": "a"})
    executor.execute(p, {"topic": "b"})
    assert len(executor._modules) == 1
    p.add_step(create_llm_step("extra", "mock/x", "More {summary}", "more"))
    assert executor.execute(p, {"topic": "c"}).final_output is not None
    assert len(executor._modules) == 2


YAML = """\
name: research_and_summarize
version: "1.0"
description: "Research a topic and create a summary"
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research the following topic:\\n{topic}"
    output_key: research_output
    timeout_seconds: 60
  - name: summarize
    model: gemini-2.5-flash-lite
    prompt: "Summarize these findings:\\n{research_output}"
    output_key: summary
    depends_on: research
"""


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(YAML)
    p = Pipeline.from_yaml_file(path)
    assert p.name == "research_and_summarize" and p.version == "1.0"
    assert [s.name for s in p.steps] == ["research", "summarize"]
    again = Pipeline.from_yaml(p.to_yaml())
    assert again.to_ir().model_dump() == p.to_ir().model_dump()
    # a builder pipeline round-trips too, and runs the same
    built = Pipeline("built", version="2")
    built.add_step(create_llm_step("a", "mock/x", "A {topic}", "a_out", max_retries=2,
                                   fallback=["mock/y"], timeout=5))
    built.add_step(create_transform_step("b", "upper", "b_out", reads=["a_out"]))
    assert Pipeline.from_yaml(built.to_yaml()).to_ir().model_dump() == built.to_ir().model_dump()
    result = PipelineExecutor().execute(p, {"topic": "rivers"})
    assert result.success and "rivers" in result.final_output


def test_to_yaml_refuses_inline_callables_and_bad_yaml_raises(seed: Callable[[], Pipeline]) -> None:
    with pytest.raises(ValueError, match="format"):
        seed().to_yaml()
    with pytest.raises(PipelineValidationError):
        Pipeline.from_yaml("name: x\nsteps: 3\n")
    with pytest.raises(FileNotFoundError):
        Pipeline.from_yaml_file("/nonexistent/pipeline.yaml")


def test_ir_pipeline_is_accepted_directly(seed: Callable[[], Pipeline]) -> None:
    p = seed().to_ir()
    assert isinstance(p, ir.Pipeline)
    assert PipelineExecutor().execute(p, {"topic": "x"}).success


def test_to_python_writes_the_module_or_asks_for_an_import_path(
    seed: Callable[[], Pipeline],
) -> None:
    with pytest.raises(PipelineValidationError) as info:
        seed().to_python()
    assert [d.code for d in info.value.diagnostics] == ["MMO701"]
    assert "format" in str(info.value)
    p = Pipeline("portable")
    p.add_step(create_llm_step("a", "mock/x", "A {topic}", "a_out"))
    p.add_step(create_transform_step("b", "upper", "b_out", reads=["a_out"]))
    code = p.to_python("portable.mmo")
    assert code.startswith("# Code generated by mmoc. DO NOT EDIT.\n")
    assert "\n# source: 'portable.mmo'\n" in code
    compile(code, "portable_gen.py", "exec")  # valid Python


def test_import_path_transform_and_expression_condition() -> None:
    p = Pipeline("paths")
    p.add_step(create_llm_step("draft", "mock/a", "Draft {topic}", "text"))
    p.add_step(create_transform_step("clean", "textwrap:dedent", "clean_text", reads=["text"]))
    p.add_step(create_conditional_step(
        "long", 'len(clean_text) > 5 and mode == "full"',
        create_llm_step("inner", "mock/a", "Expand {clean_text}", "expanded"),
    ))
    full = PipelineExecutor().execute(p, {"topic": "t", "mode": "full"})
    assert full.success, full.error
    assert full.outputs["clean_text"] == full.outputs["text"]
    assert full.steps_results["long"].status == "success"
    short = PipelineExecutor().execute(p, {"topic": "t", "mode": "brief"})
    assert short.steps_results["long"].status == "skipped"
    # with no callables, the same pipeline can also be written as a module
    assert "textwrap" in p.to_python()


def test_sync_execute_inside_a_loop_points_to_aexecute(seed: Callable[[], Pipeline]) -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="aexecute"):
            PipelineExecutor().execute(seed(), {"topic": "x"})

    asyncio.run(inside())


def test_mmo_round_trip_and_from_file(tmp_path: Path, seed: Callable[[], Pipeline]) -> None:
    built = Pipeline("portable", description="two steps", version="1")
    built.add_step(create_llm_step("a", "mock/x", "A {topic}", "a_out", max_retries=2))
    built.add_step(create_transform_step("b", "upper", "b_out", reads=["a_out"]))
    text = built.to_mmo()
    assert text.startswith("pipeline portable {")
    assert Pipeline.from_mmo(text).to_ir().model_dump() == built.to_ir().model_dump()
    (tmp_path / "p.mmo").write_text(text)
    (tmp_path / "p.yaml").write_text(built.to_yaml())
    from_mmo = Pipeline.from_file(tmp_path / "p.mmo").to_ir().model_dump()
    assert from_mmo == Pipeline.from_file(tmp_path / "p.yaml").to_ir().model_dump()
    with pytest.raises(ValueError, match="as .mmo"):
        seed().to_mmo()
    with pytest.raises(PipelineValidationError):
        Pipeline.from_mmo("pipeline broken {")
