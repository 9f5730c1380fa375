"""The synchronous wrappers run the executor's async attempt loop (`mmoc_runtime.attempts`)
without an event loop: what that must not change for their callers.

(That the wrappers and the executor decide alike is shown in tests/runtime/test_llm_path.py.)
"""

from __future__ import annotations

import asyncio

import pytest
from mmoc_runtime.breaker import CircuitBreaker
from mmoc_runtime.errors import FallbackExhaustedError, LlmError
from mmoc_runtime.fallback import FallbackChain
from mmoc_runtime.retry import RetryStrategy, with_retry


def test_sync_wrappers_work_from_synchronous_code_inside_a_running_loop() -> None:
    waits: list[float] = []
    outcomes = [LlmError("timeout", "slow"), "done"]

    def flaky() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def main() -> tuple[object, ...]:
        # A plain function called from async code: no `await`, and the loop is running.
        retried = RetryStrategy(max_retries=1).run(flaky, sleep=waits.append)
        guarded = CircuitBreaker(1, 60).call(lambda: "through")
        chosen = FallbackChain().add_option("only", lambda: "answer").execute()
        return retried, guarded, chosen

    assert asyncio.run(main()) == ("done", "through", ("only", "answer"))
    assert waits == [1.0]


def test_a_stop_iteration_from_a_plain_function_reaches_sync_callers_as_is() -> None:
    # Python turns a StopIteration leaving a coroutine into a RuntimeError (PEP 479); the
    # synchronous wrappers give back what the function raised, as plain loops did.
    with pytest.raises(StopIteration) as caught:
        with_retry(next, RetryStrategy(max_retries=1, base_delay_seconds=0), iter(()),
                   sleep_fn=lambda _s: None)
    assert [a["error_kind"] for a in caught.value.attempts] == ["error", "error"]  # type: ignore[attr-defined]

    breaker = CircuitBreaker(1, 60, lambda: 0.0)
    with pytest.raises(StopIteration):
        breaker.call(next, iter(()))
    assert breaker.state == "open"  # counted, as any unclassified exception

    with pytest.raises(FallbackExhaustedError) as exhausted:
        FallbackChain().add_option("empty", next).execute(iter(()))
    assert [type(exc) for _, exc in exhausted.value.errors] == [StopIteration]


def test_a_sync_call_interrupted_gives_its_half_open_trial_slot_back() -> None:
    now = [0.0]
    breaker = CircuitBreaker(1, 10, lambda: now[0])
    breaker.record_failure()
    now[0] = 10.0  # half-open: one trial slot

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(interrupted)
    assert breaker.state == "half_open" and breaker.allow()  # no verdict, slot free again


def test_a_synchronous_option_returning_an_awaitable_is_not_awaited() -> None:
    # `execute` and `call` are synchronous: a coroutine function's coroutine is the result,
    # as before (`aexecute`/`acall` await it).
    async def later() -> str:
        return "awaited"

    breaker = CircuitBreaker(1, 60)
    coro = breaker.call(later)
    assert asyncio.iscoroutine(coro)
    assert asyncio.run(coro) == "awaited"
    name, value = FallbackChain().add_option("a", later).execute()
    assert name == "a" and asyncio.iscoroutine(value)
    assert asyncio.run(value) == "awaited"
    assert asyncio.run(breaker.acall(later)) == "awaited"
