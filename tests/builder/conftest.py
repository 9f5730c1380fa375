"""The seed README's Python example, shared by the builder tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mmoc import Pipeline, create_llm_step, create_transform_step


def seed_pipeline() -> Pipeline:
    """The seed README's Python example, verbatim in shape."""
    pipeline = Pipeline(name="analysis", description="Analyze and summarize")
    pipeline.add_step(
        create_llm_step(
            name="analyze",
            model="gemini-2.5-flash-lite",
            prompt_template="Analyze: {topic}",
            output_key="analysis",
        )
    )
    pipeline.add_step(
        create_transform_step(
            name="format",
            transform_fn=lambda ctx: ctx["analysis"].upper(),
            output_key="formatted",
        )
    )
    pipeline.add_step(
        create_llm_step(
            name="summarize",
            model="gemini-2.5-flash-lite",
            prompt_template="Summarize: {formatted}",
            output_key="summary",
            depends_on="format",
        )
    )
    return pipeline


@pytest.fixture
def seed() -> Callable[[], Pipeline]:
    return seed_pipeline
