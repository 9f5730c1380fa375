"""What a builder run returns: the seed's `PipelineResult` and `StepResult`, built from the
runtime's `RunResult` and its trace (the documented JSON fields, via `trace.to_dict()`).

Both keep the seed's constructors (every field has a default, `StepResult(success=False,
error=...)` works) and its helpers (`to_dict`, `failed_steps`, ...). `steps_results` is a list
in run order, as the seed's, that also answers `steps_results["step name"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, SupportsIndex, overload

from .. import ir

SUCCESS, FAILED, SKIPPED, NOT_RUN = "success", "failed", "skipped", "not_run"


@dataclass
class StepResult:
    """One step of a run. `status` is success, failed, skipped or not_run; the seed's
    `success` and `skipped` flags are derived from it (or it from them when not given)."""

    output: Any = None
    latency_ms: float = 0.0
    tokens_used: int = 0
    model_used: str | None = None
    success: bool = True
    error: str | None = None
    step_name: str = ""
    skipped: bool = False
    status: str = ""
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __post_init__(self) -> None:
        if self.status:
            # The runtime's status is the truth; the seed's flags follow it. A skipped step
            # counts as successful, as it did in the seed (it did not fail the run).
            self.success = self.status in (SUCCESS, SKIPPED)
            self.skipped = self.status == SKIPPED
        else:
            self.status = SKIPPED if self.skipped else SUCCESS if self.success else FAILED
        if not self.tokens_used:
            self.tokens_used = self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_name": self.step_name,
            "status": self.status,
            "success": self.success,
            "skipped": self.skipped,
            "output": self.output,
            "error": self.error,
            "model": self.model,
            "model_used": self.model_used,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens_used": self.tokens_used,
            "cost_usd": round(self.cost_usd, 6),
            "latency_ms": round(self.latency_ms, 2),
        }


class StepResults(list[StepResult]):
    """Step results in run order (a list, as the seed's) that can also be looked up by step
    name: `results[0]`, `results["summarize"]`, `results.get(name)`, `results.keys()`."""

    @overload
    def __getitem__(self, key: SupportsIndex) -> StepResult: ...
    @overload
    def __getitem__(self, key: slice) -> list[StepResult]: ...
    @overload
    def __getitem__(self, key: str) -> StepResult: ...

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            found = self.get(key)
            if found is None:
                raise KeyError(key)
            return found
        return super().__getitem__(key)

    def get(self, name: str, default: StepResult | None = None) -> StepResult | None:
        return next((r for r in self if r.step_name == name), default)

    def keys(self) -> list[str]:
        return [r.step_name for r in self]

    def values(self) -> list[StepResult]:
        return list(self)

    def items(self) -> list[tuple[str, StepResult]]:
        return [(r.step_name, r) for r in self]

    def names(self) -> Iterator[str]:
        return iter(self.keys())


@dataclass
class PipelineResult:
    """The seed's fields (`steps_results`, `total_latency_ms`, `total_tokens`, `total_cost`,
    `success`, `final_output`, `error`) plus the runtime's `outputs`, `values`, `failed_step`,
    `trace` and `pipeline_name`."""

    steps_results: list[StepResult] = field(default_factory=StepResults)
    total_latency_ms: float = 0.0
    total_tokens: int = 0
    total_cost: float = 0.0
    success: bool = True
    final_output: Any = None
    error: str | None = None
    pipeline_name: str = ""
    failed_step: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    trace: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.steps_results, StepResults):
            self.steps_results = StepResults(self.steps_results)

    @property
    def latency_ms(self) -> float:
        return self.total_latency_ms

    @property
    def failed_steps(self) -> list[StepResult]:
        return [r for r in self.steps_results if r.status == FAILED]

    @property
    def successful_steps(self) -> list[StepResult]:
        return [r for r in self.steps_results if r.status == SUCCESS]

    @property
    def skipped_steps(self) -> list[StepResult]:
        return [r for r in self.steps_results if r.status == SKIPPED]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (outputs are included as they are; the trace is not: see
        `trace.to_dict()`)."""
        return {
            "pipeline_name": self.pipeline_name,
            "success": self.success,
            "error": self.error,
            "failed_step": self.failed_step,
            "final_output": self.final_output,
            "outputs": self.outputs,
            "steps_results": [r.to_dict() for r in self.steps_results],
            "total_latency_ms": round(self.total_latency_ms, 2),
            "total_tokens": self.total_tokens,
            "total_cost": round(self.total_cost, 6),
        }


def _final_output(p: ir.Pipeline, steps: StepResults, values: dict[str, Any]) -> Any:
    """The output of the last step (in the order added) that ran: a skipped last step leaves
    the one before it as the result, as in the seed."""
    for step in reversed(p.steps):
        done = steps.get(step.name)
        if step.output_key and done is not None and done.status == SUCCESS:
            return values.get(step.output_key)
    return None


def step_result_from_trace(entry: dict[str, Any], output: Any) -> StepResult:
    """A `StepResult` from one step of a trace's JSON form (`trace.to_dict()["steps"]`)."""
    return StepResult(
        step_name=entry.get("name") or "",
        status=entry.get("status") or NOT_RUN,
        output=output,
        error=entry.get("error"),
        model=entry.get("model"),
        model_used=entry.get("model_used"),
        input_tokens=entry.get("input_tokens") or 0,
        output_tokens=entry.get("output_tokens") or 0,
        cost_usd=entry.get("cost_usd") or 0.0,
        latency_ms=entry.get("latency_ms") or 0.0,
    )


def result_from_run(p: ir.Pipeline, run: Any) -> PipelineResult:
    data = run.trace.to_dict() if run.trace is not None else {}
    keys = {s.name: s.output_key for s in p.all_steps()}
    values = dict(run.values)
    steps = StepResults()
    for entry in data.get("steps", []):
        key = keys.get(entry.get("name"))
        output = values.get(key) if key and entry.get("status") == SUCCESS else None
        steps.append(step_result_from_trace(entry, output))
    final = _final_output(p, steps, values) if run.success else None
    total_tokens = data.get("total_tokens")
    if total_tokens is None:
        total_tokens = sum(s.tokens_used for s in steps)
    total_cost = data.get("total_cost_usd")
    if total_cost is None:
        total_cost = sum(s.cost_usd for s in steps)
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
        total_latency_ms=float(data.get("latency_ms") or 0.0),
    )
