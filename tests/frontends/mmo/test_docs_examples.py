"""Every example in docs/language.md parses without a diagnostic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mmoc.frontends.mmo.parse import parse_mmo

DOC = Path(__file__).resolve().parents[3] / "docs" / "language.md"
BLOCKS = re.findall(r"```mmo\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
PIPELINE_LEVEL = {
    "version",
    "input",
    "output",
    "model",
    "provider",
    "retry",
    "breaker",
    "default",
    "step",
    "parallel",
    "description",
    "limit",
    "budget",
}


def as_file(block: str) -> str:
    first = block.split()[0]
    if first in ("pipeline", "#"):
        return block
    if first in PIPELINE_LEVEL:
        return f"pipeline doc {{\n{block}\n}}\n"
    return f"pipeline doc {{\n step s = llm m {{\n{block}\n }}\n}}\n"


EXAMPLES = [b for b in BLOCKS if "NAME" not in b]  # skip the syntax outlines


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: b.split("\n")[0][:40])
def test_example_parses(block: str) -> None:
    pipeline, diags = parse_mmo(as_file(block), "docs/language.md")
    assert diags == [], [(d.code, d.message) for d in diags]
    assert pipeline is not None


def test_triple_quote_example_means_what_the_doc_says() -> None:
    block = next(b for b in EXAMPLES if b.startswith('prompt """'))
    pipeline, _ = parse_mmo(as_file(block), "d")
    assert pipeline is not None
    assert pipeline.steps[0].prompt.value == (  # type: ignore[union-attr]
        "Compare the two texts.\n  Original: {source_text}\n  Translation: {translation}"
    )
