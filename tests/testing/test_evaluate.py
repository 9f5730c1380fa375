"""Each expectation's verdict against a finished run, and the message when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from mmoc import ir
from mmoc.frontends.mmo.parse import parse_expectation
from mmoc.frontends.mmo.printer import expectation_text
from mmoc.testing.evaluate import Outcome, judge_outcome
from mmoc_runtime import RunResult
from mmoc_runtime.trace import StepTrace, Trace

VALUES: dict[str, Any] = {
    "text": "Tea is a drink.",
    "items": ["green", "black"],
    "data": {"a": 1},
    "json_text": '{"a": 1}',
    "count": 3,
}


def _result(latency_ms: float = 1500.0) -> RunResult:
    trace = Trace("run", "demo")
    ran, skipped, failed = StepTrace("ran"), StepTrace("skipped"), StepTrace("failed")
    ran.status, skipped.status, failed.status = "success", "skipped", "failed"
    ran.cost_usd = 0.004
    trace.steps = [ran, skipped, failed]
    trace.latency_ms = latency_ms
    return RunResult(success=False, outputs={}, values=dict(VALUES), trace=trace)


def _verdict(text: str) -> Outcome:
    e, diags = parse_expectation(text, "t.mmo")
    assert diags == [] and e is not None
    return judge_outcome(e, expectation_text(e), _result(), {"missing": "skipped"})


@pytest.mark.parametrize(
    "text",
    [
        'text contains "drink"', 'items contains "green"', 'data contains "a"',
        "count >= 3", "count != 4", 'text == "Tea is a drink."', "len(items) == 2",
        'text matches r"\\bdrink\\.$"', 'data valid schema {"type": "object"}',
        'json_text valid schema {"type": "object", "required": ["a"]}',
        "step ran ran", "step skipped skipped", "step failed failed",
        "cost <= $0.004", "latency < 2s",
    ],
)
def test_expectations_that_hold(text: str) -> None:
    outcome = _verdict(text)
    assert outcome.passed, outcome.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('text contains "coffee"', '`text` does not contain it: "Tea is a drink."'),
        ("count contains 3", "`count` is int, which contains nothing"),
        ('count < "x"', '`count` cannot be compared with "x"'),
        ("len(count) < 3", "`count` is int, which has no length"),
        ("len(text) < 3", "len(`text`) is 15, not < 3"),
        ('text matches r"^drink"', "`text` does not match '^drink'"),
        ('data valid schema {"type": "array"}', "`data` is not valid against the schema"),
        ("step ran skipped", "step `ran` ran"),
        ("cost < $0.001", "the run cost $0.004000"),
        ("latency <= 1s", "the run took 1.500s"),
        ('missing == "x"', "`missing` was not produced: step `skipped` skipped"),
    ],
)
def test_expectations_that_fail_say_why(text: str, message: str) -> None:
    outcome = _verdict(text)
    assert not outcome.passed
    assert outcome.message.startswith(message)


def test_a_failed_equality_carries_a_diff() -> None:
    outcome = _verdict('text == "Tea is a plant."')
    assert outcome.diff[:2] == ("--- expected", "+++ actual")
    assert "-Tea is a plant." in outcome.diff and "+Tea is a drink." in outcome.diff


def test_the_outcome_keeps_the_expectation_as_written() -> None:
    e = ir.ExpectLength(key=ir.Ident(name="text"), op="<=", value=400)
    assert judge_outcome(e, expectation_text(e), _result(), {}).text == "len(text) <= 400"
