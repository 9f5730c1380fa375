"""FallbackChain: order, the answering option, the all-fail message, breakers per option."""

from __future__ import annotations

import asyncio

import pytest
from mmoc_runtime.breaker import CircuitBreaker
from mmoc_runtime.errors import FallbackExhaustedError, LlmError
from mmoc_runtime.fallback import FallbackChain


def raiser(exc: Exception, log: list[str], name: str):  # type: ignore[no-untyped-def]
    def fn(*args: object) -> object:
        log.append(name)
        raise exc

    return fn


def answer(value: object, log: list[str], name: str):  # type: ignore[no-untyped-def]
    def fn(*args: object) -> object:
        log.append(name)
        return (value, args)

    return fn


def test_first_success_wins_and_later_options_are_not_called() -> None:
    log: list[str] = []
    chain = (
        FallbackChain()
        .add_option("primary", raiser(LlmError("rate_limit", "slow down"), log, "primary"))
        .add_option("backup", answer("B", log, "backup"))
        .add_option("last", answer("C", log, "last"))
    )
    name, result = chain.execute("prompt")
    assert (name, result) == ("backup", ("B", ("prompt",)))
    assert log == ["primary", "backup"]
    assert chain.options == ("primary", "backup", "last")


def test_all_failing_lists_every_option_with_its_error_in_order() -> None:
    log: list[str] = []
    first = LlmError("rate_limit", "429 too many requests")
    second = ValueError("reply was empty")
    third = LlmError("bad_request", "context too long")
    chain = FallbackChain()
    chain.add_option("openai/gpt-4o", raiser(first, log, "a"))
    chain.add_option("anthropic/claude-haiku-4-5", raiser(second, log, "b"))
    chain.add_option("gemini/gemini-2.5-flash", raiser(third, log, "c"))
    with pytest.raises(FallbackExhaustedError) as caught:
        chain.execute()
    message = str(caught.value)
    assert message == (
        "all 3 fallback options failed: "
        "openai/gpt-4o: rate_limit: 429 too many requests; "
        "anthropic/claude-haiku-4-5: ValueError: reply was empty; "
        "gemini/gemini-2.5-flash: bad_request: context too long"
    )
    assert caught.value.errors == [
        ("openai/gpt-4o", first),
        ("anthropic/claude-haiku-4-5", second),
        ("gemini/gemini-2.5-flash", third),
    ]
    assert caught.value.kind == "bad_request"  # judged by the failure it ended on
    assert log == ["a", "b", "c"]


def test_async_chain_takes_sync_and_async_options_in_order() -> None:
    log: list[str] = []

    async def slow_fail(x: int) -> int:
        log.append("async-fail")
        raise LlmError("timeout", "took too long")

    async def good(x: int) -> int:
        log.append("async-good")
        return x + 1

    chain = (
        FallbackChain()
        .add_option("a", slow_fail)
        .add_option("b", raiser(LlmError("server_error", "500"), log, "sync-fail"))
        .add_option("c", good)
    )
    assert asyncio.run(chain.aexecute(41)) == ("c", 42)
    assert log == ["async-fail", "sync-fail", "async-good"]


def test_async_all_fail_message_matches_the_sync_one() -> None:
    async def bad() -> None:
        raise LlmError("overloaded", "529 overloaded")

    chain = FallbackChain().add_option("x", bad).add_option("y", bad)
    with pytest.raises(FallbackExhaustedError) as caught:
        asyncio.run(chain.aexecute())
    assert str(caught.value) == (
        "all 2 fallback options failed: x: overloaded: 529 overloaded; y: overloaded: 529 overloaded"
    )
    assert caught.value.kind == "overloaded"


def test_an_option_whose_breaker_is_open_is_skipped_without_a_call() -> None:
    log: list[str] = []
    tripped = CircuitBreaker(1, 60, lambda: 0.0, name="openai/gpt-4o")
    tripped.record_failure()
    chain = (
        FallbackChain()
        .add_option("openai/gpt-4o", answer("never", log, "a"), breaker=tripped)
        .add_option("backup", answer("B", log, "b"))
    )
    assert chain.execute()[0] == "backup"
    assert log == ["b"]


def test_an_option_failure_is_recorded_on_its_breaker() -> None:
    breaker = CircuitBreaker(1, 60, lambda: 0.0)
    chain = (
        FallbackChain()
        .add_option("a", raiser(LlmError("server_error", "boom"), [], "a"), breaker=breaker)
        .add_option("b", answer("B", [], "b"))
    )
    asyncio.run(chain.aexecute())
    assert breaker.state == "open"


def test_empty_chain_and_duplicate_names_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="no options"):
        FallbackChain().execute()
    with pytest.raises(ValueError, match="already"):
        FallbackChain().add_option("a", print).add_option("a", print)
