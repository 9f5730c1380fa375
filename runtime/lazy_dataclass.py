"""`dataclass`, with the class's generated methods written the first time one is needed.

Importing a generated module defines some twenty frozen dataclasses (the spec, policies,
templates) and makes instances of a handful. The standard decorator writes each class's
`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and `__delattr__` with an `exec`
apiece: about 0.5 ms a class on Python 3.11, the largest part of a generated module's import.

`dataclass` here records the fields at once, so `dataclasses.fields`, `is_dataclass`, `asdict`
and `replace` see the class as a dataclass. A frozen class gets its `__setattr__` and
`__delattr__` at once, without `exec`: they are the standard ones written out (`_frozen`).
`__init__`, `__repr__`, `__eq__` and `__hash__` start as stand-ins: the first call of any of
them (or a subclass being made) runs the standard decorator, with the options given here, on a
copy of the class as it was written, and puts that copy's methods on the class. Each stand-in
is replaced in one assignment, so a thread that calls one meanwhile never finds it missing: it
waits for the methods and calls them. The modules that use this import it only
`if not TYPE_CHECKING`, so type checkers see the standard decorator.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T", bound=type)

# The options this supports; any other (order, slots, kw_only, ...) gets the standard decorator.
_SUPPORTED = frozenset({"frozen"})
_WRITTEN_LATER = ("__init__", "__repr__", "__eq__", "__hash__")
_PENDING = "__lazy_dataclass_pending__"
_lock = threading.RLock()


def dataclass(cls: T | None = None, /, **options: Any) -> Any:
    """`dataclasses.dataclass(cls, **options)`, its methods written on first use."""

    def wrap(cls: T) -> T:
        return _defer(cls, options)

    return wrap if cls is None else wrap(cls)


def _defer(cls: T, options: dict[str, Any]) -> T:
    frozen = bool(options.get("frozen"))
    own = (*_WRITTEN_LATER, "__setattr__", "__delattr__", "__init_subclass__")
    if not set(options) <= _SUPPORTED or any(name in cls.__dict__ for name in own):
        # A class that writes one of these itself: the standard way, at once.
        return cast(T, dataclasses.dataclass(cls, **options))
    as_written = dict(cls.__dict__)
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)  # the fields, no methods
    if as_written.get("__doc__") is None:
        cls.__doc__ = None  # written from the real signature, with the methods
    for name in _WRITTEN_LATER:
        setattr(cls, name, _stand_in(cls, name))
    if frozen:
        names = frozenset(f.name for f in dataclasses.fields(cls))
        cls.__setattr__ = _frozen(cls, names, "assign to")  # type: ignore[method-assign]
        cls.__delattr__ = _frozen(cls, names, "delete")  # type: ignore[method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: as standard
    # A subclass (a standard dataclass, say) checks its base's parameters: write them first.
    cls.__init_subclass__ = classmethod(_subclassed(cls))  # type: ignore[assignment]
    setattr(cls, _PENDING, (options, as_written))
    return cls


def _stand_in(owner: type, name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        _materialize(owner)
        return owner.__dict__[name](self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"{owner.__qualname__}.{name}"
    return method


def _subclassed(owner: type[Any]) -> Callable[..., None]:
    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        _materialize(owner)
        super(owner, cls).__init_subclass__(**kwargs)

    return __init_subclass__


def _frozen(owner: type[Any], fields: frozenset[str], verb: str) -> Callable[..., None]:
    """The standard frozen `__setattr__` (verb "assign to") or `__delattr__` ("delete")."""

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in fields:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in fields:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    method: Callable[..., None] = __delattr__ if verb == "delete" else __setattr__
    method.__qualname__ = f"{owner.__qualname__}.{method.__name__}"
    return method


def _materialize(owner: type) -> None:
    """Write `owner`'s methods, once, however many threads ask."""
    with _lock:
        pending = owner.__dict__.get(_PENDING)
        if pending is None:
            return
        options, as_written = pending
        namespace = {k: v for k, v in as_written.items() if k not in ("__dict__", "__weakref__")}
        # The standard decorator, on a copy of the class as written (the class itself keeps
        # its stand-ins until each is replaced, below).
        written = type(owner)(owner.__name__, owner.__bases__, namespace)
        copy: type = dataclasses.dataclass(written, **options)
        for name in _WRITTEN_LATER:
            setattr(owner, name, copy.__dict__[name])
        owner.__dataclass_params__ = copy.__dataclass_params__  # type: ignore[attr-defined]
        if as_written.get("__doc__") is None:
            owner.__doc__ = copy.__doc__
        delattr(owner, "__init_subclass__")
        delattr(owner, _PENDING)
