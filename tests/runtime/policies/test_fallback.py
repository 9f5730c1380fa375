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
        "All fallback options failed (3 tried): "
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
        "All fallback options failed (2 tried): "
        "x: overloaded: 529 overloaded; y: overloaded: 529 overloaded"
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
    # The earlier library raised RuntimeError for an empty chain, and its users match these
    # exact (lower-case) words.
    with pytest.raises(RuntimeError, match="no options configured"):
        FallbackChain().execute()
    with pytest.raises(RuntimeError, match="no options configured"):
        asyncio.run(FallbackChain().aexecute())
    with pytest.raises(ValueError, match="already"):
        FallbackChain().add_option("a", print).add_option("a", print)


# -- the earlier library's surface ----------------------------------------------------------


def test_all_failing_is_a_runtime_error_starting_like_the_seed_message() -> None:
    chain = (
        FallbackChain()
        .add_option("a", raiser(LlmError("server_error", "500"), [], "a"))
        .add_option("b", raiser(ValueError("nope"), [], "b"))
    )
    with pytest.raises(RuntimeError, match=r"^All fallback options failed") as caught:
        chain.execute()
    assert isinstance(caught.value, FallbackExhaustedError)
    assert "a: server_error: 500" in str(caught.value)
    assert "b: ValueError: nope" in str(caught.value)


def test_execute_forwards_keyword_arguments_to_each_option() -> None:
    seen: list[tuple[object, ...]] = []

    def failing(text: str, *, temperature: float) -> str:
        seen.append(("failing", text, temperature))
        raise LlmError("timeout", "slow")

    def working(text: str, *, temperature: float) -> str:
        seen.append(("working", text, temperature))
        return f"{text}@{temperature}"

    chain = FallbackChain().add_option("a", failing).add_option("b", working)
    assert chain.execute("hi", temperature=0.2) == ("b", "hi@0.2")
    assert seen == [("failing", "hi", 0.2), ("working", "hi", 0.2)]


def test_keyword_arguments_also_pass_through_an_option_breaker() -> None:
    async def async_working(text: str, *, temperature: float) -> str:
        return f"{text}@{temperature}"

    def sync_working(text: str, *, temperature: float) -> str:
        return f"{text}!{temperature}"

    breaker = CircuitBreaker(1, 60, lambda: 0.0)
    async_chain = FallbackChain().add_option("a", async_working, breaker=breaker)
    assert asyncio.run(async_chain.aexecute("hi", temperature=0.5)) == ("a", "hi@0.5")
    sync_chain = FallbackChain().add_option("s", sync_working, breaker=breaker)
    assert sync_chain.execute("x", temperature=1.0) == ("s", "x!1.0")
