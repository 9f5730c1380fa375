"""The one attempt loop: retry, Retry-After, circuit breaker and fallback, for every caller.

Every retried or breaker-guarded call in the runtime goes through `attempt_loop`, and every
ordered fallback through `first_success`: the executor's llm steps (`llm_call`),
`RetryStrategy.run`/`arun` and `with_retry`, `CircuitBreaker.call`/`acall`, and
`FallbackChain.execute`/`aexecute`. The loop alone decides what is retried (the policy's
`should_retry`), how long to wait (`wait_before`: backoff, jitter, the Retry-After floor, the
cap), when to give up (attempts spent, or a breaker that would still reject after the wait)
and what the breaker is told. Callers differ only in what they record about each attempt (an
`AttemptLog`) and in their calling convention.

The loop is a coroutine. The synchronous entry points run it with `sync=True`, where it calls
and sleeps with plain functions and never awaits, so `drive` finishes it in one step, without
an event loop (and inside one, from synchronous code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .errors import FallbackExhaustedError

if TYPE_CHECKING:
    import random

    from .breaker import CircuitBreaker
    from .retry import RetryStrategy

T = TypeVar("T")

# A sleep: async, or a plain function that sleeps by itself (its result is then not awaited).
Sleep = Callable[[float], Any]


class AttemptLog:
    """What a caller records about the attempts of one `attempt_loop`; this one records nothing.

    The loop calls `begin` for every attempt, then exactly one of `rejected`, `failed` or
    `succeeded` (or nothing, when the call is cancelled), and `gave_up` once before it
    raises a failure. Recording never changes a decision.
    """

    __slots__ = ()

    def begin(self, retry_number: int, wait: float) -> None:
        """An attempt starts: retry `retry_number` (0: the first call), `wait` seconds from
        now (not slept yet, so a display can say "retrying in 2 s")."""

    def rejected(self, breaker: CircuitBreaker) -> Exception:
        """The breaker refused the attempt without a call; returns the error to raise."""
        return breaker.rejection()

    def failed(self, exc: Exception, latency: float) -> None:
        """The call raised `exc` after `latency` seconds (on the loop's clock)."""

    def succeeded(self, result: Any, latency: float) -> None:
        """The call returned `result` after `latency` seconds."""

    def gave_up(self, exc: Exception) -> None:
        """`exc` is raised next: no attempt follows."""


NO_LOG = AttemptLog()


async def attempt_loop(
    call: Callable[[], Any],
    retry: RetryStrategy | None,
    breaker: CircuitBreaker | None,
    log: AttemptLog,
    sleep: Sleep,
    rng: random.Random | None,
    clock: Callable[[], float],
    sync: bool = False,
) -> Any:
    """Call `call()` until it succeeds or `retry` gives up; return its result or raise its
    last error (the same object).

    - `retry` None: one attempt. Only `Exception`s are retried; anything else (cancellation,
      KeyboardInterrupt) passes straight through, giving back a half-open trial slot.
    - Before retry `n` the loop sleeps `retry.wait_before(n, exc, rng)` seconds (0 included);
      a sleep's result is awaited when it is awaitable.
    - `breaker`: asked before every attempt (a refusal raises `log.rejected(...)`, no call);
      told every outcome. A retry the breaker would still refuse after the whole wait is not
      waited for: the last error is raised at once, so a fallback can take over.
    - `sync`: `call()` returns the result itself and nothing is awaited (see `drive`);
      otherwise `call()` returns an awaitable of it.
    """
    retry_number = 0
    wait = 0.0
    while True:
        log.begin(retry_number, wait)
        if retry_number:
            pause = sleep(wait)
            if not sync and pause is not None and isawaitable(pause):
                await pause
        if breaker is not None and not breaker.allow():
            raise log.rejected(breaker)
        started = clock()
        try:
            result = call() if sync else await call()
        except Exception as exc:
            log.failed(exc, clock() - started)
            if breaker is not None:
                breaker.record_failure(exc)
            next_wait = _next_wait(retry, retry_number, exc, rng, breaker)
            if next_wait is None:
                log.gave_up(exc)
                raise
            wait = next_wait
            retry_number += 1
            continue
        except BaseException:  # cancelled or interrupted: no verdict on the endpoint
            if breaker is not None:
                breaker.release()
            raise
        latency = clock() - started
        if breaker is not None:
            breaker.record_success()
        log.succeeded(result, latency)
        return result


def _next_wait(
    retry: RetryStrategy | None,
    retry_number: int,
    exc: Exception,
    rng: random.Random | None,
    breaker: CircuitBreaker | None,
) -> float | None:
    """The wait before the next attempt after failure `exc`, or None: give up now."""
    if retry is None or retry_number >= retry.max_retries or not retry.should_retry(exc):
        return None
    wait = retry.wait_before(retry_number, exc, rng)
    if breaker is not None and breaker.retry_in() > wait:
        return None  # the breaker would reject the retry after the whole wait
    return wait


def guarded_call(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    breaker: CircuitBreaker | None,
    sync: bool,
) -> Coroutine[Any, Any, Any]:
    """One attempt of `fn(*args, **kwargs)` behind `breaker` (None: none), not retried: what
    `CircuitBreaker.call`/`acall` and each `FallbackChain` option run. Async (`sync` False),
    `fn` may be a coroutine function or a plain one."""
    call = partial(fn, *args, **kwargs) if sync else partial(_awaited, fn, args, kwargs)
    return attempt_loop(call, None, breaker, NO_LOG, _never, None, _no_clock, sync)


async def _awaited(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`fn(*args, **kwargs)`, awaited when it returns an awaitable."""
    result = fn(*args, **kwargs)
    return (await result) if isawaitable(result) else result


async def first_success(
    names: Sequence[str],
    attempt: Callable[[int], Awaitable[T]],
    exhausted: Callable[[list[tuple[str, BaseException]]], BaseException] = (
        FallbackExhaustedError
    ),
) -> T:
    """Fallback: `await attempt(i)` for each option in order; the first result wins. Any
    `Exception` moves on to the next option (client errors too: another model may accept the
    prompt), including one `attempt(i)` raises before it returns an awaitable; anything else
    passes through. When every option failed, raises `exhausted([(name, error), ...])`."""
    failures: list[tuple[str, BaseException]] = []
    for index, name in enumerate(names):
        try:
            return await attempt(index)
        except Exception as exc:  # noqa: BLE001 - any failure moves on to the next option
            failures.append((name, _unmasked(exc)))
    raise exhausted(failures)


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (an `attempt_loop` with `sync=True`) to its end."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    except RuntimeError as exc:
        stop = _unmasked(exc)
        if stop is exc:
            raise
    else:  # pragma: no cover - with `sync=True` the loop awaits nothing
        coro.close()
        raise RuntimeError("a synchronous call awaited something: use the async variant")
    raise stop  # outside the handler, so the StopIteration keeps its own context


def _unmasked(exc: BaseException) -> BaseException:
    """The StopIteration a plain function raised (`next` on an empty iterator), which Python
    turned into a RuntimeError as it left the loop's coroutine (PEP 479); `exc` otherwise.
    Synchronous callers get it back as the function raised it."""
    cause = exc.__cause__
    if (type(exc) is RuntimeError and isinstance(cause, StopIteration)
            and str(exc) == "coroutine raised StopIteration"):
        return cause
    return exc


def _never(seconds: float) -> None:  # pragma: no cover - a loop without retries never sleeps
    raise AssertionError("no retry policy, no sleep")


def _no_clock() -> float:
    return 0.0
