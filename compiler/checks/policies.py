"""Policies and step parameters: retry, breaker, fallback, timeouts, temperature, limits."""

from __future__ import annotations

import math
from collections.abc import Iterator

from mmoc_runtime.catalog import CATALOG
from mmoc_runtime.errors import ALL_KINDS
from mmoc_runtime.structured import schema_is_supported

from .. import ir
from ..analysis import AnyStep, resolve_model
from ..diagnostics.model import Diagnostic
from ..limits import json_nesting_problem, shown_value
from ..source import Span
from .support import (
    did_you_mean,
    first_span,
    fmt_value,
    is_int,
    is_number,
    listing,
    name_span,
    value_span,
)

# Bounds past which a number is a mistake rather than a choice ("absurd").
MAX_RETRIES = 100
MAX_DELAY_SECONDS = 86_400.0  # a day
MAX_MULTIPLIER = 100.0
MAX_THRESHOLD = 100_000
BACKOFFS = ("constant", "exponential")
JITTERS = ("none", "full")


def _range(
    code: str, what: str, value: object, span: Span | None, *, lo: float, hi: float,
    integer: bool = False, lo_open: bool = False,
) -> Iterator[Diagnostic]:
    """One diagnostic if `value` is not a number within [lo, hi] ((lo, hi] when lo_open)."""
    ok_type = is_int(value) if integer else is_number(value)
    kind = "a whole number" if integer else "a number"
    if not ok_type:
        yield Diagnostic(code, f"{what} must be {kind}, not {_shown(value)}", span)
        return
    number: float = value  # type: ignore[assignment]  # compared as it is: float() of a
    # huge int overflows, and Python compares ints with floats exactly
    if isinstance(number, float) and math.isnan(number):  # NaN fails every comparison
        yield Diagnostic(code, f"{what} is {fmt_value(value)}; it must be a number", span)
        return
    too_low = number <= lo if lo_open else number < lo
    if too_low or number > hi:
        low = f"greater than {fmt_value(lo)}" if lo_open else f"at least {fmt_value(lo)}"
        yield Diagnostic(
            code, f"{what} is {_shown(value)}; it must be {low} and at most {fmt_value(hi)}",
            span,
        )


# The range check, for the other check families (`cache`).
range_problems = _range


def _shown(value: object) -> str:
    """A value as a message shows it; a huge int (only the builder API can give one) without
    the `str` that refuses more than 4,300 digits."""
    return fmt_value(value) if not is_int(value) else shown_value(value)


def _retry_problems(policy: ir.RetryPolicy, owner: str) -> Iterator[Diagnostic]:
    span = policy.span
    what = f"retry policy `{policy.name}`" if policy.name else f"the retry policy of {owner}"
    yield from _range("MMO501", f"max_retries of {what}", policy.max_retries,
                      value_span(policy, "max_retries", span), lo=0, hi=MAX_RETRIES,
                      integer=True)
    yield from _range("MMO501", f"the base delay of {what}", policy.base_delay,
                      value_span(policy, "base_delay", span), lo=0, hi=MAX_DELAY_SECONDS)
    yield from _range("MMO501", f"the multiplier of {what}", policy.multiplier,
                      value_span(policy, "multiplier", span), lo=1, hi=MAX_MULTIPLIER)
    yield from _range("MMO501", f"the max delay of {what}", policy.max_delay,
                      value_span(policy, "max_delay", span), lo=0, hi=MAX_DELAY_SECONDS)
    if (
        is_number(policy.base_delay)
        and is_number(policy.max_delay)
        and policy.max_delay < policy.base_delay
    ):
        yield Diagnostic(
            "MMO501",
            f"the max delay of {what} ({_shown(policy.max_delay)}s) is below its base "
            f"delay ({_shown(policy.base_delay)}s)",
            value_span(policy, "max_delay", span),
            help="raise max_delay to at least the base delay",
        )
    for field, value, allowed in (("backoff", policy.backoff, BACKOFFS),
                                  ("jitter", policy.jitter, JITTERS)):
        if value not in allowed:
            yield Diagnostic(
                "MMO506",
                f"{field} of {what} is {fmt_value(value)}; it must be one of "
                + ", ".join(allowed),
                value_span(policy, field, span),
                help=did_you_mean(str(value), allowed),
            )
    kinds = sorted(ALL_KINDS)
    for ident in policy.retry_on:
        if ident.name not in ALL_KINDS:
            yield Diagnostic(
                "MMO505",
                f"{what} retries on `{ident.name}`, which is not an error kind",
                first_span(ident, span),
                label="unknown error kind",
                help=did_you_mean(ident.name, kinds) or "kinds: " + ", ".join(kinds),
            )


def _breaker_problems(policy: ir.BreakerPolicy, owner: str) -> Iterator[Diagnostic]:
    span = policy.span
    what = f"breaker `{policy.name}`" if policy.name else f"the breaker of {owner}"
    yield from _range("MMO501", f"the failure threshold of {what}", policy.failure_threshold,
                      value_span(policy, "failure_threshold", span), lo=1, hi=MAX_THRESHOLD,
                      integer=True)
    yield from _range("MMO501", f"the recovery timeout of {what}", policy.recovery_timeout,
                      value_span(policy, "recovery_timeout", span), lo=0,
                      hi=MAX_DELAY_SECONDS, lo_open=True)
    yield from _range("MMO501", f"half_open_max_calls of {what}", policy.half_open_max_calls,
                      value_span(policy, "half_open_max_calls", span), lo=1,
                      hi=MAX_THRESHOLD, integer=True)


def check_policies(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for named_retry in p.retry_policies:
        yield from _retry_problems(named_retry, "the pipeline")
    for named_breaker in p.breaker_policies:
        yield from _breaker_problems(named_breaker, "the pipeline")
    settings: list[tuple[object, object, str, Span | None]] = [
        (p.defaults.retry, p.defaults.breaker, "the pipeline default", p.defaults.span)
    ]
    for step in p.all_steps():
        if isinstance(step, ir.LlmStep):
            settings.append((step.retry, step.breaker, f"step `{step.name}`", name_span(step)))
    retry_names = [r.name for r in p.retry_policies if r.name]
    breaker_names = [b.name for b in p.breaker_policies if b.name]
    retry_known, breaker_known = set(retry_names), set(breaker_names)  # no list scan per step
    for retry, breaker, owner, owner_span in settings:
        if isinstance(retry, ir.RetryPolicy):
            yield from _retry_problems(retry, owner)
        elif isinstance(retry, ir.PolicyRef) and retry.name not in retry_known:
            yield _unknown_ref("retry policy", retry, owner, owner_span, retry_names)
        if isinstance(breaker, ir.BreakerPolicy):
            yield from _breaker_problems(breaker, owner)
        elif isinstance(breaker, ir.PolicyRef) and breaker.name not in breaker_known:
            yield _unknown_ref("breaker", breaker, owner, owner_span, breaker_names)


def _unknown_ref(
    kind: str, ref: ir.PolicyRef, owner: str, owner_span: Span | None, names: list[str]
) -> Diagnostic:
    return Diagnostic(
        "MMO502",
        f"{owner} uses {kind} `{ref.name}`, which is not defined",
        first_span(ref, owner_span),
        label=f"no {kind} has this name",
        help=did_you_mean(ref.name, names)
        or (f"defined: {listing(names)}" if names else f"define the {kind} first"),
    )


def _canonical(p: ir.Pipeline, ref_id: str) -> str:
    """The model a reference means, so that `gpt-4o` and `openai/gpt-4o` compare equal."""
    resolved = resolve_model(p, ref_id)
    base, _, _ = resolved.partition("?")
    if "/" not in base and base in CATALOG:
        return f"{CATALOG[base]}/{resolved}"
    return resolved


def check_fallbacks(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for step in p.all_steps():
        if not isinstance(step, ir.LlmStep) or step.fallback is None:
            continue
        if not step.fallback:
            yield Diagnostic(
                "MMO503",
                f"step `{step.name}` has an empty fallback list",
                name_span(step),
                help="remove `fallback`, or list the models to try",
            )
            continue
        primary = _canonical(p, step.model.id)
        seen: set[str] = set()
        for ref in step.fallback:
            model = _canonical(p, ref.id)
            if model == primary:
                yield Diagnostic(
                    "MMO504",
                    f"step `{step.name}` falls back to `{ref.id}`, its own primary model",
                    first_span(ref, name_span(step)),
                    label="same model as the primary",
                    labels=(),
                    help="remove it from the fallback list; `retry` covers trying again",
                )
            elif model in seen:
                yield Diagnostic(
                    "MMO504",
                    f"step `{step.name}` lists fallback model `{ref.id}` twice",
                    first_span(ref, name_span(step)),
                    label="already in the fallback list",
                )
            seen.add(model)


def _timeout_problems(value: object, what: str, span: Span | None) -> Iterator[Diagnostic]:
    if value is None:
        return
    yield from _range("MMO507", f"the timeout of {what}", value, span,
                      lo=0, hi=MAX_DELAY_SECONDS, lo_open=True)


def check_step_values(p: ir.Pipeline) -> Iterator[Diagnostic]:
    yield from _timeout_problems(p.defaults.timeout, "the pipeline default",
                                 value_span(p.defaults, "timeout", first_span(p.defaults, p)))
    for step in p.all_steps():
        span = name_span(step)
        what = f"step `{step.name}`"
        yield from _timeout_problems(step.timeout, what, value_span(step, "timeout", span))
        if isinstance(step, ir.LlmStep):
            if step.temperature is not None:
                yield from _range("MMO507", f"the temperature of {what}", step.temperature,
                                  value_span(step, "temperature", span), lo=0, hi=2)
            if step.max_tokens is not None:
                yield from _range("MMO507", f"max_tokens of {what}", step.max_tokens,
                                  value_span(step, "max_tokens", span), lo=1,
                                  hi=10_000_000.0, integer=True)
            yield from _schema_problems(step, span)
        if isinstance(step, ir.GroupStep) and step.concurrency is not None:
            yield from _range("MMO507", f"the concurrency of parallel group `{step.name}`",
                              step.concurrency, value_span(step, "concurrency", span), lo=1,
                              hi=MAX_THRESHOLD, integer=True)


def _schema_problems(step: AnyStep, span: Span | None) -> Iterator[Diagnostic]:
    if not isinstance(step, ir.LlmStep) or step.output is None or step.output.schema_ is None:
        return
    # The front ends bound a schema as they read it; the builder API hands it over as it is.
    # A schema too deep, or with a number no module can write, is refused before the runtime's
    # judge (which calls itself once per level) sees it.
    unwritable = json_nesting_problem(step.output.schema_)
    if unwritable is not None:
        yield Diagnostic(
            "MMO508",
            f"the output schema of step `{step.name}` cannot be compiled: {unwritable}",
            span,
        )
        return
    # The runtime validates replies against this subset, so it is the one judge of the subset.
    for problem in schema_is_supported(step.output.schema_):
        yield Diagnostic("MMO508", f"the output schema of step `{step.name}`: {problem}", span)


CHECKS = (check_policies, check_fallbacks, check_step_values)
