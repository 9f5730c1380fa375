"""Frozen records: the IR's node base, on the standard library's dataclasses.

The IR was made of pydantic models, and importing pydantic and building its validators cost
about 130 ms of every `mmoc check` (half the time an editor or a pre-commit hook waits). The IR
never needed that validation: the front ends and the builder are what judge a user's input, and
they report diagnostics instead of raising. So a record here is a frozen, keyword-only record class
that keeps the small part of pydantic's model API the compiler and its users rely on:
`model_dump()` (what "the same meaning" compares: fields declared with `exclude=True`, such as
spans and comments, are left out), `model_dump_json()`, `model_copy(update=...)`,
`model_construct(...)`, `model_fields` and `model_fields_set`. Declarations read as they did:
`Field(default=None, exclude=True, repr=False)`, `Field(default_factory=dict)`, an `alias`.

A subclass whose body declares fields gets its own field list; one that declares none (the
builder's seed views) only inherits. Records are not `dataclasses`: making a dataclass runs five
`exec`s and an `inspect.signature` per class, which cost more than the rest of the IR's import;
a record's constructor is generated once, the first time the class is instantiated. A list given for a field typed as a tuple is stored as a
tuple, as pydantic did, so two front ends building the same thing compare equal.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any, ClassVar, Self, TypeVar, dataclass_transform

R = TypeVar("R", bound="Record")

_MUTABLE_DEFAULTS = (list, dict, set)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FieldInfo:
    """One field's declaration (what `Field(...)` returns)."""

    __slots__ = ("alias", "annotation", "default", "default_factory", "exclude", "name", "repr")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING,
                 exclude: bool = False, repr: bool = True,
                 alias: str | None = None) -> None:
        if isinstance(default, _MUTABLE_DEFAULTS):
            default_factory, default = (lambda value=default: copy.copy(value)), MISSING
        self.name = ""
        self.annotation: Any = None
        self.default = default
        self.default_factory = default_factory
        self.exclude = exclude
        self.repr = repr
        self.alias = alias

    @property
    def is_required(self) -> bool:
        return self.default is MISSING and self.default_factory is MISSING


def Field(
    default: Any = MISSING,
    *,
    default_factory: Any = MISSING,
    exclude: bool = False,
    repr: bool = True,
    alias: str | None = None,
    discriminator: str | None = None,
) -> Any:
    """A field's declaration. `exclude` leaves it out of `model_dump()`; `alias` is the keyword
    the constructor also accepts for it (`schema=` for `schema_`). `discriminator` is accepted
    for the `Annotated` unions' sake and means nothing here: every node is built already typed."""
    del discriminator
    return FieldInfo(default, default_factory, exclude, repr, alias)


def ConfigDict(**settings: Any) -> dict[str, Any]:
    """Model settings, kept for the declarations' sake; records are always frozen and strict."""
    return dict(settings)


class FrozenRecordError(AttributeError):
    """An assignment to a field of a record (records are frozen: use `model_copy`)."""


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class Record:
    """The base of every IR node and of `Span`: frozen, built with keyword arguments."""

    model_config: ClassVar[dict[str, Any]] = {}
    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__annotations__")  # noqa: RUF063 - `inspect` costs an import
        if not own:
            return  # declares no field (a view): it only inherits
        fields = dict(cls.model_fields)
        for name, annotation in own.items():
            if annotation.startswith("ClassVar"):
                continue
            value = cls.__dict__.get(name, MISSING)
            info = value if isinstance(value, FieldInfo) else FieldInfo(default=value)
            info.name, info.annotation = name, annotation
            fields[name] = info  # a redeclared field keeps its place, as in dataclasses
            if isinstance(value, (FieldInfo, _MUTABLE_DEFAULTS)):
                delattr(cls, name)
        cls.model_fields = fields
        setattr(cls, "__init__", _first_init)  # noqa: B010 - mypy forbids assigning a method

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenRecordError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def _values(self) -> tuple[Any, ...]:
        state = self.__dict__
        return tuple(state[name] for name in self.model_fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={self.__dict__[name]!r}" for name, info in self.model_fields.items() if info.repr
        )
        return f"{type(self).__name__}({shown})"

    @property
    def model_fields_set(self) -> set[str]:
        """The fields given to the constructor (the others hold their defaults)."""
        given = self.__dict__.get("_fields_given")
        return set(given) if given is not None else set(self.model_fields)

    @classmethod
    def model_construct(cls, _fields_set: Iterable[str] | None = None, **values: Any) -> Self:
        """A record of these values as they are: nothing converted, no `__init__` run (the
        builder's views, whose `model` property would refuse an assignment, are made so)."""
        record = cls.__new__(cls)
        state = record.__dict__
        for name, info in cls.model_fields.items():
            if name in values:
                state[name] = values[name]
            elif info.default_factory is not MISSING:
                state[name] = info.default_factory()
            else:
                state[name] = info.default
        if _fields_set is not None:
            state["_fields_given"] = frozenset(_fields_set)
        return record

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied as given (not converted), as pydantic's."""
        new = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            new.__dict__.update(update)
        return new

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The record's meaning as plain data: every field but the excluded ones, nested
        records dumped too; `mode="json"` gives lists for tuples."""
        return {
            name: _dump(self.__dict__[name], mode)
            for name, info in self.model_fields.items()
            if not info.exclude
        }

    def model_dump_json(self) -> str:
        """`model_dump(mode="json")` as compact, key-sorted JSON (values JSON cannot hold are
        written with `repr`)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, default=repr,
                          separators=(",", ":"))

    @classmethod
    def model_rebuild(cls) -> None:
        """Nothing to rebuild (kept for declarations written for pydantic)."""


def _first_init(self: Record, **values: Any) -> None:
    """The constructor until the class's own is made: makes it, installs it, runs it."""
    cls = type(self)
    owner = next(c for c in cls.__mro__ if c.__dict__.get("__init__") is _first_init)
    init = _make_init(owner)
    setattr(owner, "__init__", init)  # noqa: B010 - mypy forbids assigning a method
    init(self, **values)


def _make_init(cls: type[Record]) -> Any:
    """`cls.__init__`: keyword-only parameters, defaults filled in, a list given for a
    tuple-typed field stored as a tuple; written as Python once per class, so a node costs what
    a hand-written constructor would. The code's own names start with `_r_` (no field does)."""
    params, lines = [], []
    scope: dict[str, Any] = {"_r_MISSING": MISSING, "_r_tuple": tuple}
    for index, (name, info) in enumerate(cls.model_fields.items()):
        if info.is_required:
            params.append(name)
        elif info.default_factory is not MISSING:
            scope[f"_r_factory{index}"] = info.default_factory
            params.append(f"{name}=_r_MISSING")
            lines.append(f"    if {name} is _r_MISSING: {name} = _r_factory{index}()")
        else:
            scope[f"_r_default{index}"] = info.default
            params.append(f"{name}=_r_default{index}")
        if _is_tuple_type(info.annotation):
            lines.append(f"    if {name}.__class__ is list: {name} = _r_tuple({name})")
        lines.append(f"    _r_state[{name!r}] = {name}")
    source = "\n".join(
        [f"def __init__(_r_self, *, {', '.join(params)}):", "    _r_state = _r_self.__dict__",
         *lines]
    )
    exec(source, scope)  # noqa: S102 - made of field names, which are identifiers
    init = scope["__init__"]
    aliases = {info.alias: name for name, info in cls.model_fields.items() if info.alias}
    return _accepting(aliases, init) if aliases else init


def _accepting(aliases: dict[str, str], init: Any) -> Any:
    """`init`, also taking each field by its alias (`schema=` for `schema_`)."""

    def __init__(self: Record, **values: Any) -> None:
        for alias, name in aliases.items():
            if alias in values:
                values[name] = values.pop(alias)
        init(self, **values)

    return __init__


def _dump(value: Any, mode: str) -> Any:
    if isinstance(value, Record):
        return value.model_dump(mode=mode)
    if isinstance(value, tuple):
        items = [_dump(item, mode) for item in value]
        return items if mode == "json" else tuple(items)
    if isinstance(value, list):
        return [_dump(item, mode) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item, mode) for key, item in value.items()}
    return value


def _is_tuple_type(annotation: Any) -> bool:
    # Annotations are strings (`from __future__ import annotations`): `tuple[...]`, possibly
    # `| None`. A union of a tuple and anything else is left as given.
    text = annotation if isinstance(annotation, str) else ""
    parts = [part.strip() for part in _top_level_union(text)]
    return any(p.startswith("tuple[") for p in parts) and all(
        p.startswith("tuple[") or p == "None" for p in parts
    )


def _top_level_union(text: str) -> list[str]:
    """`text` split at the `|` that are not inside brackets or parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts
