"""`CompiledPipeline`: the entry points every generated module shares, typed by the module's
own `Inputs` and `Outputs`.

A generated module builds its `PIPELINE` spec and makes one `CompiledPipeline[Inputs,
Outputs](PIPELINE)`; its `run`, `run_sync`, `run_result`, `stream` and `main` are that object's bound
methods, so they keep their precise types under mypy and pyright while the module holds only
what is specific to its pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .spec import PipelineSpec

# The executor, batches, streaming and the command line load on first use: importing a
# generated module (what an app does at start-up) builds only its spec.
if TYPE_CHECKING:
    from .batch import Row, RowResult
    from .events import Event
    from .result import RunResult

InputsT = TypeVar("InputsT", bound=Mapping[str, Any])
OutputsT = TypeVar("OutputsT", bound=Mapping[str, Any])


class CompiledPipeline(Generic[InputsT, OutputsT]):
    """A pipeline spec with its typed entry points. Options (`observer=`, `mock=`,
    `providers=`, `concurrency=`, ... ) are those of `mmoc_runtime.execute`."""

    __slots__ = ("spec",)

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec

    async def run(self, inputs: InputsT, **options: Any) -> OutputsT:
        """Run the pipeline and return its outputs; raise `PipelineFailed` if a step fails."""
        from .executor import execute

        result = await execute(self.spec, inputs, **options)
        result.raise_for_status()
        return cast(OutputsT, result.outputs)

    def run_sync(self, inputs: InputsT, **options: Any) -> OutputsT:
        """`run` for synchronous callers (starts its own event loop)."""
        return asyncio.run(self.run(inputs, **options))

    async def run_result(self, inputs: Mapping[str, Any], **options: Any) -> RunResult:
        """Run the pipeline and return the full result (outputs, values, trace), failed or
        not; inputs are validated at run time, so any mapping is accepted."""
        from .executor import execute

        return await execute(self.spec, inputs, **options)

    def stream(self, inputs: InputsT, **options: Any) -> AsyncIterator[Event]:
        """Run the pipeline and yield its events as they happen (`mmoc_runtime.events`): the
        text of its llm steps as it arrives, retries, fallbacks, each step's end, and last
        `RunFinished` with the outputs and the trace (a failed run raises nothing: see
        `RunFinished.success`). `async for event in pipeline.stream(inputs): ...`"""
        from .streaming import stream

        return stream(self.spec, inputs, **options)

    def run_batch(self, rows: Iterable[Row], **options: Any) -> AsyncIterator[RowResult]:
        """Run the pipeline once per row (a mapping of inputs): an async iterator of each
        row's `RowResult` as it finishes. Options are `mmoc_runtime.batch.run_batch`'s
        (`concurrency=`, `max_cost=`, `skip=`, `control=`, `grace=`) and `execute`'s;
        `backend="ray"` runs the rows on a Ray cluster (`mmoc_runtime.ray_batch`)."""
        from .backends import run_batch

        return run_batch(self.spec, rows, **options)

    def main(self, argv: Sequence[str] | None = None) -> int:
        """The command line: run the pipeline, print its outputs as JSON (`--help` lists the
        options); the exit code."""
        from .script import main

        return main(self.spec, argv)

    def __repr__(self) -> str:
        return f"CompiledPipeline({self.spec.name!r})"
