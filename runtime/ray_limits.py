"""Cluster-wide rate limits and budgets for the Ray backend (`ray_batch`, docs/scale.md).

Rate limits. One `LimiterHolder` per limited endpoint lives in a named Ray actor and owns the
endpoint's real buckets (`limiter.LocalBuckets`). A worker's `ModelLimiter` draws from a
`HeldPermits` source: a local stock of request and token permits, refilled from the holder
in batches (`grant(n, tokens_each)`), so a call costs no round trip while the stock lasts; a
refill starts when the stock runs low, before it is empty. The holder's buckets never give
out more than they hold, so the cluster starts at most `rate + burst` requests a second plus
what stock the workers hold (at most `batch` permits each; the driver sizes `batch` from the
burst and the number of workers). Token corrections (the reply's real usage) ride along with
the next refill.

A 429: the worker's limiter pauses itself (`ModelLimiter.pause`) and tells the holder
(`HeldPermits.pause`), which grants nothing until the pause is over and pushes the pause to
every other registered worker (`hold`), so they stop at once instead of at their next refill.

Budgets. A `BudgetHolder` actor holds the batch's limit (`--max-cost`); each worker spends
from a `BudgetShare`, a `Budget` whose limit is what it drew from the holder so far. When a
call does not fit the share, the share draws more (a blocking call, rare: each draw takes a
slice of what is left); when the holder has too little left, the call is refused as locally
(`budget_exceeded`) and the driver stops the whole job. A share never spends money another
worker was granted, so the cluster never passes the limit; it may stop a little before it.

Nothing here imports Ray: the holders are plain classes that `ray_batch` turns into actors,
and a handle is anything with `.method.remote(...)` returning an awaitable reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .budget import Budget, Reservation
from .limiter import Clock, Limits, LocalBuckets
from .pricing import cost as price_cost

# Seconds a worker waits before looking again whether a refill it asked for has arrived.
POLL = 0.002


class LimiterHolder:
    """The one limiter of an endpoint for the whole job (a named Ray actor)."""

    def __init__(self, key: str, limits: Limits, clock: Clock | None = None) -> None:
        self.key = key
        self.clock = clock or time.monotonic
        self.buckets = LocalBuckets(limits, self.clock)
        self.paused_until = 0.0
        self.workers: dict[str, Any] = {}  # worker id -> handle, for pushing pauses
        self.granted = 0
        # (when, how many, to which worker): for tests and the bench
        self.grants: list[tuple[float, int, str]] = []
        self.refills = 0
        self.pauses = 0

    def register(self, worker_id: str, handle: Any) -> None:
        self.workers[worker_id] = handle

    def grant(self, wanted: int, tokens_each: int, correction: int = 0,
              worker_id: str = "") -> tuple[int, float]:
        """Up to `wanted` request permits of `tokens_each` tokens each: (how many, and when
        none, the seconds until asking again makes sense)."""
        self.refills += 1
        if correction:
            self.buckets.correct(correction)
        paused = self.paused_until - self.clock()
        if paused > 0.0:
            return 0, paused
        given = 0
        wait = 0.0
        while given < wanted:
            wait = self.buckets.take(1, tokens_each)
            if wait > 0.0:
                break
            given += 1
        if given:
            self.granted += given
            self.grants.append((self.clock(), given, worker_id))
            return given, 0.0
        return 0, wait

    def pause(self, seconds: float, reporter: str | None = None) -> None:
        """A 429's Retry-After: grant nothing for `seconds`, and tell every other worker."""
        self.pauses += 1
        self.paused_until = max(self.paused_until, self.clock() + max(0.0, seconds))
        for worker_id, handle in self.workers.items():
            if worker_id != reporter:
                handle.hold.remote(self.key, seconds)

    def stats(self) -> dict[str, Any]:
        return {"key": self.key, "granted": self.granted, "refills": self.refills,
                "pauses": self.pauses, "grants": list(self.grants)}


class HeldPermits:
    """A worker's `limiter.RateSource`: permits in stock, refilled from a `LimiterHolder`."""

    def __init__(self, holder: Any, batch: int, worker_id: str,
                 clock: Clock | None = None) -> None:
        self.holder = holder
        self.batch = max(1, batch)
        self.worker_id = worker_id
        self.clock = clock or time.monotonic
        self.requests = 0  # permits in stock
        self.tokens = 0  # tokens in stock (granted with the requests)
        self.tokens_each = 0
        self.correction = 0  # tokens to settle with the holder at the next refill
        self.refill: Future[tuple[int, float]] | None = None
        self.not_before = 0.0  # the holder said: nothing to grant until then

    def take(self, requests: int, tokens: int) -> float:
        self._collect()
        if self.requests >= requests and self.tokens >= tokens:
            self.requests -= requests
            self.tokens -= tokens
            if self.requests < max(1, self.batch // 2):
                self._ask(tokens)  # refill ahead, so the stock rarely runs dry
            return 0.0
        self._ask(tokens)
        return max(POLL, self.not_before - self.clock())

    def correct(self, tokens: int) -> None:
        self.correction += tokens

    def pause(self, seconds: float) -> None:
        self.holder.pause.remote(seconds, self.worker_id)

    def _ask(self, tokens: int) -> None:
        if self.refill is not None or self.clock() < self.not_before:
            return
        self.tokens_each = max(tokens, self.tokens_each)
        self.refill = self.holder.grant.remote(self.batch, self.tokens_each, self.correction,
                                               self.worker_id).future()
        self.correction = 0

    def _collect(self) -> None:
        if self.refill is None or not self.refill.done():
            return
        given, wait = self.refill.result()
        self.refill = None
        self.requests += given
        self.tokens += given * self.tokens_each
        if not given:
            self.not_before = self.clock() + wait


class BudgetHolder:
    """The batch's budget for the whole job (a Ray actor): slices of it go to workers."""

    def __init__(self, limit_usd: float) -> None:
        self.limit_usd = float(limit_usd)
        self.drawn_usd = 0.0
        self.refused = 0

    def draw(self, wanted_usd: float, needed_usd: float) -> float:
        """Up to `wanted_usd` of what is left; nothing when not even `needed_usd` is left
        (the caller's call is refused, and the job stops)."""
        left = self.limit_usd - self.drawn_usd
        if left < needed_usd:
            self.refused += 1
            return 0.0
        given = min(left, max(wanted_usd, needed_usd))
        self.drawn_usd += given
        return given

    def stats(self) -> dict[str, float | int]:
        return {"limit_usd": self.limit_usd, "drawn_usd": self.drawn_usd,
                "refused": self.refused}


class BudgetShare(Budget):
    """A worker's part of a `BudgetHolder`'s budget (see the module's docstring)."""

    __slots__ = ("draw", "dry", "slice_usd", "total_usd")

    def __init__(self, draw: Callable[[float, float], float], total_usd: float,
                 slice_usd: float) -> None:
        super().__init__(0.0, "the batch's budget")
        self.draw = draw
        self.total_usd = total_usd
        self.slice_usd = slice_usd
        self.dry = False  # the holder had too little left once: it never has more later

    def shown_limit_usd(self) -> float:
        return self.total_usd

    def reserve(self, model: str, input_tokens: int, output_tokens: int) -> Reservation:
        estimate, _ = price_cost(model, input_tokens, output_tokens)
        missing = self.spent_usd + self.reserved_usd + estimate - self.limit_usd
        if missing > 0.0 and not self.dry:
            given = self.draw(max(self.slice_usd, missing), missing)
            self.limit_usd += given
            self.dry = not given
        return super().reserve(model, input_tokens, output_tokens)


def blocking_draw(holder: Any) -> Callable[[float, float], float]:
    """`BudgetShare`'s draw from a `BudgetHolder` handle (waits for the answer)."""

    def draw(wanted_usd: float, needed_usd: float) -> float:
        given: float = holder.draw.remote(wanted_usd, needed_usd).future().result()
        return given

    return draw
