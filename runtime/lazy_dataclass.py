"""`dataclass`, with the class's methods written the first time they are needed.

Importing a generated module defines some twenty frozen dataclasses (the spec, policies,
templates) and makes instances of a handful. The standard decorator writes each class's
`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and `__delattr__` with an `exec`
apiece: about 0.5 ms a class on Python 3.11, the largest part of a generated module's import.

`dataclass` here records the fields at once, so `dataclasses.fields`, `is_dataclass`, `asdict`
and `replace` see the class as a dataclass, and puts a stand-in for each method. The first call
of any stand-in runs the standard decorator on the class, with the options given here: from
then on the class is what `dataclasses.dataclass` makes, method for method. The modules that
use it import it only `if not TYPE_CHECKING`, so type checkers see the standard decorator.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T", bound=type)

# The options this supports; any other (order, slots, kw_only, ...) gets the standard decorator.
_SUPPORTED = frozenset({"frozen"})
_PENDING = "__lazy_dataclass_options__"
_lock = threading.RLock()


def dataclass(cls: T | None = None, /, **options: Any) -> Any:
    """`dataclasses.dataclass(cls, **options)`, its methods written on first use."""

    def wrap(cls: T) -> T:
        return _defer(cls, options)

    return wrap if cls is None else wrap(cls)


def _defer(cls: T, options: dict[str, Any]) -> T:
    stand_ins = ["__init__", "__repr__", "__eq__"]
    if options.get("frozen"):
        stand_ins += ["__hash__", "__setattr__", "__delattr__"]
    if not set(options) <= _SUPPORTED or any(name in cls.__dict__ for name in stand_ins):
        # A class that writes one of these methods itself: the standard way, at once.
        return cast(T, dataclasses.dataclass(cls, **options))
    without_doc = cls.__doc__ is None
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)  # the fields, no methods
    if without_doc:
        cls.__doc__ = None  # the standard decorator writes it from the real signature, later
    if not options.get("frozen"):
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as standard
    for name in stand_ins:
        setattr(cls, name, _stand_in(cls, name))
    setattr(cls, _PENDING, (options, tuple(stand_ins)))
    return cls


def _stand_in(owner: type, name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        _materialize(owner)
        return owner.__dict__[name](self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _materialize(owner: type) -> None:
    """Run the standard decorator on `owner`, once, however many threads ask."""
    with _lock:
        pending = owner.__dict__.get(_PENDING)
        if pending is None:
            return
        options, stand_ins = pending
        own = inspect.get_annotations(owner)
        for f in dataclasses.fields(owner):
            if f.name in own:
                # The first pass moved each default into its Field (a default_factory left no
                # class attribute at all): give the standard decorator the Field back.
                setattr(owner, f.name, f)
        for name in (*stand_ins, "__hash__", _PENDING):
            if name in owner.__dict__:
                delattr(owner, name)
        dataclasses.dataclass(owner, **options)
