"""The response cache's settings (docs/cache.md): a time to live within range (MMO841).

The setting's form (`cache ttl: 1h`, `cache on`, `cache off`) is the front ends' to read
(MMO840); this module checks the values, whichever front end or the builder made them.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ir
from ..diagnostics.model import Diagnostic
from ..source import Span
from .policies import range_problems
from .support import first_span, name_span

MAX_TTL_SECONDS = 365 * 86_400.0  # a year: longer is "until cleared" (`cache on`)


def _ttl_problems(policy: ir.CachePolicy | None, what: str,
                  span: Span | None) -> Iterator[Diagnostic]:
    if policy is None or policy.ttl is None:
        return
    yield from range_problems("MMO841", f"the cache ttl of {what}", policy.ttl,
                              first_span(policy, span), lo=0, hi=MAX_TTL_SECONDS, lo_open=True)


def check_cache_settings(p: ir.Pipeline) -> Iterator[Diagnostic]:
    yield from _ttl_problems(p.defaults.cache, "the pipeline default", first_span(p.defaults, p))
    for step in p.all_steps():
        if isinstance(step, ir.LlmStep):
            yield from _ttl_problems(step.cache, f"step `{step.name}`", name_span(step))


CHECKS = (check_cache_settings,)
