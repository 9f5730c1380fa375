"""docs/runtime.md "Building a spec by hand": the example runs, and every spec field is named."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import mmoc_runtime
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "runtime.md"
SPEC_CLASSES = ("PipelineSpec", "LlmStep", "TransformStep", "ParallelGroup", "InputSpec",
                "BreakerPolicy", "OutputFormat", "EndpointSpec")


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Building a spec by hand")
    return text[start:text.index("\n## ", start + 1)]


def test_the_hand_built_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", section(), flags=re.DOTALL)
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    result = namespace["result"]
    assert result.success  # type: ignore[attr-defined]
    assert result.outputs["reviews"]["facts"] == {"ok": True}  # type: ignore[attr-defined]
    assert result.trace.step("formal").status == "skipped"  # type: ignore[attr-defined]


@pytest.mark.parametrize("class_name", SPEC_CLASSES)
def test_every_field_is_documented(class_name: str) -> None:
    text = section()
    assert f"**`{class_name}`**" in text
    part = text[text.index(f"**`{class_name}`**"):]
    part = part[:part.index("**`", 5)] if "**`" in part[5:] else part
    for field in dataclasses.fields(getattr(mmoc_runtime, class_name)):
        assert f"`{field.name}" in part, f"{class_name}.{field.name} is not documented"


def test_trace_doc_example_has_the_fields_a_real_trace_has() -> None:
    import json

    text = (DOC.parent / "trace.md").read_text(encoding="utf-8")
    example = json.loads(re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)[0])
    spec = mmoc_runtime.PipelineSpec("p", steps=(mmoc_runtime.LlmStep("s", "mock/m", "x", "y"),))
    real = mmoc_runtime.execute_sync(spec, {}).trace.to_dict()
    assert set(example) == set(real)
    assert set(example["totals"]) == set(real["totals"])
    assert set(example["steps"][0]) == set(real["steps"][0])
    assert set(example["steps"][0]["attempts"][0]) == set(real["steps"][0]["attempts"][0])
    for field in (*real, *real["totals"], *real["steps"][0]):  # every field has a table row
        assert f"`{field}`" in text, field
