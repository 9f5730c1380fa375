"""--mock routing of ids written for real providers, and float inputs JSON cannot hold."""

from __future__ import annotations

import pytest
from mmoc_runtime import InputError, InputSpec, LlmStep, PipelineSpec, execute_sync
from mmoc_runtime.inputs import parse_input_text


def test_options_meant_for_a_real_provider_do_not_break_a_mock_run() -> None:
    spec = PipelineSpec(name="q", steps=(LlmStep("s", "openai/gpt-4o?temperature=0", "hi", "out"),))
    result = execute_sync(spec, {}, mock=True)
    assert result.success, result.error
    assert result.trace.step("s").model == "openai/gpt-4o?temperature=0"  # kept as requested


def test_mock_options_still_reach_the_mock_from_a_real_provider_id() -> None:
    spec = PipelineSpec(name="q", steps=(LlmStep("s", "openai/gpt-4o?reply=fixed", "hi", "out"),))
    assert execute_sync(spec, {}, mock=True).values["out"] == "fixed"


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_a_float_input_must_be_finite(text: str) -> None:
    with pytest.raises(ValueError):
        parse_input_text(InputSpec("f", type="float"), text)
    spec = PipelineSpec(name="f", inputs=(InputSpec("f", type="float"),))
    with pytest.raises(InputError):
        execute_sync(spec, {"f": float(text)})
