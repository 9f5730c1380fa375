"""Cost budgets: a run's (`budget $0.50`) and a batch's (`--max-cost`).

A `Budget` holds a limit in USD, what was spent and what calls in flight have reserved. Before
a call, `reserve(model, input_tokens, output_tokens)` prices the estimate (prompt tokens plus
`max_tokens`, `token_estimate`) at the model's rate (`pricing.cost`); if spent + reserved +
that estimate would pass the limit the call is not made and `BudgetExceeded` (error kind
`budget_exceeded`, never retried) is raised. After the call `settle(reservation, cost)`
replaces the reservation by the real cost. Reserving keeps concurrent calls honest: two calls
that each fit alone cannot both start when together they would pass the limit.

A budget is plain shared state with no event-loop ties, so one object can be shared by every
row of a batch (and, behind the same three methods, by a remote holder: issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LlmError
from .pricing import cost as price_cost

BUDGET_EXCEEDED = "budget_exceeded"


class BudgetExceeded(LlmError):
    """A call was not made: its estimated cost would pass the budget."""

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(BUDGET_EXCEEDED, message, model=model)


@dataclass
class Reservation:
    usd: float
    settled: bool = False


class Budget:
    """A cost limit in USD, shared by every call charged to it."""

    __slots__ = ("calls_refused", "limit_usd", "name", "reserved_usd", "spent_usd")

    def __init__(self, limit_usd: float, name: str = "budget") -> None:
        if not limit_usd >= 0:
            raise ValueError(f"a budget must be >= 0 USD, got {limit_usd!r}")
        self.limit_usd = float(limit_usd)
        self.name = name
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self.calls_refused = 0

    @property
    def exhausted(self) -> bool:
        """A call was refused: a batch stops taking rows."""
        return self.calls_refused > 0

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spent_usd - self.reserved_usd)

    def reserve(self, model: str, input_tokens: int, output_tokens: int) -> Reservation:
        estimate, _ = price_cost(model, input_tokens, output_tokens)
        committed = self.spent_usd + self.reserved_usd
        if committed + estimate > self.limit_usd:
            self.calls_refused += 1
            raise BudgetExceeded(
                f"{self.name} ${self.shown_limit_usd():g} would be exceeded: {model} call "
                f"estimated at ${estimate:.6f} ({input_tokens} prompt + {output_tokens} max output "
                f"tokens), ${committed:.6f} already spent or reserved; not called",
                model=model,
            )
        self.reserved_usd += estimate
        return Reservation(estimate)

    def shown_limit_usd(self) -> float:
        """The limit a refusal names (a share of a cluster-wide budget names the whole)."""
        return self.limit_usd

    def settle(self, reservation: Reservation, usd: float) -> None:
        """The call is over: its reservation is replaced by what it cost (0 if it failed)."""
        if reservation.settled:
            return
        reservation.settled = True
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.usd)
        self.spent_usd += usd

    def to_dict(self) -> dict[str, float | int | str]:
        return {"limit_usd": self.limit_usd, "spent_usd": self.spent_usd,
                "calls_refused": self.calls_refused}
