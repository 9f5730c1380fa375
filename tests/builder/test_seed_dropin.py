"""Issue 10: the earlier library's code runs with only its imports changed to `mmoc`.

One scenario per break the issue lists, through the public names: string step fields, the
`initial_input=` keyword, a parallel group's default output key, `condition: ''`, and the
validation wording its users match on. (The observer and trace names: tests/runtime.)
"""

from __future__ import annotations

import asyncio
import json

from mmoc import (
    AsyncPipelineExecutor,
    Pipeline,
    PipelineExecutor,
    PipelineStep,
    create_conditional_step,
    create_llm_step,
    create_parallel_group,
)


def test_step_model_is_a_plain_str() -> None:
    step = create_llm_step("ask", "gpt-4", "Ask {q}")
    assert type(step.model) is str
    assert step.model.upper() == "GPT-4" and len(step.model) == 5
    assert "gpt" in step.model and step.model + "!" == "gpt-4!"
    assert json.dumps({"model": step.model}) == '{"model": "gpt-4"}'
    assert type(PipelineStep(name="b", model="gpt-4", prompt_template="x").model) is str
    group = create_parallel_group("g", [step])
    assert type(group.sub_steps[0].model) is str
    # The IR is untouched: the pipeline still compiles and checks as before.
    assert Pipeline("p", steps=[step]).to_ir().steps[0].model.id == "gpt-4"  # type: ignore[union-attr]
    assert Pipeline.from_yaml(
        "name: y\nsteps:\n  - name: a\n    model: gpt-4\n    prompt: hi\n"
    ).steps[0].model == "gpt-4"


def test_execute_accepts_the_seed_initial_input_keyword() -> None:
    pipeline = Pipeline("p", steps=[create_llm_step("ask", "gpt-4", "About {topic}", "answer")])
    result = PipelineExecutor().execute(pipeline, initial_input={"topic": "tides"})
    assert result.success and "About tides" in str(result.outputs["answer"])
    done = asyncio.run(AsyncPipelineExecutor().execute(pipeline, initial_input={"topic": "x"}))
    assert done.success
    again = asyncio.run(PipelineExecutor().aexecute(pipeline, initial_input={"topic": "y"}))
    assert again.success


def _group_then_reader(output_key: str | None) -> Pipeline:
    members = [create_llm_step("a", "gpt-4", "A {x}"), create_llm_step("b", "gpt-4", "B {x}")]
    return Pipeline("g", steps=[
        create_parallel_group("par", members, output_key=output_key),
        create_llm_step("c", "gpt-4", "C {par_output}", "c_out", depends_on="par"),
    ])


def test_a_parallel_group_stores_its_result_under_name_output() -> None:
    pipeline = _group_then_reader(None)
    assert pipeline.steps[0].output_key == "par_output"
    assert pipeline.validate() == []
    result = PipelineExecutor().execute(pipeline, {"x": 1})
    assert result.success, result.error
    assert set(result.values["par_output"]) == {"a_output", "b_output"}
    grouped = Pipeline.from_yaml(
        "name: y\nsteps:\n  - name: par\n    type: parallel_group\n    steps:\n"
        "      - {name: a, model: gpt-4, prompt: 'A {x}'}\n"
    )
    assert grouped.steps[0].output_key == "par_output"
    twin = Pipeline.from_mmo(
        'pipeline y {\n  parallel par {\n    step a = llm gpt-4 { prompt "A {x}" }\n  }\n}\n'
    )
    assert grouped.to_ir().model_dump() == twin.to_ir().model_dump()  # spans aside


def test_reading_a_group_default_key_it_does_not_have_fails_validate() -> None:
    errors = _group_then_reader("both").validate()
    assert [e.code for e in errors] == ["MMO303"]
    assert "`par_output`" in errors[0] and "`both`" in errors[0]


def test_an_empty_condition_is_no_condition() -> None:
    inner = create_llm_step("inner", "gpt-4", "Hi {x}")
    assert create_llm_step("s", "gpt-4", "Hi {x}", condition="").when is None
    assert create_conditional_step("maybe", "", inner).when is None
    loaded = Pipeline.from_yaml(
        "name: y\nsteps:\n  - name: a\n    model: gpt-4\n    prompt: hi\n    condition: ''\n"
    )
    assert loaded.validate() == [] and loaded.steps[0].when is None


def test_validation_keeps_the_seed_wording() -> None:
    assert any("Pipeline must have at least one step" in e for e in Pipeline("empty").validate())
    twice = Pipeline("p", steps=[create_llm_step("a", "gpt-4", "x", "o1"),
                                 create_llm_step("a", "gpt-4", "y", "o2")])
    assert any("Duplicate step name" in e for e in twice.validate())


SEED_WITH_METADATA = """\
name: meta
version: "1.0"
metadata:
  owner: data-team
  tags: [a, b]
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research {topic}"
"""


def test_yaml_metadata_is_kept_round_tripped_and_traced() -> None:
    pipeline = Pipeline.from_yaml(SEED_WITH_METADATA)
    expected = {"owner": "data-team", "tags": ["a", "b"]}
    assert pipeline.metadata == expected and pipeline.to_ir().metadata == expected
    assert Pipeline.from_yaml(pipeline.to_yaml()).metadata == expected
    twin = Pipeline.from_mmo(pipeline.to_mmo())
    assert 'metadata {"owner": "data-team", "tags": ["a", "b"]}' in pipeline.to_mmo()
    assert twin.to_ir().model_dump() == pipeline.to_ir().model_dump()
    assert Pipeline.from_dict(pipeline.to_dict()).metadata == expected
    result = PipelineExecutor().execute(pipeline, {"topic": "tides"})
    assert result.trace.metadata == expected and result.trace.to_dict()["metadata"] == expected


def test_metadata_that_is_not_a_mapping_is_a_diagnostic() -> None:
    from mmoc.driver import load_text

    loaded = load_text("name: m\nmetadata: [1]\nsteps: []\n", "m.yaml", ".yaml", checks=False)
    assert [d.code for d in loaded.errors] == ["MMO006"]
