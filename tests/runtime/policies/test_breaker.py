"""CircuitBreaker transitions (examples and a Hypothesis state machine) and the registry."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from mmoc_runtime.breaker import BreakerRegistry, CircuitBreaker, default_breakers
from mmoc_runtime.errors import (
    CircuitOpenError,
    ConfigError,
    InputError,
    LlmError,
    TemplateError,
)
from mmoc_runtime.spec import BreakerPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def transient() -> LlmError:
    return LlmError("server_error", "502 from upstream")


def fail(_: object = None) -> None:
    raise transient()


def test_closed_opens_after_the_threshold_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, time_fn=Clock())
    for _ in range(2):
        breaker.record_failure(transient())
    assert breaker.state == "closed"
    breaker.record_failure(transient())
    assert breaker.state == "open"


def test_a_success_clears_the_consecutive_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, time_fn=Clock())
    breaker.record_failure(transient())
    breaker.record_success()
    breaker.record_failure(transient())
    assert breaker.state == "closed"
    assert breaker.failure_count == 1


def test_open_rejects_without_calling() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 30, clock, name="openai/gpt-4o")
    breaker.record_failure(transient())
    calls: list[int] = []
    clock.now = 10.0
    with pytest.raises(CircuitOpenError) as caught:
        breaker.call(lambda: calls.append(1))
    assert calls == []
    assert caught.value.kind == "circuit_open"
    assert "openai/gpt-4o" in str(caught.value)
    assert caught.value.retry_after == pytest.approx(20.0)


def test_recovery_timeout_turns_open_into_half_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 60, clock)
    breaker.record_failure(transient())
    clock.now = 59.999
    assert breaker.state == "open"
    clock.now = 60.0
    assert breaker.state == "half_open"


def test_half_open_rejects_the_second_call_while_the_trial_runs() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 5, clock)
    breaker.record_failure(transient())
    clock.now = 5.0
    assert breaker.allow() is True  # the trial
    assert breaker.allow() is False  # a second caller while the trial is in flight
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "not called")


def test_successful_trial_closes_and_failed_trial_reopens_with_a_fresh_timer() -> None:
    clock = Clock()
    breaker = CircuitBreaker(2, 10, clock)
    breaker.record_failure(transient())
    breaker.record_failure(transient())
    clock.now = 10.0
    with pytest.raises(LlmError):
        breaker.call(fail)
    assert breaker.state == "open"
    clock.now = 19.0  # 9s after the re-open: still open
    assert breaker.state == "open"
    clock.now = 20.0
    assert breaker.call(lambda: "fine") == "fine"
    assert breaker.state == "closed"
    assert breaker.failure_count == 0


def test_half_open_admits_a_bounded_number_of_trials() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock, half_open_max_calls=2)
    breaker.record_failure(transient())
    clock.now = 1.0
    assert [breaker.allow() for _ in range(3)] == [True, True, False]


def test_client_errors_do_not_count_but_free_the_trial_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock)
    breaker.record_failure(LlmError("bad_request", "prompt too long"))
    assert breaker.state == "closed"
    breaker.record_failure(transient())
    clock.now = 1.0
    assert breaker.allow()
    breaker.record_failure(LlmError("auth", "bad key"))
    assert breaker.state == "half_open"
    assert breaker.allow()  # the slot came back


def test_unclassified_exceptions_count_as_the_seed_did() -> None:
    breaker = CircuitBreaker(1, time_fn=Clock())

    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        breaker.call(broken)
    assert breaker.state == "open"


def test_reset_closes_from_any_state() -> None:
    breaker = CircuitBreaker(1, time_fn=Clock())
    breaker.record_failure()
    breaker.reset()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_acall_awaits_and_counts() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock)

    async def ok(x: int) -> int:
        return x * 2

    async def bad() -> None:
        raise transient()

    assert asyncio.run(breaker.acall(ok, 21)) == 42
    with pytest.raises(LlmError):
        asyncio.run(breaker.acall(bad))
    with pytest.raises(CircuitOpenError):
        asyncio.run(breaker.acall(ok, 1))


def test_concurrent_half_open_callers_get_exactly_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock)
    breaker.record_failure(transient())
    clock.now = 1.0
    started: list[int] = []

    async def main() -> list[object]:
        gate = asyncio.Event()

        async def trial(i: int) -> str:
            started.append(i)
            await gate.wait()
            return "ok"

        tasks = [asyncio.create_task(breaker.acall(trial, i)) for i in range(5)]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert len(started) == 1
    assert results.count("ok") == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 4
    assert breaker.state == "closed"


def test_cancelled_trial_releases_its_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock)
    breaker.record_failure(transient())
    clock.now = 1.0

    async def main() -> None:
        task = asyncio.create_task(breaker.acall(asyncio.sleep, 100))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert breaker.state == "half_open"
    assert breaker.allow()


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(half_open_max_calls=0)


# -- registry -------------------------------------------------------------------------------


def test_registry_shares_one_breaker_per_key_and_first_policy_wins() -> None:
    clock = Clock()
    registry = BreakerRegistry(time_fn=clock)
    assert registry.peek("openai/gpt-4o") is None
    first = registry.get("openai/gpt-4o", BreakerPolicy(failure_threshold=2))
    again = registry.get("openai/gpt-4o", BreakerPolicy(failure_threshold=9))
    other = registry.get("anthropic/claude-haiku-4-5")
    assert first is again is registry.peek("openai/gpt-4o")
    assert first.failure_threshold == 2
    assert other is not first and other.failure_threshold == 5
    first.record_failure()
    first.record_failure()
    assert registry.states() == {"anthropic/claude-haiku-4-5": "closed", "openai/gpt-4o": "open"}
    registry.reset()
    assert registry.peek("openai/gpt-4o") is None


def test_default_breakers_is_a_process_wide_singleton() -> None:
    assert default_breakers() is default_breakers()


# -- the earlier library's surface ----------------------------------------------------------


def test_state_enum_compares_equal_to_the_plain_strings_both_ways() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    assert breaker.state == CircuitBreaker.State.CLOSED
    breaker.record_failure(transient())
    assert breaker.state == CircuitBreaker.State.OPEN
    assert CircuitBreaker.State.OPEN == breaker.state
    assert breaker.state == "open" and "open" == breaker.state
    clock.now = 10.0
    assert breaker.state == CircuitBreaker.State.HALF_OPEN == "half_open"
    assert [s.value for s in CircuitBreaker.State] == ["closed", "open", "half_open"]
    assert issubclass(CircuitBreaker.State, str)
    # It prints and serialises as the plain value (status lines, JSON traces).
    assert f"{breaker.state}" == str(breaker.state) == "half_open"
    assert json.dumps({"state": breaker.state}) == '{"state": "half_open"}'
    assert {"half_open": 1}[breaker.state] == 1


def test_a_rejection_is_a_runtime_error_with_the_seed_wording() -> None:
    clock = Clock()
    breaker = CircuitBreaker(2, 30, clock, name="openai/gpt-4o")
    for _ in range(2):
        with pytest.raises(LlmError):
            breaker.call(fail)
    with pytest.raises(RuntimeError, match="Circuit breaker is OPEN") as caught:
        breaker.call(lambda: "never")
    assert isinstance(caught.value, CircuitOpenError)
    assert caught.value.kind == "circuit_open"
    assert "after 2 consecutive failures" in str(caught.value)
    with pytest.raises(RuntimeError, match="Circuit breaker is OPEN"):
        asyncio.run(breaker.acall(lambda: "never"))


@pytest.mark.parametrize(
    "error", [ConfigError("no API key"), InputError("missing topic"), TemplateError("{x}")]
)
def test_our_own_mistakes_never_open_the_breaker(error: Exception) -> None:
    # A missing key fails every call without reaching the endpoint: no verdict on its health.
    breaker = CircuitBreaker(1, 30, Clock())
    for _ in range(3):
        breaker.record_failure(error)
    assert breaker.state == "closed" and breaker.failure_count == 0


def test_call_and_acall_forward_keyword_arguments() -> None:
    breaker = CircuitBreaker(1, 30, Clock())

    def scale(x: int, *, by: int) -> int:
        return x * by

    async def ascale(x: int, *, by: int) -> int:
        return x * by

    assert breaker.call(scale, 3, by=4) == 12
    assert asyncio.run(breaker.acall(ascale, 5, by=2)) == 10
    # `fn` is positional-only, so a callee may take a keyword of that name.
    assert breaker.call(lambda *, fn: fn, fn="kept") == "kept"


# -- state machine against a model ----------------------------------------------------------


class BreakerMachine(RuleBasedStateMachine):
    """Drives a breaker with random calls, outcomes and clock moves, checked against a model.

    Calls are either whole (`call_*`: admit and finish at once, through `CircuitBreaker.call`)
    or split (`start` admits and keeps the call in flight; `finish_*` ends one later), so
    half-open sees both a running trial and callers arriving while it runs.
    """

    THRESHOLD = 2
    RECOVERY = 10.0
    TRIALS = 1
    KINDS = ("server_error", "rate_limit", "timeout", "bad_request", "auth")

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.breaker = CircuitBreaker(
            self.THRESHOLD, self.RECOVERY, self.clock, half_open_max_calls=self.TRIALS
        )
        # the model
        self.state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.trials = 0  # half-open trial slots taken
        self.in_flight = 0  # split calls admitted and not finished yet

    # -- the model ----------------------------------------------------------------------

    def model_state(self) -> str:
        if self.state == "open" and self.clock.now - self.opened_at >= self.RECOVERY:
            self.state, self.trials = "half_open", 0
        return self.state

    def model_admit(self) -> bool:
        state = self.model_state()
        if state == "closed":
            return True
        if state == "half_open" and self.trials < self.TRIALS:
            self.trials += 1
            return True
        return False

    def model_success(self) -> None:
        if self.model_state() != "open":
            self.state, self.failures, self.trials = "closed", 0, 0

    def model_failure(self, kind: str) -> None:
        state = self.model_state()
        counted = kind not in ("bad_request", "auth")
        if state == "half_open":
            if counted:
                self.state, self.opened_at, self.trials = "open", self.clock.now, 0
            else:
                self.trials = max(0, self.trials - 1)
        elif state == "closed" and counted:
            self.failures += 1
            if self.failures >= self.THRESHOLD:
                self.state, self.opened_at, self.trials = "open", self.clock.now, 0

    # -- rules ----------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([1.0, 5.0, 9.999, 10.0, 25.0]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule()
    def call_succeeds(self) -> None:
        admitted = self.model_admit()
        if admitted:
            self.model_success()
            assert self.breaker.call(lambda: "ok") == "ok"
        else:
            with pytest.raises(CircuitOpenError):
                self.breaker.call(lambda: "ok")

    @rule(kind=st.sampled_from(KINDS))
    def call_fails(self, kind: str) -> None:
        admitted = self.model_admit()
        if admitted:
            self.model_failure(kind)

        def failing() -> None:
            raise LlmError(kind, kind)

        with pytest.raises(LlmError) as caught:
            self.breaker.call(failing)
        assert (caught.value.kind == kind) is admitted
        assert isinstance(caught.value, CircuitOpenError) is not admitted

    @rule()
    def start(self) -> None:
        expected = self.model_admit()
        assert self.breaker.allow() is expected
        if expected:
            self.in_flight += 1

    @precondition(lambda self: self.in_flight > 0)
    @rule()
    def finish_ok(self) -> None:
        self.in_flight -= 1
        self.model_success()
        self.breaker.record_success()

    @precondition(lambda self: self.in_flight > 0)
    @rule(kind=st.sampled_from(KINDS))
    def finish_failed(self, kind: str) -> None:
        self.in_flight -= 1
        self.model_failure(kind)
        self.breaker.record_failure(LlmError(kind, kind))

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.state, self.failures, self.trials = "closed", 0, 0

    @invariant()
    def states_agree(self) -> None:
        assert self.breaker.state == self.model_state()
        assert self.breaker.failure_count == self.failures


class TwoTrialBreakerMachine(BreakerMachine):
    TRIALS = 2


BreakerMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
TwoTrialBreakerMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=50, deadline=None
)
TestBreakerStateMachine = BreakerMachine.TestCase
TestTwoTrialBreakerStateMachine = TwoTrialBreakerMachine.TestCase
