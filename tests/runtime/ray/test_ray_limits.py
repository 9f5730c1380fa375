"""The cluster-wide limit and budget pieces of the Ray backend without Ray: a holder shared by
two workers' permit stocks (permits in batches, a 429 pushed to every other worker) and a
budget drawn in slices that never passes its total. Handles are fakes that call the holder
in this process, as a Ray actor handle would in another."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest
from mmoc_runtime.budget import BudgetExceeded
from mmoc_runtime.limiter import LimiterRegistry, Limits
from mmoc_runtime.ray_batch import RowWorker
from mmoc_runtime.ray_limits import POLL, BudgetHolder, BudgetShare, HeldPermits, LimiterHolder


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Method:
    def __init__(self, target: Any, name: str, log: list[str]) -> None:
        self.target, self.name, self.log = target, name, log

    def remote(self, *args: Any) -> _Ref:
        self.log.append(self.name)
        return _Ref(getattr(self.target, self.name)(*args))


class _Ref:
    def __init__(self, value: Any) -> None:
        self.value = value

    def future(self) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(self.value)
        return done


class Handle:
    """What `ray.remote(cls).remote(...)` gives: `.method.remote(args)` and a reference."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> _Method:
        return _Method(self.target, name, self.calls)


def test_two_workers_share_one_bucket_and_take_permits_in_batches() -> None:
    clock = FakeClock()
    holder = LimiterHolder("mock/m", Limits(rpm=600, burst=8), clock=clock)  # 10/s
    handle = Handle(holder)
    stocks = [HeldPermits(handle, 4, f"w{i}", clock=clock) for i in range(2)]
    taken = [0, 0]
    for _ in range(40):  # each worker asks as fast as it can; no time passes
        for i, stock in enumerate(stocks):
            if stock.take(1, 0) == 0.0:
                taken[i] += 1
    assert sum(taken) == 8 == holder.granted  # the one bucket's burst, for both together
    assert taken[0] and taken[1]
    assert handle.calls.count("grant") < 40  # not a round trip per permit
    assert all(given == 4 for _, given, _ in holder.grants)  # in batches
    clock.now += 1.0  # a second refills 10 permits, shared again
    more = sum(stock.take(1, 0) == 0.0 for _ in range(20) for stock in stocks)
    assert holder.granted == 8 + 8 and more <= 8 + 4


def test_a_429_on_one_worker_pauses_every_other_worker() -> None:
    clock = FakeClock()
    holder = LimiterHolder("mock/m", Limits(rpm=6000), clock=clock)
    registries = []
    for worker_id in ("w0", "w1"):
        registry = LimiterRegistry(
            clock=clock, sources=lambda key, limits, w=worker_id: HeldPermits(
                Handle(holder), 2, w, clock=clock))
        registry.configure({"mock/m": Limits(rpm=6000)})
        registries.append(registry)

    class WorkerActor:  # what the holder pushes a pause to: the Ray worker's own `hold`
        def __init__(self, registry: LimiterRegistry) -> None:
            self.registry = registry

        def hold(self, key: str, seconds: float) -> None:
            asyncio.run(RowWorker.hold(self, key, seconds))  # type: ignore[arg-type]

    for worker_id, registry in zip(("w0", "w1"), registries, strict=True):
        holder.register(worker_id, Handle(WorkerActor(registry)))
    first = registries[0].limiter("mock/m")
    second = registries[1].limiter("mock/m")
    assert first is not None and second is not None
    first.pause(30.0)  # the 429 reached worker 0 only
    assert second.paused_until == pytest.approx(30.0)  # worker 1 waits too, at once
    assert holder.grant(1, 0) == (0, pytest.approx(30.0))  # and refills wait it out
    assert first.pauses == 1 and holder.pauses == 1


def test_a_worker_polls_for_its_refill_and_waits_as_long_as_the_holder_says() -> None:
    clock = FakeClock()
    holder = LimiterHolder("m", Limits(rpm=60, burst=1), clock=clock)  # one a second
    stock = HeldPermits(Handle(holder), 1, "w", clock=clock)
    assert stock.take(1, 0) == POLL  # asked the holder; never blocks for the answer
    assert stock.take(1, 0) == 0.0  # the answer came: one permit
    stock.take(1, 0)  # asks again; the holder's bucket is empty
    assert stock.take(1, 0) == pytest.approx(1.0)  # told to wait a second, not to poll
    clock.now += 1.0
    assert stock.take(1, 0) == POLL and stock.take(1, 0) == 0.0
    assert holder.granted == 2


def test_budget_shares_draw_slices_and_the_total_is_never_passed() -> None:
    holder = BudgetHolder(0.01)
    handle = Handle(holder)

    def draw(wanted: float, needed: float) -> float:
        value: float = handle.draw.remote(wanted, needed).future().result()
        return value

    shares = [BudgetShare(draw, 0.01, 0.001) for _ in range(2)]
    spent = 0.0
    refused = 0
    for _ in range(200):
        for share in shares:
            try:
                reservation = share.reserve("openai/gpt-4o", 100, 100)  # ~$0.00125 a call
            except BudgetExceeded as exc:
                refused += 1
                assert "$0.01 would be exceeded" in str(exc)  # the whole budget is named
                continue
            share.settle(reservation, reservation.usd)
            spent += reservation.usd
    assert refused and spent <= 0.01
    assert holder.drawn_usd <= 0.01
    assert handle.calls.count("draw") < 200  # slices, not a call per reservation
