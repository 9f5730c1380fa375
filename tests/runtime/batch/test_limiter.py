"""The rate limiter under concurrency, in virtual time: rpm never passed in any one-second
window beyond the bucket, concurrency caps, tpm corrected from usage, a 429 pausing everyone,
and the limiter shared by every run of a process."""

from __future__ import annotations

import asyncio

import pytest
from mmoc_runtime import InputSpec, LlmStep, PipelineSpec, execute
from mmoc_runtime.errors import LlmError
from mmoc_runtime.limiter import LimiterRegistry, Limits, ModelLimiter, parse_limits
from mmoc_runtime.providers import ProviderRegistry
from mmoc_runtime.providers.base import LlmResponse
from support.fakes import FakeTime, ScriptedProvider


def _limiter(limits: Limits, time: FakeTime) -> ModelLimiter:
    return ModelLimiter("openai/gpt-4o", limits, clock=time.clock, sleep=time.sleep)


async def _grant_times(limiter: ModelLimiter, time: FakeTime, callers: int,
                       tokens: int = 0) -> list[float]:
    granted: list[float] = []

    async def one() -> None:
        permit = await limiter.acquire(tokens)
        granted.append(time.now)
        permit.release(tokens)

    await asyncio.gather(*(one() for _ in range(callers)))
    return granted


def _most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


def test_rpm_holds_in_every_one_second_window_under_concurrency() -> None:
    time = FakeTime()
    limiter = _limiter(Limits(rpm=120), time)  # 2 a second, bucket of 2
    granted = asyncio.run(_grant_times(limiter, time, 200))
    assert len(granted) == 200
    # In any window of one second: the refill (2) plus the bucket (2), never more.
    assert _most_in_one_second(granted) <= 4
    # And over the whole run the rate is the configured one: 198 after the first burst of 2.
    assert max(granted) == pytest.approx(99.0, abs=0.01)


def test_burst_sets_the_bucket_size() -> None:
    time = FakeTime()
    limiter = _limiter(Limits(rpm=60, burst=10), time)
    granted = asyncio.run(_grant_times(limiter, time, 12))
    assert granted.count(0.0) == 10  # the bucket's worth at once, then one a second
    assert max(granted) == pytest.approx(2.0)


def test_concurrency_caps_calls_in_flight() -> None:
    limiter = ModelLimiter("m", Limits(concurrency=3))
    peak = 0

    async def one() -> None:
        nonlocal peak
        permit = await limiter.acquire()
        peak = max(peak, limiter.in_flight)
        await asyncio.sleep(0.001)
        permit.release()

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(30)))

    asyncio.run(main())
    assert peak == 3
    assert limiter.in_flight == 0 and limiter.granted == 30


def test_tokens_per_minute_are_corrected_from_the_reply() -> None:
    time = FakeTime()
    limiter = _limiter(Limits(tpm=600), time)  # 10 tokens a second, bucket of 10

    async def main() -> list[float]:
        first = await limiter.acquire(10)
        first.release(40)  # the reply used 30 more than estimated: a debt of 30 tokens
        granted = []
        second = await limiter.acquire(10)
        granted.append(time.now)
        second.release(10)
        return granted

    # Without the correction the second call would start at once (the bucket refilled 0).
    assert asyncio.run(main()) == [pytest.approx(4.0)]


def test_a_429_pauses_the_model_for_every_caller() -> None:
    time = FakeTime()
    limiter = _limiter(Limits(rpm=6000), time)

    async def main() -> list[float]:
        limiter.pause(5.0)
        return await _grant_times(limiter, time, 3)

    assert min(asyncio.run(main())) >= 5.0
    assert limiter.pauses == 1


def test_a_429_with_retry_after_pauses_other_runs_through_the_llm_path() -> None:
    """Run A's call gets a 429 with Retry-After 7s; run B, sharing the registry, waits it out."""
    time = FakeTime()
    registry = LimiterRegistry(clock=time.clock, sleep=time.sleep)
    registry.configure({"scripted/m": Limits(rpm=6000)})
    limited = LlmError("rate_limit", "slow down", status=429, retry_after=7.0)
    provider = ScriptedProvider(script=[limited])
    started: list[float] = []

    async def complete(request):  # type: ignore[no-untyped-def]
        started.append(time.now)
        return await ScriptedProvider.complete(provider, request)

    provider.complete = complete  # type: ignore[method-assign]
    providers = ProviderRegistry()
    providers.register("scripted", provider)
    spec = PipelineSpec("p", steps=(LlmStep("a", "scripted/m", "hi", "x"),))

    async def main() -> None:
        first = await execute(spec, {}, providers=providers, limiters=registry)
        assert first.trace.steps[0].error_kind == "rate_limit"
        await execute(spec, {}, providers=providers, limiters=registry)

    asyncio.run(main())
    assert started == [0.0, pytest.approx(7.0)]


def test_the_registry_is_shared_by_runs_and_keyed_by_provider_and_model() -> None:
    time = FakeTime()
    registry = LimiterRegistry(clock=time.clock, sleep=time.sleep)
    registry.configure({"scripted": Limits(rpm=60, burst=1)})
    provider = ScriptedProvider(default=LlmResponse("ok", 1, 1))
    providers = ProviderRegistry()
    providers.register("scripted", provider)
    spec = PipelineSpec("p", inputs=(InputSpec("t"),),
                        steps=(LlmStep("a", "scripted/m1", "{t}", "x"),
                               LlmStep("b", "scripted/m2", "{t}", "y")))

    async def main() -> None:
        await asyncio.gather(*(execute(spec, {"t": str(i)}, providers=providers,
                                       limiters=registry) for i in range(3)))

    asyncio.run(main())
    # Six calls over two models of one provider: one provider limiter, one a second.
    assert len(provider.requests) == 6
    assert time.now == pytest.approx(5.0)
    assert [lim.key for lim in registry.all()] == ["scripted"]


def test_a_pipelines_own_limits_yield_to_the_command_line() -> None:
    registry = LimiterRegistry()
    registry.configure({"openai/gpt-4o": Limits(rpm=10)})
    registry.configure({"openai/gpt-4o": Limits(rpm=999), "openai": Limits(rpm=5)},
                       override=False)
    assert registry.limits == {"openai/gpt-4o": Limits(rpm=10), "openai": Limits(rpm=5)}
    # A bare catalog name counts against its provider and its model.
    assert [lim.key for lim in registry.for_model("gpt-4o?x=1")] == ["openai", "openai/gpt-4o"]


@pytest.mark.parametrize(("text", "message"), [
    ("rpm:0", "must be a number > 0"),
    ("rpm:fast", "is not a number"),
    ("speed:3", "write rpm:N"),
    ("concurrency:2.5", "whole number"),
    ("", "no limit given"),
])
def test_bad_limit_text_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_limits(text)


def test_limit_text_reads_every_axis() -> None:
    assert parse_limits("rpm:500, tpm=200_000,concurrency:16") == Limits(
        rpm=500, tpm=200000, concurrency=16)
