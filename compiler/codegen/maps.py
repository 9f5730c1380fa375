"""Lowering of map steps: `ir.MapStep` -> a `MapStep(...)` call of the runtime spec.

The body's steps are lowered like any other steps (each its own module constant, named after
the step) by the function `steps.py` passes in; this module adds the map's own arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ir
from .expressions import LoweringError, literal, tuple_code
from .names import check_identifier
from .views import Arg, Call

ON_ERROR = ("fail", "skip", "collect")


def lower_map(
    ctx: Any,
    step: ir.MapStep,
    lower_member: Callable[[Any, Any], str],
    common_args: Callable[..., list[Arg]],
) -> Call:
    """The `MapStep(...)` call; `lower_member` and `common_args` are `steps.py`'s, passed in
    because `steps.py` imports this module."""
    check_identifier(step.item, "map item name")
    if step.output_key is None:
        raise LoweringError("a map step has no output key")
    members = tuple(lower_member(ctx, m) for m in step.steps)
    args = [
        Arg.of("name", literal(step.name)),
        Arg.of("for_each", literal(check_identifier(step.for_each.name, "key"))),
        Arg.of("steps", tuple_code(members)),
        Arg.of("output_key", literal(step.output_key)),
    ]
    if step.item != "item":
        args.append(Arg.of("item", literal(step.item)))
    if step.collect is not None:
        args.append(Arg.of("collect", literal(check_identifier(step.collect.name, "key"))))
    if step.concurrency is not None:
        args.append(Arg.of("concurrency", literal(_whole(step.concurrency, "concurrency"))))
    if step.on_error != "fail":
        if step.on_error not in ON_ERROR:
            raise LoweringError(f"unknown on_error {step.on_error!r}")
        args.append(Arg.of("on_error", literal(step.on_error)))
    if step.limit is not None:
        args.append(Arg.of("limit", literal(_whole(step.limit, "limit"))))
    args += common_args(ctx, step, timeout=step.timeout)
    return Call(ctx.rt("MapStep"), tuple(args))


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LoweringError(f"{what} {value!r} is not a positive whole number")
    return value
