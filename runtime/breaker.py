"""Circuit breaker (seed name `CircuitBreaker`) and the process-wide registry of breakers.

States and transitions:

- closed: calls pass. `failure_threshold` consecutive *counted* failures open it.
- open: calls are rejected without being made. Once `recovery_timeout_seconds` have passed
  since it opened (`time_fn() - opened_at >= recovery_timeout_seconds`) it reads half-open.
- half_open: up to `half_open_max_calls` trial calls are admitted at once; others are rejected
  while the trials run. A successful trial closes the breaker and clears the count; a counted
  failure re-opens it and restarts the recovery timer.

What counts as a failure: only failures that say something about the endpoint's health. A
client-kind error (bad request, auth, not found, quota, blocked), an `invalid_output` (the
model answered), a `circuit_open` rejection or one of our own mistakes (`config`: no API
key; `input`; `template`) is *neutral*: it changes no state but does release the half-open
trial slot it held, so a rejected prompt cannot wedge the breaker in half-open. Unclassified exceptions count, as they did in the earlier library.

Results that arrive while the breaker is open (calls admitted before it opened) are ignored:
they neither close it early nor restart its timer.

`call`/`acall` are one attempt of the executor's own loop (`attempts.attempt_loop`), which
drives this protocol for the llm steps too.

Async-safety: `allow` and the `record_*` methods never await, so on one event loop each is
atomic; a `threading.Lock` also makes them safe for `call` from several threads.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from typing import Any

from .attempts import drive, guarded_call
from .errors import CLIENT_KINDS, CircuitOpenError, error_kind
from .spec import BreakerPolicy


class BreakerState(enum.StrEnum):
    """A breaker's state. A `str`: each member equals (and prints as) its plain value, so
    `breaker.state == "open"` and `breaker.state == CircuitBreaker.State.OPEN` both hold, and
    traces serialise it as `"open"`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


CLOSED = BreakerState.CLOSED
OPEN = BreakerState.OPEN
HALF_OPEN = BreakerState.HALF_OPEN

# Kinds that prove nothing about the endpoint's health: never counted as breaker failures.
# `config`, `input` and `template` are our side's mistakes (no key, bad inputs, a template
# that cannot render): the endpoint was not even reached.
NEUTRAL_KINDS: frozenset[str] = CLIENT_KINDS | {
    "invalid_output",
    "circuit_open",
    "config",
    "input",
    "template",
}


def counts_as_failure(exc: BaseException | None) -> bool:
    """Whether a failure with `exc` counts towards opening the breaker (None: it does)."""
    return exc is None or error_kind(exc) not in NEUTRAL_KINDS


class CircuitBreaker:
    # The earlier library's name for the states: `CircuitBreaker.State.OPEN`.
    State = BreakerState

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_timeout_seconds: float = 60,
        time_fn: Callable[[], float] = time.monotonic,
        *,
        half_open_max_calls: int = 1,
        name: str = "",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if not recovery_timeout_seconds >= 0:
            raise ValueError(
                f"recovery_timeout_seconds must be >= 0, got {recovery_timeout_seconds}"
            )
        if half_open_max_calls < 1:
            raise ValueError(f"half_open_max_calls must be >= 1, got {half_open_max_calls}")
        self.failure_threshold = failure_threshold
        self.recovery_timeout_seconds = recovery_timeout_seconds
        self.half_open_max_calls = half_open_max_calls
        self.name = name
        self._time_fn = time_fn
        self._lock = threading.Lock()
        self._state: BreakerState = CLOSED
        self._failures = 0  # consecutive counted failures while closed
        self._opened_at = 0.0
        self._trials = 0  # half-open trial calls in flight

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<CircuitBreaker{label} {self.state} failures={self._failures}>"

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state: "closed", "open" or "half_open" (an expired open becomes half-open)."""
        with self._lock:
            return self._current_state()

    @property
    def failure_count(self) -> int:
        """Consecutive counted failures since the breaker last closed."""
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open breaker admits a trial (0.0 unless open)."""
        with self._lock:
            if self._current_state() != OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.recovery_timeout_seconds - self._time_fn())

    def _current_state(self) -> BreakerState:
        # Caller holds the lock. The open -> half_open move happens lazily, on observation.
        if self._state == OPEN and (
            self._time_fn() - self._opened_at >= self.recovery_timeout_seconds
        ):
            self._state = HALF_OPEN
            self._trials = 0
        return self._state

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self._time_fn()
        self._trials = 0

    # -- the protocol the executor drives -------------------------------------------------

    def allow(self) -> bool:
        """Admit a call now? In half-open this takes one of the trial slots."""
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and self._trials < self.half_open_max_calls:
                self._trials += 1
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            state = self._current_state()
            if state == OPEN:
                return  # a late result of a call admitted before the breaker opened
            self._state = CLOSED
            self._failures = 0
            self._trials = 0

    def record_failure(self, exc: BaseException | None = None) -> None:
        """Record a failed call; neutral (client-kind) errors only free a trial slot."""
        with self._lock:
            state = self._current_state()
            if state == OPEN:
                return  # late result: do not restart the recovery timer
            if not counts_as_failure(exc):
                if state == HALF_OPEN:
                    self._trials = max(0, self._trials - 1)
                return
            if state == HALF_OPEN:
                self._open()  # the trial failed: back to open, timer restarted
                return
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def release(self) -> None:
        """Give back a half-open trial slot without an outcome (the call was cancelled)."""
        with self._lock:
            if self._current_state() == HALF_OPEN:
                self._trials = max(0, self._trials - 1)

    def reset(self) -> None:
        """Back to closed with no failures, whatever the state."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._trials = 0
            self._opened_at = 0.0

    # -- wrappers -------------------------------------------------------------------------

    def rejection(self) -> CircuitOpenError:
        """The error a rejected `call`/`acall` raises, with `retry_after` = `retry_in()`."""
        # "Circuit breaker is OPEN" is the earlier library's wording, which its users match on;
        # a half-open breaker whose trial slots are taken rejects with the same words.
        label = self.name or "this endpoint"
        wait = self.retry_in()
        if wait > 0:
            why = f"after {self.failure_threshold} consecutive failures; next trial in {wait:.1f}s"
        else:
            why = "a half-open trial call is already in flight"
        error = CircuitOpenError(self.name or "circuit", f"Circuit breaker is OPEN for {label}: {why}")
        error.retry_after = wait
        return error

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call `fn(*args, **kwargs)` through the breaker.

        Rejected: raises `CircuitOpenError`, a `RuntimeError` whose message contains
        "Circuit breaker is OPEN" (the earlier library's wording). One attempt of the
        executor's own loop (`attempts.attempt_loop`), driven synchronously.
        """
        return drive(guarded_call(fn, args, kwargs, self, sync=True))

    async def acall(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Like `call`, awaiting `fn`'s result when it is awaitable (async or sync `fn`)."""
        return await guarded_call(fn, args, kwargs, self, sync=False)


class BreakerRegistry:
    """One breaker per key (a model endpoint, `provider/name`), created on first use.

    The first policy given for a key wins: every run in the process shares that breaker, so a
    later pipeline cannot quietly loosen a breaker another pipeline relies on.
    """

    def __init__(self, time_fn: Callable[[], float] = time.monotonic) -> None:
        self._time_fn = time_fn
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, key: str, policy: BreakerPolicy | None = None) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is not None:
            return breaker
        policy = policy or BreakerPolicy()
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = CircuitBreaker(
                    policy.failure_threshold,
                    policy.recovery_timeout_seconds,
                    self._time_fn,
                    half_open_max_calls=policy.half_open_max_calls,
                    name=key,
                )
                self._breakers[key] = breaker
            return breaker

    def peek(self, key: str) -> CircuitBreaker | None:
        """The breaker for `key` if one was created; never creates one."""
        return self._breakers.get(key)

    def states(self) -> dict[str, str]:
        """Every key's current state, for status displays and tests."""
        return {key: breaker.state for key, breaker in sorted(self._breakers.items())}

    def reset(self) -> None:
        """Forget every breaker (tests and long-lived processes that reload config)."""
        with self._lock:
            self._breakers.clear()


_DEFAULT: BreakerRegistry | None = None
_DEFAULT_LOCK = threading.Lock()


def default_breakers() -> BreakerRegistry:
    """The process-wide registry shared by every run that does not bring its own."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = BreakerRegistry()
    return _DEFAULT
