"""Rate limits and budgets (`limit ...`, `budget $...`): MMO820-MMO839.

Values must be numbers > 0 (concurrency and burst whole); a limit names a known provider or
a model id the model checks accept, at most once, and should name something the pipeline
calls; a budget is a number >= 0, and one no call of some step could fit in is worth a
warning (the run would always end `budget_exceeded`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from mmoc_runtime.catalog import CATALOG, catalog_name
from mmoc_runtime.pricing import cost_at, price_for
from mmoc_runtime.template import parse_template
from mmoc_runtime.token_estimate import output_allowance, prompt_tokens

from .. import ir
from ..analysis import resolve_model
from ..diagnostics.model import Diagnostic, Label
from .models import _judge, _Known, declared_price, model_refs
from .support import did_you_mean, first_span

_AXES = ("rpm", "tpm", "concurrency", "burst")
_WHOLE = frozenset({"concurrency", "burst"})


def _positive(value: Any, whole: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if not math.isfinite(value) or value <= 0:
        return False
    return not whole or float(value).is_integer()


def check_limit_values(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for lim in p.limits:
        span = first_span(lim, p)
        given = [(axis, getattr(lim, axis)) for axis in _AXES if getattr(lim, axis) is not None]
        if not given:
            yield Diagnostic(
                "MMO820", f"limit `{lim.target}` sets no limit", span, label="nothing to limit",
                help="give at least one of rpm, tpm, concurrency: "
                f"`limit {lim.target} (rpm: 500)`",
            )
        for axis, value in given:
            whole = axis in _WHOLE
            if not _positive(value, whole):
                kind = "a whole number > 0" if whole else "a number > 0"
                yield Diagnostic(
                    "MMO820", f"`{axis}: {value}` of limit `{lim.target}` must be {kind}", span,
                    label=f"bad {axis}",
                    help="leave an axis out to leave it unlimited",
                )


def check_limit_targets(p: ir.Pipeline) -> Iterator[Diagnostic]:
    known = _Known.of(p)
    called = _called(p)
    seen: dict[str, ir.RateLimit] = {}
    for lim in p.limits:
        span = first_span(lim, p)
        target = lim.target.partition("?")[0]
        # One endpoint, however it is spelled: `gpt-4o`, `openai/gpt-4o` or an alias of it.
        key = target if target in known.provider_set else _catalog_key(resolve_model(p, target))
        first = seen.get(key)
        if first is not None:
            labels = (Label(first.span, "first given here"),) if first.span else ()
            yield Diagnostic("MMO823", f"limit `{target}` is given twice", span,
                             labels=labels, help="merge the two into one `limit` statement")
            continue
        seen[key] = lim
        if "?" in lim.target:
            yield Diagnostic(
                "MMO821", f"limit `{lim.target}` has model options", span,
                label="options are not part of an endpoint",
                help=f"a limit covers every call to the model: write `limit {target} (...)`",
            )
            continue
        if target in called or _catalog_key(resolve_model(p, target)) in called:
            continue
        if "/" not in target and target in known.provider_set:
            if target not in {c.partition("/")[0] for c in called}:
                yield _unused(lim, span, "no step calls a model of provider")
            continue
        problems = [d for d in _judge(target, span, f"limit `{target}`", known)
                    if d.code in ("MMO401", "MMO402", "MMO403")]
        yield _unknown(target, span, known.providers, problems[0]) if problems else _unused(
            lim, span, "no step calls")


def _unknown(target: str, span: Any, providers: list[str],
             problem: Diagnostic) -> Diagnostic:
    return Diagnostic(
        "MMO821", f"limit `{target}` names no known model or provider", span,
        label="unknown model or provider",
        help=problem.help or did_you_mean(target, providers)
        or "write a provider (`openai`) or a model (`openai/gpt-4o`)",
    )


def _unused(lim: ir.RateLimit, span: Any, why: str) -> Diagnostic:
    return Diagnostic(
        "MMO822", f"limit `{lim.target}` limits nothing: {why} `{lim.target}`", span,
        label="unused limit",
        help="a limit applies to calls of the model (or provider) it names; a step calling a "
        "bare catalog name counts as `provider/name`",
    )


def _called(p: ir.Pipeline) -> set[str]:
    """Every model (`provider/name`, options dropped) a step, fallback or alias names."""
    return {_catalog_key(resolve_model(p, ref.id)) for ref, _ in model_refs(p)}


def _catalog_key(model: str) -> str:
    """`provider/name` of a model id: a bare catalog name gets its provider."""
    base = model.partition("?")[0]
    if "/" in base:
        return base
    provider = CATALOG.get(catalog_name(base))
    return f"{provider}/{base}" if provider else base


def check_budget(p: ir.Pipeline) -> Iterator[Diagnostic]:
    budget = p.budget
    if budget is None:
        return
    span = p.span
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(
            budget) or budget < 0:
        yield Diagnostic("MMO824", f"budget `{budget}` must be a number of US dollars >= 0",
                         span, label="bad budget", help="write `budget $0.50`")
        return
    for step in p.all_steps():
        if not isinstance(step, ir.LlmStep):
            continue
        model = resolve_model(p, step.model.id)
        smallest = _smallest_call(step)
        key = _catalog_key(model)
        usd = cost_at(declared_price(key) or price_for(key)[0], *smallest)
        if usd > budget:
            yield Diagnostic(
                "MMO825",
                f"step `{step.name}` cannot fit in the budget ${budget:g}: its smallest call "
                f"to `{model}` is estimated at ${usd:.4f}",
                first_span(step, p), label="always over budget",
                help="a call is estimated from its prompt (4 characters a token) and "
                "`max_tokens` (1024 when not set); lower `max_tokens` or raise the budget",
            )


def _smallest_call(step: ir.LlmStep) -> tuple[int, int]:
    """(prompt tokens, output tokens) of the step's smallest call: its prompt text without
    the placeholders' values, and its `max_tokens` allowance."""
    prompt = step.prompt.value if step.prompt is not None else ""
    system = step.system.value if step.system is not None else ""
    max_tokens = step.max_tokens if isinstance(step.max_tokens, int) else None
    return (prompt_tokens(_without_placeholders(prompt), _without_placeholders(system)),
            output_allowance(max_tokens))


def _without_placeholders(text: str) -> str:
    return "".join(part for part in parse_template(text).parts if isinstance(part, str))


CHECKS = (check_limit_values, check_limit_targets, check_budget)
