"""Retry policy (seed names `RetryStrategy`, `BackoffStrategy`) and its standalone loops.

The policy is plain frozen data that generated modules build at import time. It answers three
questions for the one attempt loop (`attempts.attempt_loop`), which the executor's llm steps,
`run`/`arun` here, `with_retry`, and the breaker and fallback wrappers all share:

- `should_retry(exc)`: is this failure worth another attempt? With an empty `retry_on`, the
  transient kinds and unclassified exceptions are (as in the earlier library, which retried
  every exception); client errors, missing keys and bad inputs never are.
- `delay(n)` / `wait_before(n, exc)`: how long to sleep before retry number `n` (0-based),
  with optional AWS "full jitter" and the server's Retry-After as a floor.
- `get_delay(n)`: the seed's name for the delay before jitter.

Unlike the earlier library, whose backoff computed delays but never slept, `run`/`arun` really
sleep; tests inject `sleep` (and `rng` for jitter) so no test waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from .attempts import AttemptLog, attempt_loop, drive
from .errors import ALL_KINDS, CLIENT_KINDS, RETRYABLE_KINDS, error_kind, retry_after_of

if TYPE_CHECKING:
    import random
    from dataclasses import dataclass
else:  # the same classes, their methods written on first use: see lazy_dataclass
    from .lazy_dataclass import dataclass

T = TypeVar("T")

JITTER_MODES: tuple[str, ...] = ("none", "full")

# What an empty `retry_on` retries: the transient kinds, plus any unclassified exception
# (kind "error", such as a plain ValueError from a user's function), as the earlier library
# retried every exception. Not `invalid_output` (opt in by naming it), not `circuit_open`,
# and never the kinds below.
DEFAULT_RETRY_KINDS: frozenset[str] = RETRYABLE_KINDS | {"error"}

# Kinds no `retry_on` can make retried: the next attempt fails the same way (a bad request,
# a missing key, missing inputs, a template that does not render).
NEVER_RETRIED_KINDS: frozenset[str] = CLIENT_KINDS | {"config", "input", "template"}


def _jitter_mode(value: object) -> str:
    """`jitter` as "none" or "full"; None and False mean none, True means full."""
    if value is None or value is False:
        return "none"
    if value is True:
        return "full"
    if isinstance(value, str) and value in JITTER_MODES:
        return value
    raise ValueError(f"unknown jitter {value!r} (choose none, full)")


class BackoffStrategy(str, Enum):
    CONSTANT = "constant"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt of a retried call, as passed to `on_attempt` and kept in the history."""

    attempt: int  # 1-based: attempt 1 is the first call, attempt 2 the first retry
    error_kind: str | None  # None: the attempt succeeded
    error: str | None
    wait_before: float  # seconds slept before this attempt (0.0 for the first)
    latency_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RetryStrategy:
    max_retries: int = 3  # additional attempts after the first
    backoff: BackoffStrategy | str = BackoffStrategy.EXPONENTIAL  # a str is normalised
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    retry_on: tuple[Any, ...] = ()  # error kinds (str) or exception classes; empty: defaults
    multiplier: float = 2.0
    jitter: str | bool | None = "none"  # "none" or "full"; None/False: none, True: full

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ so `backoff` is always the enum and
        # `retry_on` always a hashable tuple, whatever the caller passed.
        try:
            backoff = BackoffStrategy(self.backoff)
        except ValueError:
            choices = ", ".join(b.value for b in BackoffStrategy)
            raise ValueError(f"unknown backoff {self.backoff!r} (choose {choices})") from None
        object.__setattr__(self, "backoff", backoff)
        object.__setattr__(self, "retry_on", tuple(self.retry_on))
        object.__setattr__(self, "jitter", _jitter_mode(self.jitter))
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if not (self.base_delay_seconds >= 0 and math.isfinite(self.base_delay_seconds)):
            raise ValueError(f"base_delay_seconds must be >= 0, got {self.base_delay_seconds}")
        if not self.max_delay_seconds >= 0:
            raise ValueError(f"max_delay_seconds must be >= 0, got {self.max_delay_seconds}")
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        for item in self.retry_on:
            if isinstance(item, str):
                # "error" is the kind of any unclassified exception; naming it retries those.
                if item not in ALL_KINDS and item != "error":
                    known = ", ".join(sorted(ALL_KINDS))
                    raise ValueError(f"unknown error kind {item!r} in retry_on (known: {known})")
            elif not (isinstance(item, type) and issubclass(item, BaseException)):
                raise TypeError(f"retry_on takes error kinds or exception classes, got {item!r}")

    # -- delays ---------------------------------------------------------------------------

    def get_delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based), before jitter, capped."""
        if attempt < 0:
            raise ValueError(f"retry number must be >= 0, got {attempt}")
        if self.backoff is BackoffStrategy.CONSTANT:
            raw = self.base_delay_seconds
        else:
            try:
                raw = self.base_delay_seconds * self.multiplier**attempt
            except OverflowError:  # multiplier**attempt beyond float range: the cap wins
                raw = math.inf
        return min(raw, self.max_delay_seconds)

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Delay before retry `retry_number` with jitter applied (full: uniform(0, capped))."""
        capped = self.get_delay(retry_number)
        if self.jitter == "full":
            return (rng or _default_rng()).uniform(0.0, capped)
        return capped

    def wait_before(
        self, retry_number: int, exc: BaseException | None, rng: random.Random | None = None
    ) -> float:
        """The wait before retry `retry_number` after failure `exc`.

        The server's Retry-After floors the jittered delay (we never call back sooner than
        asked), but the result is clamped to `max_delay_seconds` so a hostile or buggy header
        cannot park a run for an hour.
        """
        wait = self.delay(retry_number, rng)
        requested = retry_after_of(exc) if exc is not None else None
        if requested is not None and math.isfinite(requested) and requested > wait:
            wait = min(requested, self.max_delay_seconds)
        return wait

    # -- decisions ------------------------------------------------------------------------

    def should_retry(self, exc: BaseException) -> bool:
        """Whether `exc` deserves another attempt (ignores how many attempts are left).

        Empty `retry_on`: the transient kinds and unclassified exceptions
        (`DEFAULT_RETRY_KINDS`). Otherwise only what `retry_on` names. Never a kind in
        `NEVER_RETRIED_KINDS`.
        """
        kind = error_kind(exc)
        if kind in NEVER_RETRIED_KINDS:
            return False  # bad request, auth, quota, no key, bad inputs: fails the same again
        if not self.retry_on:
            return kind in DEFAULT_RETRY_KINDS
        for item in self.retry_on:
            if isinstance(item, str):
                if item == kind:
                    return True
            elif isinstance(exc, item):
                return True
        return False

    # -- standalone loops -----------------------------------------------------------------

    async def arun(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,  # async, or plain (not awaited)
        rng: random.Random | None = None,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> T:
        """Call `fn` until it succeeds or the policy gives up; then raise the last error.

        Only `Exception`s are retried: cancellation and KeyboardInterrupt pass straight
        through. The raised error carries `.attempts`, one dict per attempt. The loop is the
        executor's own (`attempts.attempt_loop`).
        """
        result: T = await attempt_loop(fn, self, None, _History(on_attempt), sleep, rng, clock)
        return result

    def run(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> T:
        """The synchronous twin of `arun`: the same loop, driven without an event loop."""
        loop = attempt_loop(fn, self, None, _History(on_attempt), sleep, rng, clock, sync=True)
        result: T = drive(loop)
        return result


def with_retry(
    fn: Callable[..., T],
    strategy: RetryStrategy,
    /,
    *args: Any,
    sleep_fn: Callable[[float], Any] = time.sleep,
    **kwargs: Any,
) -> T:
    """The earlier library's helper: `fn(*args, **kwargs)` retried under `strategy`.

    `strategy.run` with the arguments bound; `sleep_fn` is the injectable sleep (the seed's
    name). The last error is raised as is, with its attempt history attached.
    """
    return strategy.run(lambda: fn(*args, **kwargs), sleep=sleep_fn)


@cache
def _default_rng() -> random.Random:
    """The shared default source of jitter (tests pass their own seeded `random.Random`), made
    at the first jittered wait: a generated module's import does without `random`."""
    import random

    return random.Random()


class _History(AttemptLog):
    """What `run`/`arun` record: an `AttemptRecord` per attempt, passed to `on_attempt` and
    attached to the error they give up on (`exc.attempts`)."""

    __slots__ = ("history", "on_attempt", "wait")

    def __init__(self, on_attempt: Callable[[AttemptRecord], None] | None) -> None:
        self.on_attempt = on_attempt
        self.history: list[AttemptRecord] = []
        self.wait = 0.0  # seconds slept before the current attempt

    def begin(self, retry_number: int, wait: float) -> None:
        self.wait = wait

    def failed(self, exc: Exception, latency: float) -> None:
        self._note(_failed(len(self.history), exc, self.wait, latency))

    def succeeded(self, result: Any, latency: float) -> None:
        self._note(_succeeded(len(self.history), self.wait, latency))

    def gave_up(self, exc: Exception) -> None:
        _attach_history(exc, self.history)

    def _note(self, record: AttemptRecord) -> None:
        self.history.append(record)
        if self.on_attempt is not None:
            self.on_attempt(record)


def _failed(attempt: int, exc: BaseException, wait: float, latency: float) -> AttemptRecord:
    return AttemptRecord(
        attempt + 1, error_kind(exc), str(exc) or type(exc).__name__, wait, latency
    )


def _succeeded(attempt: int, wait: float, latency: float) -> AttemptRecord:
    return AttemptRecord(attempt + 1, None, None, wait, latency)


def _attach_history(exc: Exception, history: list[AttemptRecord]) -> None:
    """Attach the attempt history to `exc` (any exception type) before it is re-raised."""
    try:
        exc.attempts = [r.as_dict() for r in history]  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # an exception type that refuses new attributes
        pass
    if len(history) > 1:
        exc.add_note(f"gave up after {len(history)} attempts")
