"""Running tests: each test is one run of its pipeline's module, all of them concurrently.

A test's inputs are the run's inputs and its fixed replies the run's `replies=`; where the
other model calls are answered from is the mode: `mock` (the mock provider), `replay` (a
cassette; no network, no keys), `record` (the real providers, every exchange saved to the
cassette) or `live` (the real providers). A test passes when the run succeeds and every
expectation holds; a step that failed counts against it unless the test expects that
(`expect step NAME failed`). Tests share nothing: each run has its own circuit breakers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmoc_runtime import BreakerRegistry, InputError, RunResult
from mmoc_runtime.errors import MmocRuntimeError

from .. import ir
from ..analysis import produced_keys, resolve_model
from ..frontends.mmo.printer import expectation_text
from .collect import TestFile
from .evaluate import Outcome, judge_outcome
from .judge import judge

MODES = ("mock", "replay", "record", "live")
PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass(frozen=True)
class Mode:
    """Where model calls are answered from, and the cassette of `replay` and `record`."""

    kind: str = "mock"
    cassette: Any = None  # a `mmoc_runtime.cassette.Cassette`, opened by the caller

    @property
    def mock(self) -> bool:
        return self.kind == "mock"

    def options(self) -> dict[str, Any]:
        """The execute options of every run (and judge) in this mode."""
        # Never the response cache: a test observes what the pipeline does now (a cached
        # answer would hide a changed prompt), and leaves the user's cache as it was.
        out: dict[str, Any] = {"mock": self.mock, "cache": False}
        if self.cassette is not None:
            out["cassette"] = self.cassette
        return out


@dataclass
class TestResult:
    """One test's verdict."""

    __test__ = False  # not a pytest test class

    file: str
    name: str
    line: int | None
    status: str = PASSED
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None  # why the test could not run, or why its run failed
    seconds: float = 0.0
    cost_usd: float = 0.0

    @property
    def test_id(self) -> str:
        return f"{self.file}::{self.name}"

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]


def run_tests(files: Sequence[TestFile], mode: Mode, jobs: int = 8,
              extra: Mapping[str, Any] | None = None) -> list[TestResult]:
    """Run every selected test of `files` (at most `jobs` at once); results in file order."""
    return asyncio.run(run_tests_async(files, mode, jobs, extra))


async def run_tests_async(files: Sequence[TestFile], mode: Mode, jobs: int = 8,
                          extra: Mapping[str, Any] | None = None) -> list[TestResult]:
    gate = asyncio.Semaphore(max(jobs, 1))
    options = {**mode.options(), **(extra or {})}

    async def one(f: TestFile, t: ir.Test) -> TestResult:
        async with gate:
            return await run_test(f, t, mode, options)

    return list(await asyncio.gather(*(one(f, t) for f in files if f.ok for t in f.tests)))


async def run_test(f: TestFile, test: ir.Test, mode: Mode,
                   options: Mapping[str, Any]) -> TestResult:
    out = TestResult(f.display, test.name, test.span.line if test.span else None)
    started = time.perf_counter()
    try:
        result = await _run(f, test, options)
    except (InputError, MmocRuntimeError) as exc:
        out.status, out.error = ERROR, f"the run could not start: {exc}"
        out.seconds = time.perf_counter() - started
        return out
    out.outcomes, judge_cost = await _outcomes(f, test, result, mode, options)
    out.cost_usd = result.trace.total_cost_usd + judge_cost
    unexpected = _unexpected_failures(test, result)
    if unexpected:
        out.error = result.error or f"step {unexpected[0]!r} failed"
    if unexpected or out.failures:
        out.status = FAILED
    out.seconds = time.perf_counter() - started
    return out


async def _run(f: TestFile, test: ir.Test, options: Mapping[str, Any]) -> RunResult:
    assert f.module is not None
    inputs = {item.name.name: item.value for item in test.inputs}
    # Each test its own circuit breakers: a test whose model keeps failing must not open a
    # breaker that skips the same model in the tests running beside it.
    run_options = {"breakers": BreakerRegistry(), **options}
    if test.replies:
        run_options["replies"] = {item.name.name: item.value for item in test.replies}
    result: RunResult = await f.module.run_result(inputs, **run_options)
    return result


async def _outcomes(f: TestFile, test: ir.Test, result: RunResult, mode: Mode,
                    options: Mapping[str, Any]) -> tuple[list[Outcome], float]:
    """Every expectation's verdict, and what the judges' calls cost."""
    assert f.pipeline is not None
    producers = {key: step.name for key, step in produced_keys(f.pipeline).items()}
    outcomes: list[Outcome] = []
    cost = 0.0
    for e in test.expectations:
        text = expectation_text(e)
        if isinstance(e, ir.ExpectJudged):
            assert f.module is not None
            outcome, verdict_run = await judge(
                e, text, result, model=resolve_model(f.pipeline, e.model.id),
                endpoints=f.module.PIPELINE.endpoints, producers=producers, mock=mode.mock,
                options=options,
            )
            cost += verdict_run.trace.total_cost_usd if verdict_run is not None else 0.0
        else:
            outcome = judge_outcome(e, text, result, producers)
        outcomes.append(outcome)
    return outcomes, cost


def _unexpected_failures(test: ir.Test, result: RunResult) -> list[str]:
    expected = {e.step.name for e in test.expectations
                if isinstance(e, ir.ExpectStep) and e.status == "failed"}
    return [name for name in result.failed_steps if name not in expected]


def judge_models(files: Sequence[TestFile]) -> list[str]:
    """Every model a test's judge calls (for the credential check of live runs)."""
    return list(dict.fromkeys(
        resolve_model(f.pipeline, e.model.id)
        for f in files if f.pipeline is not None for t in f.tests
        for e in t.expectations if isinstance(e, ir.ExpectJudged)
    ))
