"""The checks: one tuple of small functions, each `(pipeline) -> Iterable[Diagnostic]`.

As sqlglot's optimizer keeps its rules in one `RULES` tuple, every check family lives in its
own module and contributes its functions to `CHECKS`. `run_checks` runs them all, so one run
reports every problem, and never raises: a check that crashes becomes an MMO702 diagnostic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .. import ir
from ..analysis import memoized
from ..diagnostics.model import Diagnostic, internal_error, sort_key
from ..gc_pause import gc_paused
from . import cache, conditions, graph, keys, limits, maps, models, names, policies, testing
from .support import suggestion_budget

Check = Callable[[ir.Pipeline], Iterable[Diagnostic]]

CHECKS: tuple[Check, ...] = (
    *names.CHECKS,
    *graph.CHECKS,
    *keys.CHECKS,
    *models.CHECKS,
    *policies.CHECKS,
    *conditions.CHECKS,
    *limits.CHECKS,
    *cache.CHECKS,
    *testing.CHECKS,
)
# Map steps: their own checks, then every check above on each map body.
CHECKS = (*CHECKS, *maps.CHECKS, maps.body_checks(CHECKS))


def run_checks(p: ir.Pipeline, checks: Iterable[Check] = CHECKS) -> list[Diagnostic]:
    """Every diagnostic of every check, deduplicated and sorted by place then code."""
    found: list[Diagnostic] = []
    # The checks share one computation of each fact about `p`, and one bounded budget of
    # "did you mean" searches. The facts live until the run ends: the cyclic collector's
    # passes over them cost as much as the checks on a large pipeline, and find nothing.
    with memoized(), suggestion_budget(), gc_paused():
        for check in checks:
            try:
                found.extend(check(p))
            except Exception as exc:  # noqa: BLE001 - a bug in a check must not hide the others
                found.append(internal_error(exc, p.span, doing=f"running check `{check.__name__}`"))
    unique = list(dict.fromkeys(found))
    unique.sort(key=sort_key)
    return unique


__all__ = ["CHECKS", "Check", "run_checks"]
