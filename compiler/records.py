"""Frozen records: the IR's node base, on the standard library's dataclasses.

The IR was made of pydantic models, and importing pydantic and building its validators cost
about 130 ms of every `mmoc check` (half the time an editor or a pre-commit hook waits). The IR
never needed that validation: the front ends and the builder are what judge a user's input, and
they report diagnostics instead of raising. So a record here is a frozen, keyword-only dataclass
that keeps the small part of pydantic's model API the compiler and its users rely on:
`model_dump()` (what "the same meaning" compares: fields declared with `exclude=True`, such as
spans and comments, are left out), `model_dump_json()`, `model_copy(update=...)`,
`model_construct(...)`, `model_fields` and `model_fields_set`. Declarations read as they did:
`Field(default=None, exclude=True, repr=False)`, `Field(default_factory=dict)`, an `alias`.

A subclass whose body declares fields becomes a dataclass itself; one that declares none (the
builder's seed views) only inherits. A list given for a field typed as a tuple is stored as a
tuple, as pydantic did, so two front ends building the same thing compare equal.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar, dataclass_transform

R = TypeVar("R", bound="Record")

_MUTABLE_DEFAULTS = (list, dict, set)


def Field(  # noqa: N802 - named as pydantic's, which the IR's declarations were written for
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    exclude: bool = False,
    repr: bool = True,  # noqa: A002 - pydantic's (and dataclasses') parameter name
    alias: str | None = None,
    discriminator: str | None = None,
) -> Any:
    """A field's declaration. `exclude` leaves it out of `model_dump()`; `alias` is the keyword
    the constructor also accepts for it (`schema=` for `schema_`). `discriminator` is accepted
    for the `Annotated` unions' sake and means nothing here: every node is built already typed."""
    del discriminator
    if isinstance(default, _MUTABLE_DEFAULTS):
        default_factory, default = (lambda value=default: copy.copy(value)), dataclasses.MISSING
    return dataclasses.field(
        default=default,
        default_factory=default_factory,
        repr=repr,
        metadata={"exclude": exclude, "alias": alias},
    )


def ConfigDict(**settings: Any) -> dict[str, Any]:  # noqa: N802 - as pydantic's
    """Model settings, kept for the declarations' sake; records are always frozen and strict."""
    return dict(settings)


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class Record:
    """The base of every IR node and of `Span`: a frozen, keyword-only dataclass."""

    model_config: ClassVar[dict[str, Any]] = {}
    model_fields: ClassVar[dict[str, dataclasses.Field[Any]]] = {}
    # Names of fields typed as tuples (a list given for one is stored as a tuple), and the
    # aliases the constructor accepts, per class.
    _tuple_fields: ClassVar[frozenset[str]] = frozenset()
    _aliases: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("__annotations__"):
            return  # declares no field (a view): it only inherits
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, _MUTABLE_DEFAULTS) and name in cls.__annotations__:
                setattr(cls, name, Field(default=value))
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        cls.model_fields = {f.name: f for f in fields}
        cls._tuple_fields = frozenset(f.name for f in fields if _is_tuple_type(f.type))
        cls._aliases = {f.metadata["alias"]: f.name for f in fields if f.metadata.get("alias")}
        if cls._aliases:
            cls.__init__ = _accepting_aliases(cls.__init__)  # type: ignore[method-assign]

    def __post_init__(self) -> None:
        set_field = object.__setattr__
        for name in self._tuple_fields:
            value = self.__dict__[name]
            if isinstance(value, list):
                set_field(self, name, tuple(value))

    @property
    def model_fields_set(self) -> set[str]:
        """The fields given to the constructor (the others hold their defaults)."""
        given = self.__dict__.get("_fields_given")
        return set(given) if given is not None else set(self.model_fields)

    @classmethod
    def model_construct(cls: type[R], _fields_set: Iterable[str] | None = None, **values: Any) -> R:
        """A record of these values as they are: nothing converted, no `__init__` run (the
        builder's views, whose `model` property would refuse an assignment, are made so)."""
        record = cls.__new__(cls)
        state = record.__dict__
        for name, field in cls.model_fields.items():
            if name in values:
                state[name] = values[name]
            elif field.default is not dataclasses.MISSING:
                state[name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                state[name] = field.default_factory()
        if _fields_set is not None:
            state["_fields_given"] = frozenset(_fields_set)
        return record

    def model_copy(self: R, *, update: dict[str, Any] | None = None, deep: bool = False) -> R:
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
            for name, field in self.model_fields.items()
            if not field.metadata.get("exclude")
        }

    def model_dump_json(self) -> str:
        """`model_dump(mode="json")` as compact, key-sorted JSON (values JSON cannot hold are
        written with `repr`)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, default=repr,
                          separators=(",", ":"))

    @classmethod
    def model_rebuild(cls) -> None:
        """Nothing to rebuild (kept for declarations written for pydantic)."""


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


def _accepting_aliases(init: Any) -> Any:
    def __init__(self: Record, **values: Any) -> None:  # noqa: N807 - it is the constructor
        for alias, name in type(self)._aliases.items():
            if alias in values:
                values[name] = values.pop(alias)
        init(self, **values)

    return __init__
