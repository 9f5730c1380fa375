"""Pipelines for the `mmoc run` tests, written as YAML into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SEED = """\
name: research_and_summarize
version: "1.0"
description: "Research a topic and create a summary"
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research the following topic:\\n{topic}"
    output_key: research_output
  - name: summarize
    model: gemini-2.5-flash-lite
    prompt: "Summarize these findings:\\n{research_output}"
    output_key: summary
    depends_on: research
"""

TYPED = """\
name: typed
inputs:
  topic: {type: str}
  count: {type: int}
  loud: {type: bool, default: false}
steps:
  - name: write
    model: mock/w
    prompt: "Write {count} lines about {topic} (loud: {loud})"
    output_key: text
"""

FAILING = """\
name: failing
steps:
  - name: first
    model: mock/ok
    prompt: "Start {topic}"
    output_key: first_out
  - name: broken
    model: "mock/bad?fail=always&error=server_error"
    prompt: "Continue {first_out}"
    output_key: broken_out
  - name: after_broken
    model: mock/ok
    prompt: "Finish {broken_out}"
    output_key: final
"""

REAL_MODELS = """\
name: needs_keys
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello {topic}"
    output_key: a_out
  - name: b
    model: anthropic/claude-haiku-4-5
    prompt: "Again {a_out}"
    output_key: b_out
"""

CYCLE = """\
name: loop
steps:
  - name: a
    model: mock/x
    prompt: "{b_out}"
    output_key: a_out
  - name: b
    model: mock/x
    prompt: "{a_out}"
    output_key: b_out
"""

SOURCES = {
    "seed.yaml": SEED,
    "typed.yaml": TYPED,
    "failing.yaml": FAILING,
    "real.yaml": REAL_MODELS,
    "cycle.yaml": CYCLE,
}


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(name: str) -> Path:
        path = tmp_path / name
        path.write_text(SOURCES[name], encoding="utf-8")
        return path

    return write
