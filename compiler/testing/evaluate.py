"""Judging a test's expectations against a finished run (everything but the LLM judge).

Each expectation gives an `Outcome`: passed or not, and when not, what was found and a diff
against what was expected, as pytest shows a failed `assert a == b`.
"""

from __future__ import annotations

import difflib
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mmoc_runtime import RunResult
from mmoc_runtime.structured import validate

from .. import ir

# What `expect step NAME <word>` means, as trace statuses.
STEP_WORDS = {"ran": "success", "skipped": "skipped", "failed": "failed"}

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict. `skipped`: not judged (the LLM judge under --mock)."""

    text: str  # the expectation as written after `expect`
    line: int | None
    passed: bool
    message: str = ""  # why it failed (or was skipped)
    diff: tuple[str, ...] = field(default=())
    skipped: bool = False


class _Missing(Exception):
    """The key has no value: its step was skipped, failed, or never ran."""


def shown(value: Any) -> str:
    """A value as the report shows it: JSON, strings quoted, multi-line JSON for structures."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return json.dumps(value, ensure_ascii=False)


def text_diff(expected: Any, actual: Any) -> tuple[str, ...]:
    """A unified diff of expected against actual (strings line by line, data as JSON)."""
    def lines(value: Any) -> list[str]:
        return (value if isinstance(value, str) else shown(value)).splitlines() or [""]

    return tuple(difflib.unified_diff(lines(expected), lines(actual), "expected", "actual",
                                      lineterm="", n=2))


def _value(result: RunResult, key: str) -> Any:
    if key not in result.values:
        raise _Missing(key)
    return result.values[key]


def _as_data(value: Any) -> Any:
    """A text that holds JSON (an unstructured step asked for JSON) as that data."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _compare(op: str, actual: Any, expected: Any) -> tuple[bool, str]:
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual, "does not contain it"
        if isinstance(actual, (list, dict)):
            return expected in actual, "does not contain it"
        return False, f"is {type(actual).__name__}, which contains nothing"
    why = {"==": "differs from what was expected", "!=": f"is {shown(expected)}"}.get(
        op, f"is not {op} {shown(expected)}")
    try:
        return bool(_ORDER[op](actual, expected)), why
    except TypeError:
        return False, f"cannot be compared with {shown(expected)}"


def _check_value(e: ir.ExpectValue, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    actual = _value(result, e.key.name)
    ok, why = _compare(e.op, actual, e.value)
    if ok:
        return True, "", ()
    diff = text_diff(e.value, actual) if e.op == "==" else ()
    return False, f"`{e.key.name}` {why}: {_short(actual)}", diff


def _check_length(e: ir.ExpectLength, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    actual = _value(result, e.key.name)
    if not isinstance(actual, (str, list, dict)):
        return False, f"`{e.key.name}` is {type(actual).__name__}, which has no length", ()
    size = len(actual)
    ok = _ORDER[e.op](size, e.value)
    return ok, "" if ok else f"len(`{e.key.name}`) is {size}, not {e.op} {e.value}", ()


def _check_match(e: ir.ExpectMatch, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    actual = _value(result, e.key.name)
    text = actual if isinstance(actual, str) else shown(actual)
    if re.search(e.pattern, text):
        return True, "", ()
    return False, f"`{e.key.name}` does not match {e.pattern!r}: {_short(actual)}", ()


def _check_schema(e: ir.ExpectSchema, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    actual = _value(result, e.key.name)
    data = actual if e.schema_.get("type") == "string" else _as_data(actual)
    problems = validate(data, e.schema_)
    if not problems:
        return True, "", ()
    return False, f"`{e.key.name}` is not valid against the schema", tuple(problems)


def _check_step(e: ir.ExpectStep, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    try:
        status = result.trace.step(e.step.name).status
    except KeyError:
        return False, f"the run has no step `{e.step.name}`", ()
    wanted = STEP_WORDS.get(e.status, e.status)
    word = {v: k for k, v in STEP_WORDS.items()}.get(status, status.replace("_", " "))
    return status == wanted, "" if status == wanted else f"step `{e.step.name}` {word}", ()


def _check_cost(e: ir.ExpectCost, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    cost = result.trace.total_cost_usd
    ok = _ORDER[e.op](cost, e.usd)
    return ok, "" if ok else f"the run cost ${cost:.6f}", ()


def _check_latency(e: ir.ExpectLatency, result: RunResult) -> tuple[bool, str, tuple[str, ...]]:
    seconds = result.trace.latency_ms / 1000.0
    ok = _ORDER[e.op](seconds, e.seconds)
    return ok, "" if ok else f"the run took {seconds:.3f}s", ()


_CHECKS: dict[type, Callable[[Any, RunResult], tuple[bool, str, tuple[str, ...]]]] = {
    ir.ExpectValue: _check_value,
    ir.ExpectLength: _check_length,
    ir.ExpectMatch: _check_match,
    ir.ExpectSchema: _check_schema,
    ir.ExpectStep: _check_step,
    ir.ExpectCost: _check_cost,
    ir.ExpectLatency: _check_latency,
}


def judge_outcome(
    e: ir.Expectation, text: str, result: RunResult, producers: Mapping[str, str]
) -> Outcome:
    """The verdict on `e` (not a judged one: see `judge`). A missing key fails it, naming the
    step that did not produce it (`producers`: key -> step name)."""
    line = e.span.line if e.span is not None else None
    try:
        ok, message, diff = _CHECKS[type(e)](e, result)
    except _Missing as missing:
        return Outcome(text, line, False, missing_message(str(missing), result, producers))
    return Outcome(text, line, ok, message, diff)


def missing_message(key: str, result: RunResult, producers: Mapping[str, str]) -> str:
    step = producers.get(key)
    if step is None:
        return f"`{key}` was not produced"
    try:
        status = result.trace.step(step).status
    except KeyError:
        status = "not_run"
    return f"`{key}` was not produced: step `{step}` {status.replace('_', ' ')}"


def _short(value: Any, limit: int = 200) -> str:
    text = shown(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
