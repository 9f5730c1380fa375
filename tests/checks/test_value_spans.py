"""Issue 15: a bad temperature, timeout, retry number or breaker field is reported at the
value itself (not at the step name or the whole policy), from both front ends; the spans
stay out of `model_dump()`."""

from __future__ import annotations

import pytest
from mmoc.driver import load_text


def _located(text: str, suffix: str) -> dict[str, tuple[int, int, int]]:
    """Each diagnostic's message start -> (line, column, end column)."""
    result = load_text(text, f"t{suffix}", suffix)
    return {
        d.message: (d.span.line, d.span.column, d.span.end_column)
        for d in result.diagnostics
        if d.span is not None
    }


MMO = """pipeline demo {
  retry patient = exponential(max_retries: -2, base: 30s, max: 5s, jitter: some)
  breaker guard = breaker(failures: 0, recovery: 0s, trials: 0)
  default timeout 0s
  step a = llm openai/gpt-4o-mini {
    prompt "hi"
    temperature 2.5
    max_tokens 0
    timeout 0s
    retry patient
    breaker guard
  }
  parallel g (concurrency: 0) {
    step b = llm openai/gpt-4o-mini { prompt "x" }
  }
}
"""

# (message fragment, line, column, end column) of the value in MMO.
MMO_WHERE = [
    ("max_retries of retry policy `patient`", 2, 44, 46),
    ("the max delay of retry policy `patient` (5s)", 2, 64, 66),
    ("jitter of retry policy `patient`", 2, 76, 80),
    ("the failure threshold of breaker `guard`", 3, 37, 38),
    ("the recovery timeout of breaker `guard`", 3, 50, 52),
    ("half_open_max_calls of breaker `guard`", 3, 62, 63),
    ("the timeout of the pipeline default", 4, 19, 21),
    ("the temperature of step `a`", 7, 17, 20),
    ("max_tokens of step `a`", 8, 16, 17),
    ("the timeout of step `a`", 9, 13, 15),
    ("the concurrency of parallel group `g`", 13, 28, 29),
]


@pytest.mark.parametrize(("fragment", "line", "column", "end"), MMO_WHERE)
def test_mmo_reports_a_bad_value_at_the_value(
    fragment: str, line: int, column: int, end: int
) -> None:
    found = _located(MMO, ".mmo")
    (where,) = [at for message, at in found.items() if message.startswith(fragment)]
    assert where == (line, column, end)


YAML = """name: demo
retry_policies:
  patient:
    max_retries: -2
    base_delay_seconds: 30
    max_delay_seconds: 5
    backoff: linear
breaker_policies:
  guard:
    failure_threshold: 0
    recovery_timeout_seconds: 0
defaults:
  timeout_seconds: 0
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: hi
    temperature: 2.5
    max_tokens: 0
    timeout_seconds: 0
    retry: patient
    breaker: guard
  - name: g
    type: parallel_group
    concurrency: 0
    steps:
      - name: b
        model: openai/gpt-4o-mini
        prompt: x
  - name: c
    model: openai/gpt-4o-mini
    prompt: x
    max_retries: 500
"""

YAML_WHERE = [
    ("max_retries of retry policy `patient`", 4, 18, 20),
    ("the max delay of retry policy `patient` (5s)", 6, 24, 25),
    ("backoff of retry policy `patient`", 7, 14, 20),
    ("the failure threshold of breaker `guard`", 10, 24, 25),
    ("the recovery timeout of breaker `guard`", 11, 31, 32),
    ("the timeout of the pipeline default", 13, 20, 21),
    ("the temperature of step `a`", 18, 18, 21),
    ("max_tokens of step `a`", 19, 17, 18),
    ("the timeout of step `a`", 20, 22, 23),
    ("the concurrency of parallel group `g`", 25, 18, 19),
    ("max_retries of the retry policy of step `c`", 33, 18, 21),
]


@pytest.mark.parametrize(("fragment", "line", "column", "end"), YAML_WHERE)
def test_yaml_reports_a_bad_value_at_the_value(
    fragment: str, line: int, column: int, end: int
) -> None:
    found = _located(YAML, ".yaml")
    (where,) = [at for message, at in found.items() if message.startswith(fragment)]
    assert where == (line, column, end)


def test_fallback_entries_are_reported_at_the_entry() -> None:
    text = (
        "pipeline demo {\n  step a = llm openai/gpt-4o-mini {\n    prompt \"hi\"\n"
        "    fallback [openai/gpt-4o, openai/gpt-4o-mini]\n  }\n}\n"
    )
    found = _located(text, ".mmo")
    (where,) = [at for message, at in found.items() if "its own primary model" in message]
    assert where == (4, 30, 48)


def test_value_spans_stay_out_of_the_dump() -> None:
    mmo = load_text(MMO, "t.mmo", ".mmo").pipeline
    assert mmo is not None
    step = mmo.steps[0]
    assert dict(step.field_spans)["temperature"].line == 7
    assert "field_spans" not in str(step.model_dump())
