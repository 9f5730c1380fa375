"""The LLM judge: `expect KEY judged by MODEL "criteria"` asks MODEL whether the output meets
the criteria.

The judge is a model call like any other: a one-step pipeline run through the runtime's
executor with the test's cassette, providers and endpoints, so it is recorded in the cassette
and replayed from it (a changed output is a changed request: replay then fails, naming it).
Under `--mock` nothing can judge: the expectation is reported as skipped, never as passed or
failed (docs/testing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmoc_runtime import InputSpec, LlmStep, OutputFormat, PipelineSpec, RunResult, execute
from mmoc_runtime.spec import EndpointSpec

from .. import ir
from .evaluate import Outcome, missing_message, shown

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["pass", "reason"],
}

PROMPT = """Decide whether the text below meets the criteria. Judge only the criteria.

Criteria: {criteria}

Text:
{text}

Answer with JSON only: {{"pass": true or false, "reason": "one short sentence"}}"""

SYSTEM = "You are a strict, impartial judge of a program's test output."


def judge_spec(model: str, endpoints: tuple[EndpointSpec, ...]) -> PipelineSpec:
    step = LlmStep(name="judge", model=model, prompt=PROMPT, output_key="verdict",
                   system=SYSTEM, temperature=0.0,
                   output_format=OutputFormat(schema=VERDICT_SCHEMA))
    return PipelineSpec(name="mmoc_judge", inputs=(InputSpec("criteria"), InputSpec("text")),
                        steps=(step,), endpoints=endpoints)


async def judge(
    e: ir.ExpectJudged,
    text: str,
    result: RunResult,
    *,
    model: str,
    endpoints: tuple[EndpointSpec, ...],
    producers: Mapping[str, str],
    mock: bool,
    options: Mapping[str, Any],
) -> tuple[Outcome, RunResult | None]:
    """The judge's verdict on `e`, and the judge's own run (for the report's cost)."""
    line = e.span.line if e.span is not None else None
    if e.key.name not in result.values:
        return Outcome(text, line, False, missing_message(e.key.name, result, producers)), None
    if mock:
        return Outcome(text, line, True, "not judged: the mock provider cannot judge",
                       skipped=True), None
    value = result.values[e.key.name]
    text_judged = value if isinstance(value, str) else shown(value)  # data as JSON
    run = await execute(judge_spec(model, endpoints),
                        {"criteria": e.criteria, "text": text_judged}, **options)
    if not run.success:
        return Outcome(text, line, False, f"the judge failed: {run.error}"), run
    verdict = run.outputs.get("verdict") or {}
    reason = str(verdict.get("reason", ""))
    if verdict.get("pass") is True:
        return Outcome(text, line, True, reason), run
    return Outcome(text, line, False, f"{model} judged no: {reason}"), run
