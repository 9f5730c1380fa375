"""How a transform is called with the keys it reads.

Users write transforms two ways: named after the keys (`def fmt(analysis): ...`, or
`**values`), or as any callable that takes the values in order (`lambda s: s.upper()`,
`str.upper`, `json.dumps`). A function whose signature binds every key by name is called with
keywords; anything else gets the values positionally, in the declared order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import MmocRuntimeError

if TYPE_CHECKING:
    from .spec import TransformStep


class MissingKeyError(MmocRuntimeError):
    kind = "missing_key"


def call_transform(step: TransformStep, values: Mapping[str, Any]) -> Any:
    """Call the transform with the values of its keys; the result may be an awaitable the
    caller awaits. A key missing from `values` raises `MissingKeyError`."""
    if step.pass_context:
        return step.function(MappingProxyType(values))
    args = []
    try:
        for key in step.reads:  # a loop, not a comprehension: no extra frame (3.11)
            args.append(values[key])
    except KeyError:
        missing = ", ".join(k for k in step.reads if k not in values)
        raise MissingKeyError(f"transform {step.name!r} needs missing key(s): {missing}") from None
    if takes_keys_by_name(step.function, step.reads):
        return step.function(**dict(zip(step.reads, args)))
    return step.function(*args)


def takes_keys_by_name(function: Callable[..., Any], keys: tuple[str, ...]) -> bool:
    try:
        return _cached_decision(function, keys)
    except TypeError:  # an unhashable callable: decide every time
        return _decide(function, keys)


# Decided once per (function, keys): signature inspection is too slow for the per-step path.
# Bounded, since builder pipelines made in a loop bring new functions (lambdas) each time.
@lru_cache(maxsize=1024)
def _cached_decision(function: Callable[..., Any], keys: tuple[str, ...]) -> bool:
    return _decide(function, keys)


def _decide(function: Callable[..., Any], keys: tuple[str, ...]) -> bool:
    if not keys:
        return False
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature takes positions
        return False
    try:
        signature.bind(**dict.fromkeys(keys))
    except TypeError:  # a required parameter is not among the keys, or a key is not a name
        return False
    return True
