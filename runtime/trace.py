"""The trace of one pipeline run: a record per step and per attempt, exportable as JSON/Markdown.

The executor fills these objects in as the run goes; observers receive them. The JSON shape is
versioned (`SCHEMA_VERSION`) and documented in docs/trace.md. API keys never reach a trace
(error messages are redacted), and prompt/output text is recorded only when the run was started
with `capture_content=True`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

# Step statuses. `pending` and `running` exist only while a run is in progress.
SUCCESS = "success"
FAILED = "failed"
SKIPPED = "skipped"
NOT_RUN = "not_run"
PENDING = "pending"
RUNNING = "running"


class AttemptTrace:
    """One call (or one rejected call) to one model."""

    __slots__ = ("cached_input_tokens", "error", "error_kind", "input_tokens", "latency_ms",
                 "model", "number", "output_tokens", "reply_source", "status", "ttft_ms",
                 "wait_before_ms")

    def __init__(self, number: int, model: str, wait_before_ms: float = 0.0) -> None:
        self.number = number  # 1-based across the whole step (all models)
        self.model = model  # the model id this attempt targeted, as requested
        self.wait_before_ms = wait_before_ms  # the backoff slept before this attempt
        self.status = RUNNING  # success, failed, rejected (breaker open: no call made)
        self.latency_ms = 0.0
        # Time to first token: to the reply's first text when streamed, else to the reply.
        self.ttft_ms: float | None = None
        self.error_kind: str | None = None
        self.error: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cached_input_tokens = 0  # the part of input_tokens served from the prompt cache
        # Who answered instead of the provider: `fixed`, `cassette` or `cache` (None: nobody).
        self.reply_source: str | None = None

    def __repr__(self) -> str:
        return f"AttemptTrace({self.number}, {self.model!r}, status={self.status!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "model": self.model,
            "status": self.status,
            "wait_before_ms": self.wait_before_ms,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "error_kind": self.error_kind,
            "error": self.error,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reply_source": self.reply_source,
        }


class StepTrace:
    """One step's entry. Class attributes hold the defaults, so the executor only pays for
    the fields a step actually sets (a wide run creates thousands of these)."""

    group: str | None = None  # the parallel group this step belongs to
    status: str = PENDING
    model: str | None = None  # the model requested (llm steps)
    model_used: str | None = None  # the model that answered: the primary or a fallback
    when: str | None = None  # the step's condition, as written
    skip_reason: str | None = None
    retries: int = 0  # attempts that followed a backoff wait
    fallback_used: bool = False  # a model other than the primary was tried
    breaker_state: dict[str, str] | None = None  # model -> breaker state after the step
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # the part of input_tokens served from the prompt cache
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    cost_estimated: bool = False
    # The reply came from `fixed` replies, a `cassette` or the `cache` (None: the provider).
    reply_source: str | None = None
    cost_saved_usd: float = 0.0  # what a cache hit would have cost (its cost_usd is 0)
    start_ms: float | None = None  # offset from the run's start
    latency_ms: float = 0.0
    ttft_ms: float | None = None  # llm steps: the answering attempt's time to first token
    error_kind: str | None = None
    error: str | None = None
    # A map step's summary of its items (`map_step.MapSummary.to_dict`); None for other steps.
    map: dict[str, Any] | None = None
    # Content, recorded only with capture_content=True.
    prompt: str | None = None
    system: str | None = None
    output: Any = None

    def __init__(self, name: str | None = None, kind: str = "llm", group: str | None = None, *,
                 when: str | None = None, model: str | None = None,
                 status: str = PENDING, **seed: Any) -> None:
        self.name = name if name is not None else str(seed.pop("step_name", ""))
        self.kind = kind  # llm, transform, group
        self.attempts: list[AttemptTrace] = []
        if group is not None:
            self.group = group
        if when is not None:
            self.when = when
        if model is not None:
            self.model = model
        if status != PENDING:
            self.status = status
        if seed:
            self._seed_fields(seed)

    def _seed_fields(self, seed: dict[str, Any]) -> None:
        """The earlier library's keywords: `StepTrace(step_name=..., model=..., latency_ms=...,
        tokens_used=..., cost=..., success=..., skipped=..., error=..., output=...)`."""
        unknown = sorted(set(seed) - set(SEED_STEP_FIELDS))
        if unknown:
            raise TypeError(f"StepTrace() got unexpected keyword(s) {', '.join(unknown)}")
        skipped = bool(seed.pop("skipped", False))
        success = seed.pop("success", None)
        for key, value in seed.items():
            setattr(self, key, value)
        if skipped:
            self.status = SKIPPED
        elif success is not None or self.status == PENDING:
            # A hand-made entry describes a step that ran: success unless told otherwise.
            self.status = SUCCESS if success in (None, True) else FAILED

    def __repr__(self) -> str:
        return f"StepTrace({self.name!r}, {self.kind!r}, status={self.status!r})"

    # The earlier library's names for the same data. `tokens_used` is input + output tokens
    # (set by hand, it is counted as output tokens); `success` holds for a skipped step too,
    # as it did there (a skip is no failure).
    @property
    def step_name(self) -> str:
        return self.name

    @property
    def tokens_used(self) -> int:
        return self.input_tokens + self.output_tokens

    @tokens_used.setter
    def tokens_used(self, value: int) -> None:
        self.input_tokens, self.output_tokens = 0, int(value)

    @property
    def cost(self) -> float:
        return self.cost_usd

    @cost.setter
    def cost(self, value: float) -> None:
        self.cost_usd = float(value)

    @property
    def success(self) -> bool:
        return self.status in (SUCCESS, SKIPPED)

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    def to_dict(self) -> dict[str, Any]:
        out = self._fields()
        if self.map is not None:  # only map steps carry the key: other traces are unchanged
            out["map"] = self.map
        return out

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "group": self.group,
            "status": self.status,
            "model": self.model,
            "model_used": self.model_used,
            "when": self.when,
            "skip_reason": self.skip_reason,
            "attempts": [a.to_dict() for a in self.attempts],
            "retries": self.retries,
            "fallback_used": self.fallback_used,
            "breaker_state": self.breaker_state,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "tokens_estimated": self.tokens_estimated,
            "cost_usd": self.cost_usd,
            "cost_estimated": self.cost_estimated,
            "reply_source": self.reply_source,
            "cost_saved_usd": self.cost_saved_usd,
            "start_ms": self.start_ms,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "error_kind": self.error_kind,
            "error": self.error,
            "prompt": self.prompt,
            "system": self.system,
            "output": self.output,
        }


# The keywords `StepTrace(...)` takes from the earlier library (besides `step_name`,
# `success` and `skipped`, read by `_seed_fields`).
SEED_STEP_FIELDS = ("model", "latency_ms", "tokens_used", "cost", "success", "skipped", "error",
                    "output", "prompt")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Trace:
    """The trace of one run: run-level facts and one `StepTrace` per step.

    The executor makes it as `Trace(run_id, pipeline, version)`. The earlier library's
    `PipelineTrace(pipeline_name=..., pipeline_version=...)` (or `PipelineTrace("name")`) makes
    one by hand, filled with `add_step_trace` and closed with `finalize()`."""

    def __init__(self, run_id: str | None = None, pipeline: str | None = None,
                 version: str | None = None, *, mock: bool = False,
                 pipeline_name: str | None = None, pipeline_version: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if pipeline is None and pipeline_name is None:
            # `PipelineTrace("name")`: the earlier library's first parameter was the name.
            run_id, pipeline_name = None, run_id
        self.run_id = run_id or f"manual-{now_iso()}"
        self.pipeline = pipeline if pipeline is not None else pipeline_name or ""
        self.version = version if version is not None else pipeline_version
        self.metadata: dict[str, Any] = dict(metadata or {})  # the pipeline's `metadata`
        self.status = RUNNING  # success or failed once the run ends
        self.mock = mock  # every model was routed to the mock provider
        self.started_at: str | None = None  # ISO 8601, UTC
        self.ended_at: str | None = None
        self.latency_ms = 0.0  # wall time of the run, not the sum of the steps
        self.error: str | None = None
        self.failed_step: str | None = None
        self.steps: list[StepTrace] = []
        # The run's budget (`runtime.budget.Budget`, its `to_dict()` in the JSON) when it has one.
        self.budget: Any = None

    def __repr__(self) -> str:
        return f"Trace({self.pipeline!r}, status={self.status!r}, steps={len(self.steps)})"

    # Totals are computed from the steps so they always equal the sums. Group entries carry no
    # tokens or cost of their own (their members do), so nothing is counted twice.
    @property
    def total_input_tokens(self) -> int:
        return sum(s.input_tokens for s in self.steps)

    @property
    def total_output_tokens(self) -> int:
        return sum(s.output_tokens for s in self.steps)

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.total_output_tokens

    @property
    def total_cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)

    @property
    def cost_estimated(self) -> bool:
        return any(s.cost_estimated for s in self.steps)

    @property
    def totals(self) -> dict[str, Any]:
        """The run's totals in one object (the JSON `totals`), computed from the steps."""
        statuses: dict[str, int] = {}
        input_tokens = output_tokens = cached = attempts = retries = 0
        cost_usd = saved = 0.0
        estimated = False
        for s in self.steps:
            statuses[s.status] = statuses.get(s.status, 0) + 1
            input_tokens += s.input_tokens
            output_tokens += s.output_tokens
            cached += s.cached_input_tokens
            cost_usd += s.cost_usd
            saved += s.cost_saved_usd
            estimated = estimated or s.cost_estimated
            attempts += len(s.attempts)
            retries += s.retries
        return {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "cached_input_tokens": cached,
            "cost_usd": cost_usd,
            "cost_estimated": estimated,
            "cost_saved_usd": saved,
            "attempts": attempts,
            "retries": retries,
            "steps": {status: statuses.get(status, 0)
                      for status in (SUCCESS, FAILED, SKIPPED, NOT_RUN)} | statuses,
        }

    # The earlier library's names for the same data.
    @property
    def pipeline_name(self) -> str:
        return self.pipeline

    @property
    def pipeline_version(self) -> str | None:
        return self.version

    @property
    def step_traces(self) -> list[StepTrace]:
        return self.steps

    @property
    def success(self) -> bool:
        return self.status == SUCCESS

    @property
    def total_cost(self) -> float:
        return self.total_cost_usd

    @property
    def total_latency_ms(self) -> float:
        return self.latency_ms

    @property
    def completed_at(self) -> str | None:
        return self.ended_at

    def add_step_trace(self, step_trace: StepTrace) -> None:
        """The earlier library's way to fill a trace by hand."""
        if self.started_at is None:
            self.started_at = now_iso()
        self.steps.append(step_trace)

    def finalize(self) -> Trace:
        """Close a hand-made trace: the end time, the status (failed when a step failed) and,
        unless set, the latency as the sum of the steps' (the earlier library's rule)."""
        self.ended_at = self.ended_at or now_iso()
        self.started_at = self.started_at or self.ended_at
        if self.status in (RUNNING, PENDING):
            self.status = FAILED if any(s.status == FAILED for s in self.steps) else SUCCESS
        if not self.latency_ms:
            self.latency_ms = sum(s.latency_ms for s in self.steps)
        return self

    def step(self, name: str) -> StepTrace:
        for entry in self.steps:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "version": self.version,
            "status": self.status,
            "mock": self.mock,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "failed_step": self.failed_step,
            "metadata": self.metadata,
            "total_input_tokens": self.total_input_tokens,
            "total_output_tokens": self.total_output_tokens,
            "total_tokens": self.total_tokens,
            "total_cost_usd": self.total_cost_usd,
            "cost_estimated": self.cost_estimated,
            "totals": self.totals,
            "steps": [s.to_dict() for s in self.steps],
            **({"budget": self.budget.to_dict()} if self.budget is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_markdown(self) -> str:
        return render_markdown(self)


_STATUS_LABEL = {SUCCESS: "Pass", FAILED: "Fail", SKIPPED: "Skipped", NOT_RUN: "Not run"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(trace: Trace) -> str:
    lines = [
        f"# Pipeline `{trace.pipeline}`" + (f" v{trace.version}" if trace.version else ""),
        "",
        f"- status: **{trace.status}**" + (" (mock)" if trace.mock else ""),
        f"- run id: `{trace.run_id}`",
        f"- started: {trace.started_at}, ended: {trace.ended_at}",
        f"- latency: {trace.latency_ms:.1f} ms",
        f"- tokens: {trace.total_input_tokens} in, {trace.total_output_tokens} out",
        f"- cost: ${trace.total_cost_usd:.6f}" + (" (estimated)" if trace.cost_estimated else ""),
        "",
        "| step | kind | status | model | attempts | tokens in/out | cost (USD) | latency (ms) |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for s in trace.steps:
        name = f"{s.group} / {s.name}" if s.group else s.name
        model = s.model_used or s.model or ""
        if s.model_used and s.model and s.model_used != s.model:
            model = f"{s.model_used} (fallback for {s.model})"
        cost = f"{s.cost_usd:.6f}" + ("*" if s.cost_estimated else "")
        lines.append(
            f"| {_cell(name)} | {s.kind} | {_STATUS_LABEL.get(s.status, s.status)} "
            f"| {_cell(model)} | {len(s.attempts)} | {s.input_tokens}/{s.output_tokens} "
            f"| {cost} | {s.latency_ms:.1f} |"
        )
    if trace.cost_estimated:
        lines += ["", "\\* priced at the default rate: the model is not in the price table."]
    failed = [s for s in trace.steps if s.status == FAILED]
    if failed:
        lines += ["", "## Errors"]
        for s in failed:
            lines += ["", f"### {s.name}", "", f"- kind: `{s.error_kind}`", f"- error: {s.error}"]
            for a in s.attempts:
                if a.status != SUCCESS:
                    lines.append(
                        f"  - attempt {a.number} on `{a.model}` ({a.status}, waited "
                        f"{a.wait_before_ms:.0f} ms): {a.error_kind}: {a.error}"
                    )
    skipped = [s for s in trace.steps if s.status in (SKIPPED, NOT_RUN) and s.skip_reason]
    if skipped:
        lines += ["", "## Skipped and not run", ""]
        lines += [f"- {s.name}: {s.skip_reason}" for s in skipped]
    return "\n".join(lines) + "\n"
