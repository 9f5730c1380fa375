"""The result of one pipeline run, and the error `raise_for_status` raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import MmocRuntimeError
from .trace import Trace


class PipelineFailed(MmocRuntimeError):
    """A run finished with at least one failed step; `result` holds everything it produced."""

    kind = "pipeline_failed"

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.error or "pipeline failed")
        self.result = result


@dataclass
class RunResult:
    success: bool
    # The declared outputs that were produced (or every produced key when none are declared).
    # An output whose producer was skipped or failed is absent.
    outputs: dict[str, Any]
    values: dict[str, Any]  # the inputs (defaults applied) and every produced key
    trace: Trace
    error: str | None = None  # "step 'x' failed: ..." for the first failed step
    failed_step: str | None = None
    failed_steps: tuple[str, ...] = field(default=())  # every failed step, in order of failure

    def raise_for_status(self) -> RunResult:
        """Raise `PipelineFailed` if the run failed; return self otherwise (for chaining)."""
        if not self.success:
            raise PipelineFailed(self)
        return self
