"""The executor's scheduling: dependency order, concurrency, failures, conditions, inputs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from mmoc_runtime import (
    ConfigError,
    InputError,
    InputSpec,
    LlmStep,
    MockProvider,
    ParallelGroup,
    PipelineSpec,
    ProviderRegistry,
    TransformStep,
    execute,
    execute_sync,
)


def recorder(log: list[str], name: str, value: Any = None) -> Any:
    async def step(**kwargs: Any) -> Any:
        log.append(name)
        return value if value is not None else f"{name}({','.join(sorted(kwargs))})"

    return step


def test_out_of_order_declarations_run_in_dependency_order() -> None:
    log: list[str] = []
    spec = PipelineSpec(
        "ooo",
        inputs=(InputSpec("seed"),),
        steps=(  # declared last-first: c reads b, b reads a, a reads the input
            TransformStep("c", recorder(log, "c"), "c_out", reads=("b_out", "a_out")),
            TransformStep("b", recorder(log, "b"), "b_out", reads=("a_out",)),
            TransformStep("a", recorder(log, "a"), "a_out", reads=("seed",)),
            TransformStep("d", recorder(log, "d"), "d_out", after=("c",)),
        ),
    )
    result = execute_sync(spec, {"seed": "1"})
    assert result.success
    assert log == ["a", "b", "c", "d"]
    assert result.values["c_out"] == "c(a_out,b_out)"
    assert [s.name for s in result.trace.steps] == ["c", "b", "a", "d"]


def test_llm_steps_out_of_order_see_upstream_text() -> None:
    spec = PipelineSpec(
        "llm-ooo",
        inputs=(InputSpec("topic"),),
        outputs=("summary",),
        steps=(
            LlmStep("summarize", "mock/s", "Summarize: {research}", "summary"),
            LlmStep("research", "mock/r", "Research {topic}", "research"),
        ),
    )
    result = execute_sync(spec, {"topic": "tides"}, providers=ProviderRegistry())
    assert result.success
    assert result.outputs == {"summary": "[mock/s] Summarize: [mock/r] Research tides"}


def test_a_step_starts_when_its_own_dependencies_finish_not_its_layer() -> None:
    # slow -> after_slow ; fast -> after_fast. after_fast must not wait for slow.
    events: list[str] = []
    release_slow = asyncio.Event()

    async def slow() -> str:
        events.append("slow start")
        await release_slow.wait()
        events.append("slow end")
        return "s"

    async def fast() -> str:
        events.append("fast")
        return "f"

    async def after_fast(f: str) -> str:
        events.append("after_fast")
        release_slow.set()
        return f + "!"

    spec = PipelineSpec("nolayers", steps=(
        TransformStep("slow", slow, "s"),
        TransformStep("fast", fast, "f"),
        TransformStep("after_fast", after_fast, "af", reads=("f",)),
        TransformStep("after_slow", recorder(events, "after_slow"), "as", reads=("s",)),
    ))
    result = execute_sync(spec, {})
    assert result.success
    assert events.index("after_fast") < events.index("slow end") < events.index("after_slow")


def test_group_branches_both_start_before_either_finishes() -> None:
    events: list[str] = []
    both_started = asyncio.Event()

    def branch(name: str) -> Any:
        async def run() -> str:
            events.append(f"{name} start")
            if sum(e.endswith("start") for e in events) == 2:
                both_started.set()
            await both_started.wait()
            events.append(f"{name} end")
            return name

        return run

    spec = PipelineSpec("group", steps=(
        ParallelGroup("fan", (
            TransformStep("left", branch("left"), "l"),
            TransformStep("right", branch("right"), "r"),
        ), output_key="both", timeout=5.0),
    ))
    result = execute_sync(spec, {})
    assert result.success, result.error
    assert events[:2] == ["left start", "right start"]
    assert result.values["both"] == {"l": "left", "r": "right"}
    assert [(s.name, s.group) for s in result.trace.steps] == [
        ("fan", None), ("left", "fan"), ("right", "fan")
    ]


def test_timeout_fails_the_step_and_its_dependants_only() -> None:
    never = asyncio.Event()

    async def hangs() -> str:
        await never.wait()
        return "never"

    spec = PipelineSpec("timeouts", steps=(
        TransformStep("stuck", hangs, "stuck_out", timeout=0.01),
        TransformStep("needs_stuck", recorder([], "x"), "x", reads=("stuck_out",)),
        TransformStep("later", recorder([], "y"), "y", after=("needs_stuck",)),
        TransformStep("free", recorder([], "free", "kept"), "free_out"),
        TransformStep("after_free", recorder([], "af"), "af", reads=("free_out",)),
    ))
    result = execute_sync(spec, {})
    statuses = {s.name: s.status for s in result.trace.steps}
    assert statuses == {"stuck": "failed", "needs_stuck": "not_run", "later": "not_run",
                        "free": "success", "after_free": "success"}
    assert not result.success and result.failed_step == "stuck"
    assert result.trace.step("stuck").error_kind == "timeout"
    assert result.values["free_out"] == "kept" and "af" in result.values
    assert "needs_stuck" in (result.trace.step("later").skip_reason or "")


def test_llm_timeout_is_per_attempt_and_retryable() -> None:
    from mmoc_runtime import RetryStrategy
    from support.fakes import FakeTime

    class Slow(MockProvider):
        def __init__(self) -> None:
            super().__init__()
            self.calls_made = 0

        async def complete(self, request: Any) -> Any:
            self.calls_made += 1
            if self.calls_made == 1:
                await asyncio.Event().wait()  # the first attempt hangs
            return await super().complete(request)

    registry = ProviderRegistry()
    registry.register("mock", Slow())
    fake = FakeTime()
    spec = PipelineSpec("t", steps=(
        LlmStep("ask", "mock/m", "hi", "out", timeout=0.01,
                retry=RetryStrategy(max_retries=1, base_delay_seconds=0.5)),
    ))
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    assert result.success
    attempts = result.trace.step("ask").attempts
    assert [(a.status, a.error_kind) for a in attempts] == [("failed", "timeout"),
                                                           ("success", None)]
    assert fake.sleeps == [0.5]


def test_false_condition_skips_step_and_dependants_and_run_succeeds() -> None:
    def never(values: Mapping[str, Any]) -> bool:
        return bool(values.get("flag"))

    spec = PipelineSpec("cond", inputs=(InputSpec("flag", "bool", False),), steps=(
        TransformStep("gate", recorder([], "g"), "g", when=never, when_text="flag"),
        TransformStep("next", recorder([], "n"), "n", reads=("g",)),
        TransformStep("other", recorder([], "o", "o"), "o"),
    ))
    result = execute_sync(spec, {})
    assert result.success
    gate, nxt = result.trace.step("gate"), result.trace.step("next")
    assert (gate.status, nxt.status) == ("skipped", "skipped")
    assert gate.skip_reason == "condition is false: flag" and gate.when == "flag"
    assert nxt.skip_reason == "dependency 'gate' was skipped"
    assert result.outputs == {"o": "o"}  # nothing from the skipped branch


def test_condition_waits_for_the_keys_it_reads() -> None:
    spec = PipelineSpec("cond-reads", steps=(
        TransformStep("gated", recorder([], "gated", "ran"), "gated",
                      when=lambda v: v.get("verdict") == "go", when_text="verdict == 'go'",
                      when_reads=("verdict",)),
        TransformStep("judge", recorder([], "judge", "go"), "verdict"),
    ))
    result = execute_sync(spec, {})
    assert result.trace.step("gated").status == "success"


def test_a_raising_condition_fails_its_step() -> None:
    def broken(values: Mapping[str, Any]) -> bool:
        raise ValueError("boom")

    spec = PipelineSpec("badcond", steps=(
        TransformStep("s", recorder([], "s"), "s", when=broken, when_text="broken()"),
    ))
    result = execute_sync(spec, {})
    assert not result.success
    assert result.trace.step("s").status == "failed"
    assert "boom" in (result.error or "")


def test_group_member_failure_keeps_siblings_and_fails_group() -> None:
    async def bad() -> str:
        raise RuntimeError("member broke")

    spec = PipelineSpec("g", steps=(
        ParallelGroup("grp", (
            TransformStep("ok", recorder([], "ok", "fine"), "ok_out"),
            TransformStep("bad", bad, "bad_out"),
        ), output_key="grp_out"),
        TransformStep("after", recorder([], "a"), "a", after=("grp",)),
    ))
    result = execute_sync(spec, {})
    statuses = {s.name: s.status for s in result.trace.steps}
    assert statuses == {"grp": "failed", "ok": "success", "bad": "failed", "after": "not_run"}
    assert result.values["ok_out"] == "fine" and "grp_out" not in result.values
    assert result.failed_step == "bad"


def test_group_timeout_fails_running_members_and_never_starts_waiting_ones() -> None:
    async def block() -> str:
        await asyncio.Event().wait()  # never set: only the group's timeout ends it
        return "never"

    spec = PipelineSpec("gt", steps=(
        ParallelGroup("grp", (
            TransformStep("fast", recorder([], "fast", "done"), "fast_out"),
            TransformStep("block1", block, "b1"),
            TransformStep("block2", block, "b2"),
            TransformStep("late", recorder([], "late"), "late_out"),  # waits for the cap
        ), output_key="grp_out", concurrency=2, timeout=0.01),
        TransformStep("after", recorder([], "a"), "a", after=("grp",)),
    ))
    result = execute_sync(spec, {})
    by_name = {s.name: s for s in result.trace.steps}
    message = "group 'grp' timed out after 0.01s"
    assert {n: s.status for n, s in by_name.items()} == {
        "grp": "failed", "fast": "success", "block1": "failed", "block2": "failed",
        "late": "not_run", "after": "not_run"}
    for name in ("grp", "block1", "block2"):
        assert (by_name[name].error_kind, by_name[name].error) == ("timeout", message)
    assert by_name["late"].skip_reason == message
    assert result.failed_steps == ("block1", "block2", "grp")
    assert result.failed_step == "block1"
    assert result.values["fast_out"] == "done" and "grp_out" not in result.values


def test_group_condition_applies_to_every_member() -> None:
    spec = PipelineSpec("gc", steps=(
        ParallelGroup("grp", (
            TransformStep("m1", recorder([], "m1"), "m1"),
            TransformStep("m2", recorder([], "m2"), "m2"),
        ), when=lambda v: False, when_text="false"),
    ))
    result = execute_sync(spec, {})
    assert result.success
    assert {s.name: s.status for s in result.trace.steps} == {
        "grp": "skipped", "m1": "skipped", "m2": "skipped"}


def test_group_concurrency_cap_and_global_concurrency() -> None:
    running = 0
    peak = 0

    async def work() -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return 1

    members = tuple(TransformStep(f"m{i}", work, f"k{i}") for i in range(6))
    capped = PipelineSpec("cap", steps=(ParallelGroup("g", members, concurrency=2),))
    assert execute_sync(capped, {}).success and peak == 2
    peak = 0
    wide = PipelineSpec("wide", steps=tuple(TransformStep(f"w{i}", work, f"w{i}")
                                            for i in range(6)))
    assert execute_sync(wide, {}, concurrency=3).success and peak == 3
    peak = 0
    assert execute_sync(wide, {}).success and peak == 6


def test_missing_inputs_are_all_named_and_no_model_is_called() -> None:
    registry = ProviderRegistry()
    mock = MockProvider()
    registry.register("mock", mock)
    spec = PipelineSpec("in", inputs=(InputSpec("topic"), InputSpec("lang"),
                                      InputSpec("tone", default="dry")),
                        steps=(LlmStep("s", "mock/m", "{topic} {lang} {tone}", "o"),))
    with pytest.raises(InputError) as info:
        execute_sync(spec, {}, providers=registry)
    assert info.value.missing == ("topic", "lang")
    assert "topic" in str(info.value) and "lang" in str(info.value)
    assert mock.total_calls == 0


def test_input_types_are_checked_and_text_converted() -> None:
    spec = PipelineSpec("types", inputs=(InputSpec("n", "int"), InputSpec("x", "float"),
                                         InputSpec("b", "bool"), InputSpec("j", "json")))
    ok = execute_sync(spec, {"n": "3", "x": 2, "b": "true", "j": {"a": [1]}})
    assert ok.values == {"n": 3, "x": 2.0, "b": True, "j": {"a": [1]}}
    with pytest.raises(InputError) as info:
        execute_sync(spec, {"n": "three", "x": True, "b": "maybe", "j": object()})
    message = str(info.value)
    for name in ("'n'", "'x'", "'b'", "'j'"):
        assert name in message


def test_transform_calling_conventions() -> None:
    def sync_upper(text: str) -> str:
        return text.upper()

    spec = PipelineSpec("tx", inputs=(InputSpec("text"),), steps=(
        TransformStep("up", sync_upper, "up", reads=("text",)),
        TransformStep("ctx", lambda ctx: f"{ctx['up']}+{len(ctx)}", "ctx_out", reads=("up",),
                      pass_context=True),
        TransformStep("missing", sync_upper, "m", reads=("nope",)),
    ))
    result = execute_sync(spec, {"text": "hi"})
    assert result.values["up"] == "HI" and result.values["ctx_out"] == "HI+2"
    missing = result.trace.step("missing")
    assert missing.status == "failed" and "nope" in (missing.error or "")


def test_a_cycle_or_unknown_after_is_a_config_error() -> None:
    loop = PipelineSpec("loop", steps=(
        TransformStep("a", recorder([], "a"), "a", reads=("b",)),
        TransformStep("b", recorder([], "b"), "b", reads=("a",)),
    ))
    with pytest.raises(ConfigError, match="cycle"):
        execute_sync(loop, {})
    unknown = PipelineSpec("u", steps=(TransformStep("a", recorder([], "a"), "a",
                                                     after=("ghost",)),))
    with pytest.raises(ConfigError, match="ghost"):
        execute_sync(unknown, {})


def test_cancelling_a_run_cancels_its_steps() -> None:
    started = asyncio.Event()
    cancelled: list[str] = []

    async def forever() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("yes")
            raise
        return "x"

    spec = PipelineSpec("c", steps=(TransformStep("f", forever, "f"),))

    async def main() -> None:
        task = asyncio.create_task(execute(spec, {}))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cancelled == ["yes"]


def test_reading_a_skipped_group_member_skips_the_reader() -> None:
    spec = PipelineSpec("member-skip", steps=(
        ParallelGroup("grp", (
            TransformStep("ran", recorder([], "ran", "r"), "ran_out"),
            TransformStep("gated", recorder([], "gated", "g"), "gated_out",
                          when=lambda v: False, when_text="false"),
        )),
        TransformStep("uses_ran", lambda ran_out: ran_out + "!", "u1", reads=("ran_out",)),
        TransformStep("uses_gated", lambda gated_out: gated_out, "u2", reads=("gated_out",)),
    ))
    result = execute_sync(spec, {})
    assert result.success
    statuses = {s.name: s.status for s in result.trace.steps}
    assert statuses == {"grp": "success", "ran": "success", "gated": "skipped",
                        "uses_ran": "success", "uses_gated": "skipped"}
    assert result.trace.step("uses_gated").skip_reason == "dependency 'gated' was skipped"
