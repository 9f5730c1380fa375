"""Rate limits per model endpoint: requests per minute, tokens per minute, concurrent calls.

One `ModelLimiter` per limited endpoint (a model id `provider/name`, or a whole provider),
held by a `LimiterRegistry`; the process's registry (`default_limiters()`) is shared by every
run in the process, so batch rows, map items and parallel steps draw from the same budget of
requests. A call takes a `Permit` before it is made and settles it after:

    permit = await limiter.acquire(estimated_tokens)
    try: reply = await provider.complete(request)
    finally: permit.release(actual_tokens)   # corrects the tokens-per-minute bucket

Buckets. rpm and tpm are token buckets refilled continuously at `rpm / 60` (`tpm / 60`) a
second, holding at most `burst` (default one second's worth, at least one request; for tpm at
least the largest single estimate is let through when the bucket is full, so a big prompt is
never refused forever). In any one-second window a limiter therefore starts at most
`rate + burst` requests, and over a minute holds `rpm`. Waiters are served first come, first
served: one waiter at a time watches the buckets, the rest queue behind it.

A 429 with Retry-After (`pause(seconds)`) pauses the limiter for everyone, not only for the
request that got it: every later `acquire` waits until the pause is over.

The clock and sleep are injectable, so tests run in virtual time. Seams for a distributed
backend (issue 13): the buckets sit behind `RateSource` (`take(requests, tokens) -> wait`),
so a source whose permits come in batches from a remote holder (a named Ray actor) plugs in
without touching the waiting logic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .catalog import CATALOG, catalog_name

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, their methods written on first use: see lazy_dataclass
    from .lazy_dataclass import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class Limits:
    """The limits of one endpoint; None means unlimited on that axis."""

    rpm: float | None = None
    tpm: float | None = None
    concurrency: int | None = None
    burst: float | None = None  # requests the rpm bucket holds (default: one second's worth)

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "concurrency", "burst"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"limit {name} must be > 0, got {value!r}")

    def merged(self, other: Limits) -> Limits:
        """These limits with every axis `other` sets taken from `other`."""
        return Limits(
            rpm=other.rpm if other.rpm is not None else self.rpm,
            tpm=other.tpm if other.tpm is not None else self.tpm,
            concurrency=other.concurrency if other.concurrency is not None else self.concurrency,
            burst=other.burst if other.burst is not None else self.burst,
        )

    def to_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in (("rpm", self.rpm), ("tpm", self.tpm),
                                  ("concurrency", self.concurrency), ("burst", self.burst))
                if v is not None}


class TokenBucket:
    """`capacity` units, refilled at `rate` units a second on `clock`. `level` may go below
    zero: a correction after the call (more tokens used than estimated) is a debt the next
    callers wait out."""

    __slots__ = ("capacity", "clock", "level", "rate", "stamp")

    def __init__(self, rate: float, capacity: float, clock: Clock) -> None:
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.level = capacity
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0: it is now). A request larger than the
        bucket waits for a full bucket instead of forever."""
        self._refill()
        need = min(amount, self.capacity)
        if self.level >= need:
            return 0.0
        return (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount

    def give_back(self, amount: float) -> None:
        """Correct an earlier `take` (negative: take more)."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateSource(Protocol):
    """Where a limiter's request and token permits come from. `take` returns 0.0 when the
    permits were taken, or the seconds to wait before asking again (nothing taken)."""

    def take(self, requests: int, tokens: int) -> float: ...

    def correct(self, tokens: int) -> None:
        """Tokens used beyond the estimate (negative: fewer used than estimated)."""


class LocalBuckets:
    """The in-process `RateSource`: an rpm bucket and a tpm bucket."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.requests = None
        self.tokens = None
        if limits.rpm is not None:
            burst = limits.burst if limits.burst is not None else max(1.0, limits.rpm / 60.0)
            self.requests = TokenBucket(limits.rpm / 60.0, burst, clock)
        if limits.tpm is not None:
            self.tokens = TokenBucket(limits.tpm / 60.0, max(1.0, limits.tpm / 60.0), clock)

    def take(self, requests: int, tokens: int) -> float:
        wait = 0.0
        if self.requests is not None:
            wait = self.requests.wait_for(requests)
        if self.tokens is not None:
            wait = max(wait, self.tokens.wait_for(tokens))
        if wait > 0.0:
            return wait
        if self.requests is not None:
            self.requests.take(requests)
        if self.tokens is not None:
            self.tokens.take(tokens)
        return 0.0

    def correct(self, tokens: int) -> None:
        if self.tokens is not None and tokens:
            self.tokens.give_back(-tokens)


class Permit:
    """One call's permit: `release(actual_tokens)` once the call is over (success or not)."""

    __slots__ = ("estimate", "limiter", "released")

    def __init__(self, limiter: ModelLimiter, estimate: int) -> None:
        self.limiter = limiter
        self.estimate = estimate
        self.released = False

    def release(self, actual_tokens: int | None = None) -> None:
        if self.released:
            return
        self.released = True
        if actual_tokens is not None:
            self.limiter.source.correct(actual_tokens - self.estimate)
        self.limiter._release_slot()


class ModelLimiter:
    """The limiter of one endpoint (see the module's docstring)."""

    def __init__(self, key: str, limits: Limits, *, clock: Clock | None = None,
                 sleep: Sleep | None = None, source: RateSource | None = None) -> None:
        self.key = key
        self.limits = limits
        self.clock = clock or time.monotonic
        self.sleep = sleep or asyncio.sleep
        self.source: RateSource = source or LocalBuckets(limits, self.clock)
        self.paused_until = 0.0
        self.in_flight = 0
        self.granted = 0  # permits given, for tests and the summary
        self.pauses = 0  # how many 429s paused this limiter
        # Loop-bound primitives, remade when a new event loop uses the limiter (a process
        # may run several `asyncio.run` one after the other).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None

    def _primitives(self) -> tuple[asyncio.Lock, asyncio.Semaphore | None]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._turn is None:
            self._loop = loop
            self._turn = asyncio.Lock()
            cap = self.limits.concurrency
            self._slots = asyncio.Semaphore(cap) if cap is not None else None
            self.in_flight = 0
        return self._turn, self._slots

    def pause(self, seconds: float) -> None:
        """Stop granting permits for `seconds` from now (a 429's Retry-After), for everyone:
        every caller in this process, and through a source that shares its permits (one with
        a `pause` method, as a Ray holder's) every process drawing from it."""
        self.pauses += 1
        self.hold(seconds)
        shared = getattr(self.source, "pause", None)
        if shared is not None:
            shared(seconds)

    def hold(self, seconds: float) -> None:
        """The local half of `pause`: this process's callers wait `seconds` from now (also
        how a pause another process reported reaches this one)."""
        self.paused_until = max(self.paused_until, self.clock() + max(0.0, seconds))

    async def acquire(self, tokens: int = 0) -> Permit:
        """Wait for a concurrency slot, then for the buckets (and any pause); the permit."""
        turn, slots = self._primitives()
        if slots is not None:
            await slots.acquire()
        self.in_flight += 1
        try:
            async with turn:  # first come, first served: one waiter watches the buckets
                await self._wait_for_rate(tokens)
        except BaseException:
            self._release_slot()
            raise
        self.granted += 1
        return Permit(self, tokens)

    async def _wait_for_rate(self, tokens: int) -> None:
        while True:
            paused = self.paused_until - self.clock()
            if paused > 0.0:
                await self.sleep(paused)
                continue
            wait = self.source.take(1, tokens)
            if wait <= 0.0:
                return
            await self.sleep(wait)

    def _release_slot(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if self._slots is not None:
            self._slots.release()


class LimiterRegistry:
    """Limits by endpoint and the limiters made from them, created on first use.

    Keys are a provider (`openai`), a model (`openai/gpt-4o`) or a model id as written with
    its options stripped. A call takes the permits of its provider's limiter and of its
    model's limiter, when they exist (provider first, always in that order)."""

    def __init__(self, *, clock: Clock | None = None, sleep: Sleep | None = None,
                 sources: Callable[[str, Limits], RateSource] | None = None) -> None:
        self.clock = clock
        self.sleep = sleep
        # Where each limiter's permits come from (default: its own buckets in this process);
        # the Ray backend's workers draw them from a holder shared by the cluster.
        self.sources = sources
        self.limits: dict[str, Limits] = {}
        self._limiters: dict[str, ModelLimiter] = {}
        self._chains: dict[str, tuple[ModelLimiter, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.limits)

    def configure(self, limits: Mapping[str, Limits], *, override: bool = True) -> None:
        """Add limits, axis by axis over any the endpoint has: with `override=False` the axes
        it already has keep their values (a pipeline's own `limit` statements yield to the
        command line and configuration, and fill in what those leave unset)."""
        for key, value in limits.items():
            key = endpoint_key(key)
            old = self.limits.get(key)
            if old is not None:
                value = old.merged(value) if override else value.merged(old)
            if value == old:
                continue  # every run of a pipeline with `limit` statements comes this way
            self.limits[key] = value
            self._limiters.pop(key, None)
            self._chains.clear()

    def limiter(self, key: str) -> ModelLimiter | None:
        key = endpoint_key(key)
        found = self._limiters.get(key)
        if found is None and key in self.limits:
            limits = self.limits[key]
            source = self.sources(key, limits) if self.sources is not None else None
            found = ModelLimiter(key, limits, clock=self.clock, sleep=self.sleep, source=source)
            self._limiters[key] = found
        return found

    def for_model(self, model: str) -> tuple[ModelLimiter, ...]:
        """The limiters a call to `model` (`provider/name?options`) goes through."""
        chain = self._chains.get(model)
        if chain is None:
            chain = tuple(lim for lim in map(self.limiter, _keys_of(model)) if lim is not None)
            self._chains[model] = chain
        return chain

    def all(self) -> Iterable[ModelLimiter]:
        return tuple(self._limiters.values())

    def clear(self) -> None:
        self.limits.clear()
        self._limiters.clear()
        self._chains.clear()


def endpoint_key(model: str) -> str:
    """A limit's key: the id without options or surrounding space."""
    return model.partition("?")[0].strip()


def _keys_of(model: str) -> tuple[str, ...]:
    """The provider and the model a call counts against: a bare catalog name (`gpt-4o`)
    counts as `openai/gpt-4o` too."""
    base = endpoint_key(model)
    provider, slash, _ = base.partition("/")
    if slash:
        return (provider, base)
    found = CATALOG.get(catalog_name(base))
    return (found, f"{found}/{base}", base) if found is not None else (base,)


_DEFAULT = LimiterRegistry()


def default_limiters() -> LimiterRegistry:
    """The process's registry, shared by every run that is not given its own."""
    return _DEFAULT


async def acquire_all(limiters: tuple[ModelLimiter, ...], tokens: int) -> tuple[Permit, ...]:
    """Permits from each limiter in order; on failure (cancellation) the ones taken go back."""
    permits: list[Permit] = []
    try:
        for limiter in limiters:
            permits.append(await limiter.acquire(tokens))
    except BaseException:
        for permit in permits:
            permit.release()
        raise
    return tuple(permits)


def release_all(permits: tuple[Permit, ...], actual_tokens: int | None) -> None:
    for permit in permits:
        permit.release(actual_tokens)


def pause_all(limiters: tuple[ModelLimiter, ...], seconds: float) -> None:
    for limiter in limiters:
        limiter.pause(seconds)


def parse_limits(text: str) -> Limits:
    """`rpm:500,tpm:200000,concurrency:16` (also `=` for `:`) as `Limits`; ValueError names
    the bad part."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = part.replace("=", ":").partition(":")
        name = name.strip()
        if not sep or name not in ("rpm", "tpm", "concurrency", "burst"):
            raise ValueError(f"{part!r}: write rpm:N, tpm:N, concurrency:N or burst:N")
        try:
            number = float(raw.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{part!r}: {raw.strip()!r} is not a number") from None
        if not 0 < number < float("inf"):
            raise ValueError(f"{part!r}: must be a number > 0")
        values[name] = number
    if not values:
        raise ValueError("no limit given: write rpm:N, tpm:N, concurrency:N or burst:N")
    concurrency = values.pop("concurrency", None)
    if concurrency is not None and concurrency != int(concurrency):
        raise ValueError(f"concurrency:{concurrency:g}: must be a whole number")
    return Limits(concurrency=int(concurrency) if concurrency is not None else None,
                  **values)
