"""Code written against the earlier library keeps working with imports changed to `mmoc`:
its step class and factories, `Pipeline(steps=...)`, `validate()` as a list of messages, its
result classes, and its executor's `model_fn`, callbacks and async variant."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from mmoc import (
    AsyncPipelineExecutor,
    Pipeline,
    PipelineExecutor,
    PipelineObserver,
    PipelineResult,
    PipelineStep,
    PipelineValidationError,
    RetryStrategy,
    StepResult,
    StepType,
    ValidationMessage,
    create_conditional_step,
    create_llm_step,
    create_parallel_group,
    create_transform_step,
    ir,
    mock_model_call,
)

THREE_STEP_YAML = """\
name: brief
version: "2.1"
description: "three steps, the last reads two back"
steps:
  - name: gather
    model: gemini-2.5-flash-lite
    prompt: "Gather facts on {subject}"
    output_key: facts
    timeout_seconds: 20
  - name: condense
    model: gemini-2.0-flash
    prompt: "Condense {facts}"
    output_key: short
    depends_on: gather
  - name: publish
    model: gemini-2.5-flash-lite
    prompt: "Publish {short} citing {facts}"
    output_key: post
    depends_on: condense
"""


# ---- steps ------------------------------------------------------------------------------


def test_factory_steps_expose_the_seed_attributes() -> None:
    llm = create_llm_step("ask", "gpt-4", "Ask about {thing}", "answer", depends_on="prep",
                          timeout_seconds=12, max_retries=2, condition="not_empty:thing")
    assert llm.step_type is StepType.LLM and llm.model == "gpt-4" and type(llm.model) is str
    assert llm.prompt_template == "Ask about {thing}" and llm.depends_on == "prep"
    assert (llm.timeout_seconds, llm.max_retries) == (12.0, 2)
    assert llm.condition == "not_empty:thing"
    assert llm.validate() == []

    def shout(ctx: Any) -> str:
        return str(ctx["answer"]).upper()

    transform = create_transform_step("shout", shout)
    assert transform.step_type is StepType.TRANSFORM and transform.transform_fn is shout
    assert transform.output_key == "shout_output"

    group = create_parallel_group(name="both", sub_steps=[llm, create_llm_step("b", "gpt-4", "B")])
    assert group.step_type is StepType.PARALLEL_GROUP
    assert [s.name for s in group.sub_steps] == ["ask", "b"]
    assert group.sub_steps[0].model == "gpt-4"  # members are seed views too


def test_conditional_step_accepts_the_seed_sub_steps_list() -> None:
    inner = create_llm_step("inner", "gpt-4", "Polish {draft}", "polished")
    cond = create_conditional_step("maybe", "contains:draft:todo", [inner])
    assert cond.step_type is StepType.CONDITIONAL
    assert cond.condition == "contains:draft:todo"
    assert [s.name for s in cond.sub_steps] == ["inner"]
    assert cond.name == "maybe" and cond.output_key == "polished"
    with pytest.raises(TypeError, match="one step"):
        create_conditional_step("many", "not_empty:draft", [inner, inner])


def test_pipeline_step_constructor_builds_each_kind() -> None:
    llm = PipelineStep(name="a", model="gpt-4", prompt_template="Hi {who}")
    assert isinstance(llm, ir.LlmStep) and isinstance(llm, PipelineStep)
    assert llm.output_key == "a_output"
    transform = PipelineStep(name="t", step_type=StepType.TRANSFORM, transform_fn=len)
    assert isinstance(transform, ir.TransformStep) and transform.transform_fn is len
    group = PipelineStep(name="g", step_type="parallel_group", sub_steps=[llm])
    assert isinstance(group, ir.GroupStep) and len(group.sub_steps) == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"prompt_template": "x"}, "model is required"),
        ({"model": "gpt-4"}, "prompt_template is required"),
        ({"step_type": StepType.TRANSFORM}, "transform_fn is required"),
        ({"step_type": StepType.PARALLEL_GROUP}, "sub_steps required"),
    ],
)
def test_incomplete_step_validates_to_messages(fields: dict[str, Any], expected: str) -> None:
    errors = PipelineStep(name="s", **fields).validate()
    assert len(errors) == 1 and expected in errors[0]


def test_render_prompt_uses_the_runtime_template_rules() -> None:
    step = create_llm_step("s", "gpt-4", "Dear {user}, {{literal}} {n}", "o",
                           input_mapping={"user": "full_name"})
    # input_mapping is folded into the template, so the dependency on full_name is visible
    assert step.prompt_template == "Dear {full_name}, {{literal}} {n}"
    assert step.render_prompt({"full_name": "Ada", "n": 3}) == "Dear Ada, {literal} 3"
    with pytest.raises(ValueError, match="missing"):
        step.render_prompt({"n": 1})


def test_step_to_dict_has_the_seed_keys() -> None:
    step = create_llm_step("s", "gpt-4", "Go {x}", "out", condition="key_exists:x",
                           depends_on="before")
    d = step.to_dict()
    assert d == {"name": "s", "step_type": "llm", "output_key": "out", "model": "gpt-4",
                 "prompt": "Go {x}", "condition": "key_exists:x", "depends_on": "before"}


# ---- pipeline ---------------------------------------------------------------------------


def test_pipeline_takes_steps_and_has_seed_helpers() -> None:
    a = PipelineStep(name="a", model="gpt-4", prompt_template="A {q}", output_key="a_out")
    b = create_llm_step("b", "gpt-4", "B {a_out}", "b_out")
    p = Pipeline(name="two", steps=[a, b], description="d", metadata={"owner": "me"})
    assert len(p) == 2 and p.get_step("b") is not None and p.get_step("zzz") is None
    assert p.version == "1.0"  # the seed's default, shown...
    assert p.to_ir().version is None  # ...but not invented in the IR
    assert "two" in repr(p) and "1.0" in repr(p)
    d = p.to_dict()
    assert (d["name"], d["version"], d["metadata"]) == ("two", "1.0", {"owner": "me"})
    assert [s["name"] for s in d["steps"]] == ["a", "b"]
    assert Pipeline("x", [a]).steps[0].name == "a"  # the seed's positional order
    # to_ir gives plain IR nodes, equal to what a front end would build
    assert type(p.to_ir().steps[0]) is ir.LlmStep
    assert type(p.to_ir().steps[0].model) is ir.ModelRef


def test_validate_returns_every_error_as_a_message() -> None:
    assert Pipeline(name="ok", steps=[create_llm_step("a", "gpt-4", "A {q}")]).validate() == []
    broken = Pipeline(name="broken", steps=[
        create_llm_step("a", "mock/x", "A {b_out}", "a_out"),
        create_llm_step("b", "mock/x", "B {a_out}", "b_out"),
        create_llm_step("c", "mock/x", "C", "c_out", depends_on="nope"),
    ])
    errors = broken.validate()
    assert all(isinstance(e, str) and isinstance(e, ValidationMessage) for e in errors)
    assert {"MMO201", "MMO202"} <= {e.code for e in errors}
    assert any("nope" in e for e in errors)
    with pytest.raises(PipelineValidationError):
        broken.check()


def test_from_dict_and_yaml_round_trip(tmp_path: Path) -> None:
    p = Pipeline.from_dict({"name": "d", "version": "3", "metadata": {"k": 1},
                            "steps": [{"name": "s", "model": "gpt-4", "prompt": "Hi {x}"}]})
    assert p.metadata == {"k": 1} and p.version == "3" and p.steps[0].output_key == "s_output"
    again = Pipeline.from_yaml(p.to_yaml())
    assert again.steps[0].model == "gpt-4" and again.steps[0].prompt_template == "Hi {x}"
    with pytest.raises(ValueError, match="Invalid YAML"):
        Pipeline.from_yaml("only a string")
    path = tmp_path / "brief.yaml"
    path.write_text(THREE_STEP_YAML, encoding="utf-8")
    loaded = Pipeline.from_yaml_file(path)
    assert loaded.version == "2.1" and len(loaded) == 3
    assert loaded.steps[2].depends_on == "condense" and loaded.steps[0].timeout_seconds == 20
    assert loaded.validate() == []


# ---- results ----------------------------------------------------------------------------


def test_result_classes_have_seed_constructors_and_helpers() -> None:
    assert StepResult().success is True and StepResult().status == "success"
    failed = StepResult(success=False, step_name="b", error="boom")
    skipped = StepResult(step_name="c", skipped=True)
    assert (failed.status, skipped.status, skipped.success) == ("failed", "skipped", True)
    assert StepResult(input_tokens=3, output_tokens=4).tokens_used == 7
    result = PipelineResult(steps_results=[StepResult(step_name="a"), failed, skipped])
    assert [r.step_name for r in result.failed_steps] == ["b"]
    assert [r.step_name for r in result.successful_steps] == ["a"]
    assert [r.step_name for r in result.skipped_steps] == ["c"]
    assert result.steps_results[1] is failed and result.steps_results["b"] is failed
    assert result.steps_results.keys() == ["a", "b", "c"]
    with pytest.raises(KeyError):
        result.steps_results["zzz"]
    d = PipelineResult(total_latency_ms=12.345, total_cost=0.0000004).to_dict()
    assert d["total_latency_ms"] == 12.35 and d["success"] is True and d["steps_results"] == []


# ---- executor ---------------------------------------------------------------------------


def test_model_fn_answers_every_call_even_for_names_outside_the_catalog() -> None:
    prompts: list[tuple[str, str]] = []

    def my_model(model: str, prompt: str, ctx: dict[str, Any]) -> str:
        prompts.append((model, prompt))
        return f"<{model}>"

    p = Pipeline(name="fn", steps=[
        create_llm_step("a", "in-house-7b", "Start {topic}", "a_out"),
        create_llm_step("b", "gpt-4", "Then {a_out}", "b_out"),
    ])
    result = PipelineExecutor(model_fn=my_model).execute(p, {"topic": "tea"})
    assert result.success, result.error
    assert prompts == [("in-house-7b", "Start tea"), ("gpt-4", "Then <in-house-7b>")]
    assert result.steps_results[0].output == "<in-house-7b>" and result.final_output == "<gpt-4>"
    assert result.total_tokens > 0


def test_model_fn_failure_fails_the_run_and_retry_strategy_retries_it() -> None:
    calls = 0

    def flaky(model: str, prompt: str, ctx: dict[str, Any]) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RuntimeError("not yet")
        return "ok"

    p = Pipeline(name="flaky", steps=[create_llm_step("a", "gpt-4", "Hi")])
    failed = PipelineExecutor(model_fn=flaky).execute(p, {})
    assert not failed.success and "a" in (failed.error or "") and calls == 1

    calls = 0
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    strategy = RetryStrategy(max_retries=3, base_delay_seconds=0.5)
    retried = PipelineExecutor(model_fn=flaky, retry_strategy=strategy,
                               sleep=no_sleep).execute(p, {})
    assert retried.success, retried.error
    assert calls == 3 and len(waits) == 2


def test_step_callbacks_get_step_views_and_results() -> None:
    events: list[tuple[Any, ...]] = []
    p = Pipeline(name="cb", steps=[
        create_llm_step("one", "gpt-4", "One {x}", "o1"),
        create_llm_step("two", "gpt-4", "Two {o1}", "o2"),
        create_llm_step("never", "gpt-4", "N {x}", "o3", condition="equals:x:other"),
    ])
    executor = PipelineExecutor(
        on_step_start=lambda step: events.append(("start", step.name, step.step_type)),
        on_step_end=lambda step, res: events.append(("end", step.name, res.success)),
    )
    assert executor.execute(p, {"x": "v"}).success
    # a skipped step gets no callbacks, as before
    assert events == [("start", "one", StepType.LLM), ("end", "one", True),
                      ("start", "two", StepType.LLM), ("end", "two", True)]


def test_observer_methods_as_callbacks_attach_the_observer() -> None:
    observer = PipelineObserver()
    p = Pipeline(name="watched", steps=[create_llm_step("s", "gpt-4", "Hi {x}")])
    executor = PipelineExecutor(on_step_start=observer.on_step_start,
                                on_step_end=observer.on_step_end)
    result = executor.execute(p, {"x": "1"})
    assert result.success and len(observer.traces) == 1
    assert observer.traces[0] is result.trace
    # with seed callbacks and an observer, the observer still keeps the trace
    seen: list[str] = []
    PipelineExecutor(on_step_start=lambda s: seen.append(s.name),
                     observer=observer).execute(p, {"x": "2"})
    assert seen == ["s"] and len(observer.traces) == 2


def test_async_executor_and_mock_model_call() -> None:
    p = Pipeline(name="a", steps=[create_llm_step("s", "gpt-4", "Hello {x}", "out")])
    result = asyncio.run(AsyncPipelineExecutor().execute(p, {"x": "there"}))
    assert result.success and result.final_output
    short = mock_model_call("gpt-4", "Hello\nworld", {})
    assert short.startswith("[Mock gpt-4 response]") and "Hello world" in short
    assert mock_model_call("m", "y" * 100, {}).endswith("...'")
    via_fn = PipelineExecutor(model_fn=mock_model_call).execute(p, {"x": "there"})
    assert via_fn.final_output == "[Mock gpt-4 response] Processed: 'Hello there'"


def test_final_output_is_the_last_step_that_ran() -> None:
    p = Pipeline(name="tail", steps=[
        create_llm_step("main", "gpt-4", "Main {x}", "main_out"),
        create_llm_step("extra", "gpt-4", "Extra {main_out}", "extra_out",
                        condition="equals:x:deep"),
    ])
    shallow = PipelineExecutor().execute(p, {"x": "plain"})
    assert shallow.success and shallow.steps_results["extra"].skipped
    assert shallow.final_output == shallow.values["main_out"]
    deep = PipelineExecutor().execute(p, {"x": "deep"})
    assert deep.final_output == deep.values["extra_out"]
    assert Pipeline(name="d").description == "" and Pipeline(name="d").to_ir().description is None
