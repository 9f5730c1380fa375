"""RetryStrategy: delays, jitter bounds, retry decisions, Retry-After, the run/arun loops."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime.errors import (
    CircuitOpenError,
    ConfigError,
    InputError,
    LlmError,
    TemplateError,
)
from mmoc_runtime.retry import AttemptRecord, BackoffStrategy, RetryStrategy, with_retry


def llm_error(kind: str, retry_after: float | None = None) -> LlmError:
    return LlmError(kind, f"{kind} happened", retry_after=retry_after)


class Sleeps:
    """An injected async sleep that records what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def failing_then(results: list[BaseException | str]):  # type: ignore[no-untyped-def]
    calls = iter(results)

    async def fn() -> str:
        item = next(calls)
        if isinstance(item, BaseException):
            raise item
        return item

    return fn


# -- delays ---------------------------------------------------------------------------------


def test_exponential_base_one_no_jitter_gives_one_then_two() -> None:
    strategy = RetryStrategy(max_retries=2, base_delay_seconds=1.0)
    assert [strategy.get_delay(n) for n in range(2)] == [1.0, 2.0]
    assert [strategy.delay(n) for n in range(2)] == [1.0, 2.0]


def test_constant_gives_the_base_every_time() -> None:
    strategy = RetryStrategy(max_retries=2, backoff=BackoffStrategy.CONSTANT)
    assert [strategy.get_delay(n) for n in range(2)] == [1.0, 1.0]


def test_backoff_given_as_text_is_normalised_to_the_enum() -> None:
    strategy = RetryStrategy(backoff="constant")
    assert strategy.backoff is BackoffStrategy.CONSTANT
    assert strategy == RetryStrategy(backoff=BackoffStrategy.CONSTANT)


def test_seed_defaults_are_kept() -> None:
    strategy = RetryStrategy()
    assert (strategy.max_retries, strategy.backoff, strategy.base_delay_seconds) == (
        3,
        BackoffStrategy.EXPONENTIAL,
        1.0,
    )
    assert (strategy.max_delay_seconds, strategy.retry_on, strategy.multiplier) == (60.0, (), 2.0)
    assert strategy.jitter == "none"


@pytest.mark.parametrize(
    ("given", "mode"), [(None, "none"), (False, "none"), (True, "full"), ("full", "full")]
)
def test_jitter_accepts_none_and_booleans(given: object, mode: str) -> None:
    strategy = RetryStrategy(jitter=given)  # type: ignore[arg-type]
    assert strategy.jitter == mode
    assert strategy == RetryStrategy(jitter=mode)
    if mode == "none":
        assert strategy.delay(2, random.Random(1)) == 4.0


def test_huge_retry_numbers_are_capped_not_overflowing() -> None:
    strategy = RetryStrategy(max_delay_seconds=30.0)
    assert strategy.get_delay(5000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"base_delay_seconds": -0.5},
        {"multiplier": 0.5},
        {"jitter": "half"},
        {"backoff": "linear"},
        {"retry_on": ("rate_limted",)},
    ],
)
def test_bad_policies_are_refused_with_a_clear_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryStrategy(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    base=st.floats(0, 100, allow_nan=False),
    cap=st.floats(0, 500, allow_nan=False),
    multiplier=st.floats(1, 10, allow_nan=False),
    retry=st.integers(0, 60),
    backoff=st.sampled_from(list(BackoffStrategy)),
)
def test_delay_never_exceeds_the_cap(
    base: float, cap: float, multiplier: float, retry: int, backoff: BackoffStrategy
) -> None:
    strategy = RetryStrategy(
        backoff=backoff, base_delay_seconds=base, max_delay_seconds=cap, multiplier=multiplier
    )
    assert 0.0 <= strategy.get_delay(retry) <= cap


@settings(max_examples=150, deadline=None)
@given(
    base=st.floats(0.01, 10, allow_nan=False),
    cap=st.floats(0.01, 100, allow_nan=False),
    retry=st.integers(0, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_full_jitter_stays_within_zero_and_the_capped_delay(
    base: float, cap: float, retry: int, seed: int
) -> None:
    strategy = RetryStrategy(base_delay_seconds=base, max_delay_seconds=cap, jitter="full")
    upper = min(cap, base * 2.0**retry)
    wait = strategy.delay(retry, random.Random(seed))
    assert 0.0 <= wait <= upper


def test_full_jitter_actually_varies() -> None:
    strategy = RetryStrategy(base_delay_seconds=10.0, jitter="full")
    rng = random.Random(7)
    assert len({strategy.delay(0, rng) for _ in range(20)}) > 1


# -- decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rate_limit", "timeout", "server_error", "connection"])
def test_transient_kinds_are_retried_by_default(kind: str) -> None:
    assert RetryStrategy().should_retry(llm_error(kind))


@pytest.mark.parametrize("kind", ["bad_request", "auth", "not_found", "quota"])
def test_client_errors_are_never_retried_even_when_named(kind: str) -> None:
    assert not RetryStrategy().should_retry(llm_error(kind))
    assert not RetryStrategy(retry_on=(kind,)).should_retry(llm_error(kind))
    assert not RetryStrategy(retry_on=(Exception,)).should_retry(llm_error(kind))


def test_builtin_timeout_and_connection_errors_are_classified() -> None:
    assert RetryStrategy().should_retry(TimeoutError())
    assert RetryStrategy().should_retry(ConnectionResetError())


def test_default_retries_unclassified_exceptions_as_the_seed_did() -> None:
    # The earlier library's empty retry_on retried every exception: a plain ValueError too.
    assert RetryStrategy().should_retry(ValueError("flaky parse"))
    assert RetryStrategy().should_retry(RuntimeError("boom"))
    waits: list[float] = []
    outcomes = iter([KeyError("missing"), "done"])

    def fn() -> str:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    assert RetryStrategy(max_retries=1).run(fn, sleep=waits.append) == "done"
    assert waits == [1.0]


@pytest.mark.parametrize(
    "error",
    [
        LlmError("bad_request", "400"),
        LlmError("auth", "401"),
        LlmError("quota", "no credit"),
        LlmError("blocked", "safety"),
        LlmError("invalid_output", "not JSON"),
        CircuitOpenError("openai/gpt-4o"),
        ConfigError("no API key"),
        InputError("missing topic"),
        TemplateError("missing key"),
    ],
)
def test_default_never_retries_client_config_input_or_output_errors(error: Exception) -> None:
    assert not RetryStrategy().should_retry(error)


@pytest.mark.parametrize(
    "error", [ConfigError("no key"), InputError("bad input"), TemplateError("bad template")]
)
def test_config_input_and_template_errors_are_never_retried_even_when_named(
    error: Exception,
) -> None:
    assert not RetryStrategy(retry_on=(Exception,)).should_retry(error)


def test_with_retry_binds_arguments_and_sleeps_with_sleep_fn() -> None:
    calls: list[tuple[int, str]] = []

    def flaky(x: int, *, label: str) -> str:
        calls.append((x, label))
        if len(calls) < 3:
            raise ValueError("not yet")
        return f"{label}{x}"

    waits: list[float] = []
    strategy = RetryStrategy(max_retries=3, base_delay_seconds=1.0)
    assert with_retry(flaky, strategy, 7, label="n", sleep_fn=waits.append) == "n7"
    assert calls == [(7, "n")] * 3
    assert waits == [1.0, 2.0]


def test_with_retry_raises_the_last_error_and_stops_on_unmatched_ones() -> None:
    attempts: list[int] = []

    def broken() -> None:
        attempts.append(1)
        raise TypeError("wrong type")

    with pytest.raises(TypeError):
        with_retry(broken, RetryStrategy(retry_on=(ValueError,)), sleep_fn=lambda _s: None)
    assert len(attempts) == 1


def test_invalid_output_is_retried_only_when_named() -> None:
    assert RetryStrategy(retry_on=("invalid_output",)).should_retry(llm_error("invalid_output"))


def test_retry_on_filters_by_kind() -> None:
    strategy = RetryStrategy(retry_on=("rate_limit",))
    assert strategy.should_retry(llm_error("rate_limit"))
    assert not strategy.should_retry(llm_error("server_error"))


def test_retry_on_accepts_exception_classes() -> None:
    class Flaky(Exception):
        pass

    strategy = RetryStrategy(retry_on=(Flaky, "timeout"))
    assert strategy.should_retry(Flaky())
    assert strategy.should_retry(TimeoutError())
    assert not strategy.should_retry(ValueError())


def test_retry_after_floors_the_wait() -> None:
    strategy = RetryStrategy(base_delay_seconds=1.0, max_delay_seconds=60.0)
    assert strategy.wait_before(0, llm_error("rate_limit", retry_after=7.5)) == 7.5
    # a Retry-After shorter than the backoff does not shorten it
    assert strategy.wait_before(3, llm_error("rate_limit", retry_after=2.0)) == 8.0


def test_retry_after_is_clamped_to_the_cap() -> None:
    strategy = RetryStrategy(max_delay_seconds=10.0)
    assert strategy.wait_before(0, llm_error("rate_limit", retry_after=3600)) == 10.0


def test_retry_after_floors_full_jitter_too() -> None:
    strategy = RetryStrategy(base_delay_seconds=100.0, max_delay_seconds=100, jitter="full")
    rng = random.Random(1)
    waits = [
        strategy.wait_before(0, llm_error("rate_limit", retry_after=5), rng) for _ in range(50)
    ]
    assert min(waits) >= 5.0


# -- the loops ------------------------------------------------------------------------------


def test_arun_records_the_exact_waits_and_returns_the_result() -> None:
    strategy = RetryStrategy(max_retries=3, base_delay_seconds=1.0)
    sleeps = Sleeps()
    fn = failing_then([llm_error("rate_limit"), llm_error("server_error"), "ok"])
    assert asyncio.run(strategy.arun(fn, sleep=sleeps)) == "ok"
    assert sleeps.waits == [1.0, 2.0]


def test_arun_honours_retry_after_on_every_attempt() -> None:
    strategy = RetryStrategy(max_retries=2, base_delay_seconds=1.0)
    sleeps = Sleeps()
    fn = failing_then([llm_error("rate_limit", 4), llm_error("rate_limit", 0.5), "ok"])
    asyncio.run(strategy.arun(fn, sleep=sleeps))
    assert sleeps.waits == [4.0, 2.0]


def test_exhaustion_raises_the_last_error_with_the_attempt_history() -> None:
    strategy = RetryStrategy(max_retries=2, backoff="constant", base_delay_seconds=0.5)
    sleeps = Sleeps()
    last = llm_error("timeout")
    fn = failing_then([llm_error("rate_limit"), llm_error("server_error"), last])
    with pytest.raises(LlmError) as caught:
        asyncio.run(strategy.arun(fn, sleep=sleeps, clock=lambda: 0.0))
    assert caught.value is last
    assert caught.value.attempts == [
        {"attempt": 1, "error_kind": "rate_limit", "error": "rate_limit happened",
         "wait_before": 0.0, "latency_seconds": 0.0},
        {"attempt": 2, "error_kind": "server_error", "error": "server_error happened",
         "wait_before": 0.5, "latency_seconds": 0.0},
        {"attempt": 3, "error_kind": "timeout", "error": "timeout happened",
         "wait_before": 0.5, "latency_seconds": 0.0},
    ]  # fmt: skip
    assert sleeps.waits == [0.5, 0.5]


def test_history_is_attached_to_any_exception_type() -> None:
    strategy = RetryStrategy(max_retries=1, base_delay_seconds=0)
    fn = failing_then([ConnectionError("down"), ConnectionError("still down")])
    with pytest.raises(ConnectionError) as caught:
        asyncio.run(strategy.arun(fn, sleep=Sleeps()))
    assert [a["error_kind"] for a in caught.value.attempts] == ["connection", "connection"]  # type: ignore[attr-defined]


def test_a_client_error_stops_at_once_without_sleeping() -> None:
    strategy = RetryStrategy(max_retries=5)
    sleeps = Sleeps()
    fn = failing_then([llm_error("auth"), "never reached"])
    with pytest.raises(LlmError) as caught:
        asyncio.run(strategy.arun(fn, sleep=sleeps))
    assert caught.value.kind == "auth"
    assert sleeps.waits == []
    assert len(caught.value.attempts) == 1


def test_on_attempt_sees_every_attempt_in_order() -> None:
    strategy = RetryStrategy(max_retries=2, base_delay_seconds=1.0)
    seen: list[AttemptRecord] = []
    fn = failing_then([llm_error("rate_limit"), "ok"])
    asyncio.run(strategy.arun(fn, sleep=Sleeps(), on_attempt=seen.append))
    assert [(r.attempt, r.error_kind, r.wait_before) for r in seen] == [
        (1, "rate_limit", 0.0),
        (2, None, 1.0),
    ]


def test_cancellation_is_not_retried() -> None:
    strategy = RetryStrategy(max_retries=3)
    sleeps = Sleeps()

    async def fn() -> str:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(strategy.arun(fn, sleep=sleeps))
    assert sleeps.waits == []


def test_sync_run_sleeps_with_the_injected_sleep() -> None:
    strategy = RetryStrategy(max_retries=2, base_delay_seconds=1.0)
    waits: list[float] = []
    outcomes = iter([llm_error("rate_limit"), llm_error("rate_limit"), "done"])

    def fn() -> str:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    assert strategy.run(fn, sleep=waits.append) == "done"
    assert waits == [1.0, 2.0]


def test_sync_run_exhaustion_adds_a_note() -> None:
    strategy = RetryStrategy(max_retries=1, base_delay_seconds=0)

    def fn() -> str:
        raise llm_error("overloaded")

    with pytest.raises(LlmError) as caught:
        strategy.run(fn, sleep=lambda _s: None)
    assert "gave up after 2 attempts" in caught.value.__notes__


@settings(max_examples=150, deadline=None)
@given(
    cap=st.floats(0, 120, allow_nan=False),
    retry_after=st.one_of(st.none(), st.floats(-10, 1e6, allow_nan=False)),
    retry=st.integers(0, 30),
    jitter=st.sampled_from(["none", "full"]),
    seed=st.integers(0, 2**16),
)
def test_wait_before_is_floored_by_retry_after_and_never_above_the_cap(
    cap: float, retry_after: float | None, retry: int, jitter: str, seed: int
) -> None:
    strategy = RetryStrategy(max_delay_seconds=cap, jitter=jitter)
    wait = strategy.wait_before(retry, llm_error("rate_limit", retry_after), random.Random(seed))
    assert 0.0 <= wait <= cap
    if retry_after is not None:
        assert wait >= min(retry_after, cap)
