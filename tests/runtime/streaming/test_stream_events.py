"""`mmoc_runtime.stream` on the mock provider: which events a run yields, in what order, and
what they carry; the mock's streaming options; the trace's time to first token."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mmoc_runtime import (
    Event,
    InputError,
    InputSpec,
    LlmRequest,
    LlmResponse,
    LlmStep,
    MockProvider,
    ParallelGroup,
    PipelineObserver,
    PipelineSpec,
    ProviderRegistry,
    Retrying,
    RetryStrategy,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    TransformStep,
    execute,
    stream,
)

RETRY = RetryStrategy(max_retries=2, base_delay_seconds=0.0)


class Sleeps:
    """The mock's injected sleep: records each wait and yields to the loop once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def collect(spec: PipelineSpec, inputs: dict[str, Any] | None = None,
            mock: MockProvider | None = None, **options: Any) -> list[Event]:
    registry = ProviderRegistry()
    registry.register("mock", mock or MockProvider())

    async def go() -> list[Event]:
        return [e async for e in stream(spec, inputs or {}, mock=True, providers=registry,
                                        **options)]

    return asyncio.run(go())


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def upper(text: str) -> str:
    return text.upper()


def test_a_chain_yields_run_step_and_text_events_in_order() -> None:
    spec = PipelineSpec("chain", inputs=(InputSpec("topic"),), steps=(
        LlmStep("draft", "mock/m", "Write about {topic} in a few words", "draft"),
        TransformStep("shout", upper, "loud", ("draft",)),
    ), outputs=("loud",))
    events = collect(spec, {"topic": "owls"})
    assert isinstance(events[0], RunStarted) and events[0].pipeline == "chain"
    assert names(events[1:2]) == ["StepStarted"] and names(events[-3:]) == [
        "StepStarted", "StepFinished", "RunFinished"]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert all(d.step == "draft" for d in deltas) and len(deltas) > 3
    done = events[-1]
    assert isinstance(done, RunFinished) and done.success
    assert done.outputs == {"loud": "".join(d.text for d in deltas).upper()}
    shout = [e for e in events if getattr(e, "step", None) == "shout"]
    assert names(shout) == ["StepStarted", "StepFinished"]  # no text for a transform
    assert isinstance(shout[0], StepStarted) and shout[0].model is None
    assert isinstance(shout[1], StepFinished) and shout[1].ttft is None
    draft_end = next(e for e in events if isinstance(e, StepFinished) and e.step == "draft")
    assert draft_end.ttft is not None and draft_end.tokens > 0


def test_parallel_steps_interleave_their_text() -> None:
    members = tuple(LlmStep(name, "mock/m?chunk_ms=5", f"{name} says one two three four", name)
                    for name in ("left", "right"))
    spec = PipelineSpec("fan", steps=(ParallelGroup("both", members),))
    events = collect(spec, mock=MockProvider(sleep=Sleeps()))
    steps = [e.step for e in events if isinstance(e, TextDelta)]
    first_right, last_left = steps.index("right"), len(steps) - 1 - steps[::-1].index("left")
    assert first_right < last_left  # right's text began before left's ended
    ends = [e.step for e in events if isinstance(e, StepFinished)]
    assert ends[-1] == "both" and sorted(ends[:2]) == ["left", "right"]


def test_chunk_ms_waits_between_pieces_with_the_mocks_sleep() -> None:
    sleeps = Sleeps()
    spec = PipelineSpec("slow", steps=(LlmStep("s", "mock/m?chunk_ms=20", "a b c", "out"),))
    events = collect(spec, mock=MockProvider(sleep=sleeps))
    pieces = [e for e in events if isinstance(e, TextDelta)]
    assert sleeps.waits == [0.02] * (len(pieces) - 1)


def test_a_retry_before_any_text_does_not_restart_and_one_after_does() -> None:
    spec = PipelineSpec("retries", steps=(
        LlmStep("early", "mock/m?fail_first=1", "say hello there friend", "a", retry=RETRY),
        LlmStep("late", "mock/m?interrupt_first=1", "say hello there friend", "b",
                retry=RETRY),
    ))
    events = collect(spec)
    retries = {e.step: e for e in events if isinstance(e, Retrying)}
    assert (retries["early"].error_kind, retries["early"].restarted) == ("server_error", False)
    assert (retries["late"].error_kind, retries["late"].restarted) == ("stream_interrupted",
                                                                        True)
    done = events[-1]
    assert isinstance(done, RunFinished) and done.success


def test_a_failed_run_ends_with_run_finished_not_an_exception() -> None:
    spec = PipelineSpec("broken", steps=(
        LlmStep("bad", "mock/m?fail=always", "x", "a"),
        LlmStep("after", "mock/m", "{a}", "b"),
    ))
    events = collect(spec)
    done = events[-1]
    assert isinstance(done, RunFinished) and not done.success
    assert done.error is not None and "bad" in done.error
    after = [e for e in events if getattr(e, "step", None) == "after"]
    assert len(after) == 1 and isinstance(after[0], StepFinished)
    assert after[0].status == "not_run"


def test_bad_inputs_raise_from_the_first_anext() -> None:
    spec = PipelineSpec("needs", inputs=(InputSpec("topic"),),
                        steps=(LlmStep("s", "mock/m", "{topic}", "out"),))
    with pytest.raises(InputError):
        collect(spec, {})


def test_leaving_the_loop_early_cancels_the_run() -> None:
    mock = MockProvider(sleep=Sleeps())  # each piece waits, so the run is still going
    spec = PipelineSpec("long", steps=(
        LlmStep("one", "mock/m?chunk_ms=1", "first reply with several words", "a"),
        LlmStep("two", "mock/m", "{a}", "b"),
    ))
    registry = ProviderRegistry()
    registry.register("mock", mock)

    async def go() -> None:
        events = stream(spec, {}, mock=True, providers=registry)
        async for event in events:
            if isinstance(event, TextDelta):
                break
        await events.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(0)

    asyncio.run(go())
    assert mock.total_calls == 1  # step two never ran


def test_the_callers_observer_still_sees_the_run() -> None:
    seen: list[str] = []

    class Watcher(PipelineObserver):
        def on_step_end(self, step_trace: Any) -> None:
            seen.append(f"end {step_trace.name}")

        def on_text_delta(self, step: str, text: str) -> None:
            seen.append("text")

        def on_attempt_end(self, step: str, attempt: Any, call: Any) -> None:
            seen.append(f"attempt end {attempt.status}")

    watcher = Watcher()
    spec = PipelineSpec("watched", steps=(LlmStep("s", "mock/m", "a b c", "out"),))
    collect(spec, observer=watcher)
    assert seen[-2:] == ["attempt end success", "end s"] and seen.count("text") > 1
    assert watcher.last_trace is not None  # the run's trace was kept, as with `execute`


class WholeReply:
    """A provider with `complete` only."""

    name = "whole"

    async def complete(self, request: LlmRequest) -> LlmResponse:
        return LlmResponse("all at once", 3, 3)

    async def aclose(self) -> None:
        return None


def test_a_provider_without_stream_sends_its_reply_as_one_piece() -> None:
    registry = ProviderRegistry()
    registry.register("whole", WholeReply())
    spec = PipelineSpec("plain", steps=(LlmStep("s", "whole/m", "x", "out"),))

    async def go() -> list[Event]:
        return [e async for e in stream(spec, {}, providers=registry)]

    events = asyncio.run(go())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["all at once"]


def test_a_run_that_does_not_stream_records_ttft_too() -> None:
    spec = PipelineSpec("plain", steps=(
        LlmStep("s", "mock/m", "x", "out"),
        TransformStep("t", upper, "loud", ("out",)),
    ))
    ticks = iter(range(1000))
    result = asyncio.run(execute(spec, {}, mock=True, clock=lambda: float(next(ticks))))
    llm, transform = result.trace.steps
    assert llm.ttft_ms is not None and 0 < llm.ttft_ms <= llm.attempts[0].latency_ms
    assert llm.to_dict()["ttft_ms"] == llm.ttft_ms
    assert transform.ttft_ms is None


@pytest.mark.parametrize("option", ["chunk_ms=-1", "chunk_ms=soon", "interrupt_first=x"])
def test_a_bad_streaming_option_of_the_mock_is_a_config_error(option: str) -> None:
    spec = PipelineSpec("bad", steps=(LlmStep("s", f"mock/m?{option}", "x", "out"),))
    done = collect(spec)[-1]
    assert isinstance(done, RunFinished)
    st = done.trace.step("s")
    assert (st.status, st.error_kind) == ("failed", "config")
    assert option.split("=")[0] in (st.error or "")
