"""The scheduler: one `Run` per pipeline run, driving its steps as an async DAG.

Every step starts as soon as the steps it depends on have finished (no layers). When a step
finishes it releases its dependants: the first that becomes ready continues in the same task
and any others get tasks of their own, so a chain costs one task and a fan-out is fully
concurrent. A failed step's dependants are `not_run`, a skipped step's `skipped`; independent
branches always finish and keep their results. An error inside a step fails that step only.

Transforms run inline in the event loop (a sync function blocks it while it runs; its
`timeout` can only interrupt an async one).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from inspect import isawaitable
from typing import Any

from .errors import error_kind
from .llm_call import LlmContext, run_llm_step
from .map_step import run_map
from .observer import Hooks, safe_call
from .plan import GROUP, MAP, Node, Plan
from .redaction import redact, scrub
from .spec import LlmStep, MapStep, ParallelGroup, TransformStep
from .trace import FAILED, NOT_RUN, RUNNING, SKIPPED, SUCCESS, StepTrace, Trace
from .transform_call import call_transform

_CoroutineType = types.CoroutineType
_Proxy = types.MappingProxyType


class Run:
    """The state of one run; its methods are the scheduler."""

    __slots__ = (
        "active",
        "capture",
        "clock",
        "crash",
        "done",
        "failed",
        "limit",
        "llm",
        "loop",
        "node_traces",
        "on_step_end",
        "on_step_start",
        "plan",
        "remaining",
        "t0",
        "tasks",
        "traces",
        "values",
    )

    def __init__(self, plan: Plan, values: dict[str, Any], trace: Trace, llm: LlmContext,
                 hooks: Hooks | None, clock: Callable[[], float],
                 concurrency: int | None, capture: bool) -> None:
        self.plan = plan
        self.values = values
        self.traces = trace.steps
        self.node_traces = [trace.steps[n.trace_index] for n in plan.nodes]
        self.remaining = [len(n.deps) for n in plan.nodes]
        # Looked up once per run: None when the observer lacks the callback (or has none).
        self.on_step_start = hooks.on_step_start if hooks is not None else None
        self.on_step_end = hooks.on_step_end if hooks is not None else None
        self.clock = clock
        self.t0 = clock()
        self.llm = llm
        self.limit = asyncio.Semaphore(concurrency) if concurrency else None
        self.tasks: list[asyncio.Task[None]] = []
        self.active = 0
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.failed: list[str] = []
        self.crash: BaseException | None = None
        self.capture = capture

    # -- scheduling -----------------------------------------------------------------------

    async def drive(self) -> None:
        for index in self.plan.roots:
            self._spawn(index)
        if not self.active:
            return
        try:
            await self.done
        finally:
            pending = [t for t in self.tasks if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self.crash is not None:
            raise self.crash

    def _spawn(self, index: int) -> None:
        self.active += 1
        self.tasks.append(self.loop.create_task(self._chain(index)))

    async def _chain(self, index: int | None) -> None:
        nodes, traces = self.plan.nodes, self.node_traces
        try:
            while index is not None:
                node = nodes[index]
                if node.plain:
                    await self._run_leaf(node.step, traces[index])  # type: ignore[arg-type]
                else:
                    await self._run_node(node)
                index = self._release(index)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a runtime bug: end the run, re-raise it
            self.crash = exc
            if not self.done.done():
                self.done.set_result(None)
        finally:
            self.active -= 1
            if not self.active and not self.done.done():
                self.done.set_result(None)

    def _release(self, index: int) -> int | None:
        """Count down `index`'s dependants; return one ready node to continue with."""
        nodes, remaining = self.plan.nodes, self.remaining
        follow: int | None = None
        resolved: list[int] | None = None  # nodes finished without running (rare)
        dependants = nodes[index].dependants
        while True:
            for dependant in dependants:
                remaining[dependant] -= 1
                if remaining[dependant]:
                    continue
                if self._blocked(nodes[dependant]):
                    resolved = resolved or []
                    resolved.append(dependant)  # release its own dependants in turn
                elif follow is None:
                    follow = dependant
                else:
                    self._spawn(dependant)
            if not resolved:
                return follow
            dependants = nodes[resolved.pop()].dependants

    def _blocked(self, node: Node) -> bool:
        """Mark `node` not_run/skipped when a dependency did not succeed."""
        skipped_by: str | None = None
        for dep in node.deps:
            status = self.node_traces[dep].status
            if status == SUCCESS:
                if skipped_by is None and self.plan.nodes[dep].kind == GROUP:
                    skipped_by = self._skipped_member_read(node, self.plan.nodes[dep])
                continue
            name = self.plan.nodes[dep].step.name
            if status in (FAILED, NOT_RUN):
                why = "failed" if status == FAILED else "did not run"
                self._resolve(node, NOT_RUN, f"dependency {name!r} {why}")
                return True
            if skipped_by is None:
                skipped_by = name
        if skipped_by is not None:
            self._resolve(node, SKIPPED, f"dependency {skipped_by!r} was skipped")
            return True
        return False

    def _skipped_member_read(self, node: Node, group_node: Node) -> str | None:
        """A skipped member of a finished group whose output `node` reads, if any: reading
        it skips `node` like any skipped producer would."""
        group = group_node.step
        assert isinstance(group, ParallelGroup)
        first = group_node.trace_index + 1
        for member, mst in zip(group.steps, self.traces[first:first + len(group.steps)]):
            if mst.status == SKIPPED and member.output_key in node.keys:
                return member.name
        return None

    def _resolve(self, node: Node, status: str, reason: str) -> None:
        """Finish a node (and its members) without running it."""
        first = node.trace_index
        count = len(node.step.steps) + 1 if isinstance(node.step, ParallelGroup) else 1
        for st in self.traces[first:first + count]:
            st.status = status
            st.skip_reason = reason if st is self.traces[first] else (
                f"group {node.step.name!r}: {reason}")
            self._ended(st)

    # -- running one node -----------------------------------------------------------------

    async def _run_node(self, node: Node) -> None:
        step = node.step
        st = self.node_traces[node.index]
        if step.when is not None and not self._condition_holds(step, st):
            if st.status == SKIPPED:
                self._resolve(node, SKIPPED, st.skip_reason or "condition is false")
            else:
                self._resolve_members_after_failure(node)
            return
        if node.kind == GROUP:
            assert isinstance(step, ParallelGroup)
            await self._run_group(step, st, node)
        elif node.kind == MAP:
            assert isinstance(step, MapStep)
            await self._run_map(step, st)
        else:
            assert isinstance(step, (LlmStep, TransformStep))
            await self._run_leaf(step, st)

    def _condition_holds(self, step: LlmStep | TransformStep | ParallelGroup | MapStep,
                         st: StepTrace) -> bool:
        """Evaluate `when`; a false condition marks `st` skipped, an error marks it failed."""
        assert step.when is not None
        try:
            holds = bool(step.when(_Proxy(self.values)))
        except Exception as exc:  # noqa: BLE001 - any error in a condition fails its step
            self._mark_failed(st, "condition", f"condition {step.when_text or ''} raised "
                                               f"{type(exc).__name__}: {exc}")
            return False
        if not holds:
            st.status = SKIPPED
            st.skip_reason = f"condition is false: {step.when_text}" if step.when_text else (
                "condition is false")
        return holds

    def _resolve_members_after_failure(self, node: Node) -> None:
        st = self.node_traces[node.index]
        self._ended(st)
        if isinstance(node.step, ParallelGroup):
            first = node.trace_index + 1
            for mst in self.traces[first:first + len(node.step.steps)]:
                mst.status = NOT_RUN
                mst.skip_reason = f"group {node.step.name!r}: its condition failed"
                self._ended(mst)

    async def _run_leaf(self, step: LlmStep | TransformStep, st: StepTrace) -> None:
        started = self._begin(step, st)
        limit = self.limit
        try:
            if limit is not None:
                await limit.acquire()
            try:
                value = self._start(step, st)
                if type(value) is _CoroutineType or isawaitable(value):
                    value = await value
            finally:
                if limit is not None:
                    limit.release()
        except asyncio.CancelledError:
            self._cancelled(st, started)
            raise
        except Exception as exc:  # noqa: BLE001 - a step's error fails that step, not the run
            self._failed(step, st, started, exc)
        else:
            self._succeeded(step, st, started, value)

    def _begin(self, step: LlmStep | TransformStep | ParallelGroup | MapStep,
               st: StepTrace) -> float:
        started = self.clock()
        st.status = RUNNING
        st.start_ms = (started - self.t0) * 1000.0
        if self.on_step_start is not None:
            safe_call(self.on_step_start, step.name, st.kind, st.model)
        return started

    def _succeeded(self, step: LlmStep | TransformStep | MapStep, st: StepTrace, started: float,
                   value: Any) -> None:
        self.values[step.output_key] = value
        st.status = SUCCESS
        if self.capture:
            st.output = scrub(value, self.llm.secrets)
        st.latency_ms = (self.clock() - started) * 1000.0
        self._ended(st)

    def _failed(self, step: LlmStep | TransformStep | MapStep, st: StepTrace, started: float,
                exc: Exception) -> None:
        self._mark_failed(st, error_kind(exc), str(exc) or type(exc).__name__)
        st.latency_ms = (self.clock() - started) * 1000.0
        self._ended(st)

    def _mark_failed(self, st: StepTrace, kind: str | None, error: str) -> None:
        """The one place a step becomes finally failed: `failed` keeps the order steps failed
        in (the trace keeps plan order), so the run's `failed_step` is the first to fail."""
        st.status = FAILED
        st.error_kind = kind
        st.error = redact(error, self.llm.secrets)
        self.failed.append(st.name)

    def _cancelled(self, st: StepTrace, started: float) -> None:
        # Not final: a group timeout or the run's end turns this into its real outcome.
        st.status = FAILED
        st.error_kind = "cancelled"
        st.error = "cancelled"
        st.latency_ms = (self.clock() - started) * 1000.0

    def _start(self, step: LlmStep | TransformStep, st: StepTrace) -> Any:
        """Start the step: a sync transform's value, or an awaitable of the step's value."""
        if type(step) is TransformStep:
            value = self._transform(step)
            if step.timeout is not None and (type(value) is _CoroutineType
                                             or isawaitable(value)):
                return _bounded(value, step)
            return value
        return run_llm_step(self.llm, step, self.values, st)  # type: ignore[arg-type]

    def _transform(self, step: TransformStep) -> Any:
        """Call the transform; the result may be an awaitable the caller awaits."""
        return call_transform(step, self.values)

    async def _run_map(self, step: MapStep, st: StepTrace) -> None:
        """A map step (`map_step.run_map`): one entry in the trace, however many items."""
        started = self._begin(step, st)
        try:
            if step.timeout is not None:
                async with asyncio.timeout(step.timeout):
                    value = await run_map(self, step, st)
            else:
                value = await run_map(self, step, st)
        except asyncio.CancelledError:
            self._cancelled(st, started)
            raise
        except TimeoutError as exc:
            self._failed(step, st, started, TimeoutError(
                f"map step {step.name!r} timed out after {step.timeout}s") if step.timeout
                else exc)
        except Exception as exc:  # noqa: BLE001 - a step's error fails that step, not the run
            self._failed(step, st, started, exc)
        else:
            self._succeeded(step, st, started, value)

    async def _run_group(self, group: ParallelGroup, st: StepTrace, node: Node) -> None:
        """Members run concurrently (at most `group.concurrency` at once); a failing member
        fails the group once its siblings finish, and their results are kept."""
        started = self._begin(group, st)
        cap = asyncio.Semaphore(group.concurrency) if group.concurrency else None
        member_traces = self.traces[node.trace_index + 1:node.trace_index + 1 + len(group.steps)]

        async def member(step: LlmStep | TransformStep, mst: StepTrace) -> None:
            if step.when is not None and not self._condition_holds(step, mst):
                self._ended(mst)
                return
            if cap is None:
                await self._run_leaf(step, mst)
            else:
                async with cap:
                    await self._run_leaf(step, mst)

        runs = [member(s, m) for s, m in zip(group.steps, member_traces)]
        timed_out: str | None = None  # the group's error when it timed out
        try:
            if group.timeout is not None:
                async with asyncio.timeout(group.timeout):
                    await asyncio.gather(*runs)
            else:
                await asyncio.gather(*runs)
        except TimeoutError:
            timed_out = f"group {group.name!r} timed out after {group.timeout}s"
            for mst in member_traces:
                if mst.status == FAILED and mst.error_kind == "cancelled":  # was running
                    self._mark_failed(mst, "timeout", timed_out)
                    self._ended(mst)
                elif mst.status not in (SUCCESS, FAILED, SKIPPED, NOT_RUN):  # never started
                    mst.status, mst.skip_reason = NOT_RUN, timed_out
                    self._ended(mst)
        failed = [m for m in member_traces if m.status == FAILED]
        if timed_out:
            self._mark_failed(st, "timeout", timed_out)
        elif failed:
            self._mark_failed(st, failed[0].error_kind, "; ".join(
                f"member {m.name!r} failed: {m.error}" for m in failed))
        elif all(m.status == SKIPPED for m in member_traces):
            st.status = SKIPPED
            st.skip_reason = "every member was skipped"
        else:
            st.status = SUCCESS
            if group.output_key:
                self.values[group.output_key] = {
                    s.output_key: self.values[s.output_key]
                    for s, m in zip(group.steps, member_traces) if m.status == SUCCESS
                }
        st.latency_ms = (self.clock() - started) * 1000.0
        self._ended(st)

    def _ended(self, st: StepTrace) -> None:
        if self.on_step_end is not None:
            safe_call(self.on_step_end, st)


async def _bounded(awaitable: Any, step: TransformStep) -> Any:
    """Await a transform's result within its timeout; on expiry a `TimeoutError` (kind
    `timeout`) that names the step and the limit."""
    timeout = step.timeout
    try:
        async with asyncio.timeout(timeout) as scope:
            return await awaitable
    except TimeoutError:
        if not scope.expired():
            raise  # the transform's own timeout error, with its own message
        raise TimeoutError(f"step {step.name!r} timed out after {timeout:g}s") from None
