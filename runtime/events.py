"""The typed events of a streamed run (`mmoc_runtime.stream`, `CompiledPipeline.stream`).

A run yields `RunStarted` first and `RunFinished` last; between them every step that runs
yields `StepStarted` and `StepFinished` (a step that is skipped or does not run yields only
`StepFinished`, with its status), and an llm step yields its text as it arrives
(`TextDelta`), `Retrying` before each retry and `FallbackUsed` when it moves to a fallback
model. Steps that run at the same time interleave their events; the events of one step keep
their order. Times are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import RunResult
    from .trace import Trace


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run begins (its inputs were valid)."""

    pipeline: str
    run_id: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A step starts: its dependencies finished and its condition held. `model` is the
    model requested (None for a transform or a group)."""

    step: str
    model: str | None
    kind: str = "llm"  # llm, transform, group


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of a streamed llm step's reply. After a `Retrying` or `FallbackUsed`
    whose `restarted` is true, the step's text starts again from nothing."""

    step: str
    text: str


@dataclass(frozen=True, slots=True)
class Retrying:
    """An attempt of `step` failed with `error_kind`; attempt number `attempt` (1-based,
    counted over the whole step) follows after `wait` seconds. `restarted`: the failed
    attempt had already sent text, which the new attempt replaces."""

    step: str
    attempt: int
    wait: float
    error_kind: str | None
    restarted: bool = False


@dataclass(frozen=True, slots=True)
class FallbackUsed:
    """`step` gave up on `from_model` and calls `to_model` next. `restarted`: the text
    streamed so far is replaced by the fallback's."""

    step: str
    from_model: str
    to_model: str
    restarted: bool = False


@dataclass(frozen=True, slots=True)
class StepFinished:
    """A step ended. `status` is the trace's (success, failed, skipped, not_run); for an llm
    step `tokens` (input + output), `cost` (USD) and `ttft` (seconds to the first token of
    the reply that answered, None when none did); `latency` is the step's wall time."""

    step: str
    status: str
    tokens: int
    cost: float
    latency: float
    ttft: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended: the outputs (as `run` would return them; for a failed run, those that
    were produced), the complete trace, and the whole `RunResult` (`run_result`'s)."""

    outputs: dict[str, Any]
    trace: Trace
    result: RunResult

    @property
    def success(self) -> bool:
        return self.result.success

    @property
    def error(self) -> str | None:
        """The first failed step's error, None when the run succeeded."""
        return self.result.error


Event = RunStarted | StepStarted | TextDelta | Retrying | FallbackUsed | StepFinished | RunFinished
