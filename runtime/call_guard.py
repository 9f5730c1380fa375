"""What stands before every model call of a run: the rate limiters and the budgets.

`CallGuard.call(model, request, make_call)` reserves the call's estimated cost in each budget
(refusing the call with `BudgetExceeded` when it would not fit), takes a permit from each
limiter of the model (`limiter.LimiterRegistry.for_model`), makes the call, then corrects the
limiters with the reply's real token usage and settles the budgets at its real cost. A failure
carrying a Retry-After (a 429) pauses the model's limiters for every caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from .budget import Budget, Reservation
from .errors import retry_after_of
from .limiter import (
    LimiterRegistry,
    Permit,
    acquire_all,
    default_limiters,
    pause_all,
    release_all,
)
from .pricing import cost as price_cost
from .providers.base import LlmRequest, LlmResponse
from .token_estimate import call_estimate

if TYPE_CHECKING:
    from .spec import PipelineSpec
    from .trace import Trace


class CallGuard:
    __slots__ = ("budgets", "limiters")

    def __init__(self, limiters: LimiterRegistry | None, budgets: tuple[Budget, ...]) -> None:
        self.limiters = limiters
        self.budgets = budgets

    async def call(self, model: str, request: LlmRequest,
                   make_call: Callable[[], Awaitable[LlmResponse]]) -> LlmResponse:
        tokens_in, tokens_out = call_estimate(request.prompt, request.system, request.max_tokens)
        reservations = self._reserve(model, tokens_in, tokens_out)
        limiters = self.limiters.for_model(model) if self.limiters else ()
        response: LlmResponse | None = None
        permits: tuple[Permit, ...] = ()
        try:
            permits = await acquire_all(limiters, tokens_in + tokens_out)
            response = await make_call()
            return response
        except Exception as exc:
            wait = retry_after_of(exc)
            if wait is not None and limiters:
                pause_all(limiters, wait)
            raise
        finally:
            used = None if response is None else response.input_tokens + response.output_tokens
            release_all(permits, used)
            usd = 0.0
            if response is not None:
                usd, _ = price_cost(model, response.input_tokens, response.output_tokens,
                                    response.cached_input_tokens)
            for budget, reservation in reservations:
                budget.settle(reservation, usd)

    def _reserve(self, model: str, tokens_in: int,
                 tokens_out: int) -> list[tuple[Budget, Reservation]]:
        taken: list[tuple[Budget, Reservation]] = []
        try:
            for budget in self.budgets:
                taken.append((budget, budget.reserve(model, tokens_in, tokens_out)))
        except BaseException:
            for budget, reservation in taken:
                budget.settle(reservation, 0.0)
            raise
        return taken


def guard_for(spec: PipelineSpec, limiters: LimiterRegistry | None,
              budget: float | Budget | Sequence[Budget] | None,
              trace: Trace) -> CallGuard | None:
    """The run's guard, or None when it has no limit and no budget (no cost per call then).
    The spec's `limit` statements join the registry without overriding limits set by the
    command line or configuration; its `budget` is a fresh `Budget` for this run. The run's
    own budget is shown in the trace (`trace.budget`)."""
    registry = limiters if limiters is not None else default_limiters()
    if spec.limits:
        registry.configure(spec.limits, override=False)
    budgets: list[Budget] = []
    if spec.budget is not None:
        budgets.append(Budget(spec.budget, "the run's budget"))
    if isinstance(budget, Budget):
        budgets.append(budget)
    elif isinstance(budget, int | float):
        budgets.append(Budget(float(budget), "the run's budget"))
    elif budget is not None:
        budgets.extend(budget)
    if budgets:
        trace.budget = budgets[0]
    if not registry and not budgets:
        return None
    return CallGuard(registry if registry else None, tuple(budgets))
