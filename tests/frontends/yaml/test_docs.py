"""The examples in docs/yaml.md parse as the document says they do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mmoc.frontends.yaml.parse import parse_yaml

DOC = Path(__file__).parents[3] / "docs" / "yaml.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
ONE_STEP = "steps: [{name: s, model: m, prompt: p}]\n"


def as_pipeline(block: str) -> list[str]:
    """Each example as a whole pipeline: sections get a name and a step, steps a pipeline."""
    if block.startswith("name:"):
        return [block]
    if block.startswith("- "):
        return ["name: x\nsteps:\n" + "".join(f"  {line}\n" for line in block.splitlines())]
    if block.startswith("condition:"):
        return [
            f"name: x\nsteps:\n  - name: a\n    model: m\n    prompt: p\n    {line}\n"
            for line in block.splitlines()
        ]
    return ["name: x\n" + block + ONE_STEP]


def test_the_document_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.splitlines()[0][:30])
def test_example_parses_clean(block: str) -> None:
    for text in as_pipeline(block):
        p, diagnostics = parse_yaml(text, "docs/yaml.md")
        assert diagnostics == [], [d.message for d in diagnostics]
        assert p is not None
