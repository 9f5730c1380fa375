"""What a builder run returns: the seed's `PipelineResult` and `StepResult`, built from the
runtime's `RunResult` and its trace (the documented JSON fields, via `trace.to_dict()`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ir


@dataclass(frozen=True)
class StepResult:
    """One step of a run, as the seed's `steps_results` reported it."""

    step_name: str
    status: str  # success, failed, skipped, not_run
    output: Any = None
    error: str | None = None
    model: str | None = None
    model_used: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def tokens_used(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class PipelineResult:
    """Seed fields (`success`, `final_output`, `steps_results`, `total_tokens`, `total_cost`,
    `error`) plus the runtime's `outputs`, `values`, `failed_step` and `trace`."""

    pipeline_name: str
    success: bool
    final_output: Any = None
    steps_results: dict[str, StepResult] = field(default_factory=dict)
    total_tokens: int = 0
    total_cost: float = 0.0
    error: str | None = None
    failed_step: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    trace: Any = None
    latency_ms: float = 0.0


def result_from_run(p: ir.Pipeline, run: Any) -> PipelineResult:
    data = run.trace.to_dict() if run.trace is not None else {}
    keys = {s.name: s.output_key for s in p.all_steps()}
    values = dict(run.values)
    steps: dict[str, StepResult] = {}
    for entry in data.get("steps", []):
        name = entry.get("name")
        key = keys.get(name)
        steps[name] = StepResult(
            step_name=name,
            status=entry.get("status", "not_run"),
            output=values.get(key) if key and entry.get("status") == "success" else None,
            error=entry.get("error"),
            model=entry.get("model"),
            model_used=entry.get("model_used"),
            input_tokens=entry.get("input_tokens") or 0,
            output_tokens=entry.get("output_tokens") or 0,
            cost_usd=entry.get("cost_usd") or 0.0,
            latency_ms=entry.get("latency_ms") or 0.0,
        )
    last = p.steps[-1] if p.steps else None
    final = values.get(last.output_key) if last is not None and last.output_key else None
    total_tokens = data.get("total_tokens")
    if total_tokens is None:
        total_tokens = sum(s.tokens_used for s in steps.values())
    total_cost = data.get("total_cost_usd")
    if total_cost is None:
        total_cost = sum(s.cost_usd for s in steps.values())
    return PipelineResult(
        pipeline_name=p.name,
        success=bool(run.success),
        final_output=final,
        steps_results=steps,
        total_tokens=int(total_tokens),
        total_cost=float(total_cost),
        error=run.error,
        failed_step=run.failed_step,
        outputs=dict(run.outputs),
        values=values,
        trace=run.trace,
        latency_ms=float(data.get("latency_ms") or 0.0),
    )
