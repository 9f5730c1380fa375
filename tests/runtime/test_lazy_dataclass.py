"""`mmoc_runtime.lazy_dataclass`: classes that behave as the standard `dataclass` makes them,
whichever method is called first, with the methods written only when first needed."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import sys
import threading
from typing import Any

import pytest
from mmoc_runtime import catalog, limiter, retry, spec, template
from mmoc_runtime.lazy_dataclass import dataclass as lazy_dataclass


def twins(**options: Any) -> tuple[type, type]:
    """The same class body, made by the standard decorator and by the lazy one."""

    def body(decorate: Any) -> type:
        @decorate(**options)
        class Point:
            x: int
            y: int = 0
            tags: list[str] = dataclasses.field(default_factory=list, hash=False)
            label: str = dataclasses.field(default="p", compare=False, repr=False)
            seen: int = dataclasses.field(default=0, hash=False)

            def __post_init__(self) -> None:
                if self.x < 0:
                    raise ValueError("x must be >= 0")

        return Point

    return body(dataclasses.dataclass), body(lazy_dataclass)


def pending(cls: type) -> bool:
    return "__lazy_dataclass_pending__" in cls.__dict__


@pytest.mark.parametrize("frozen", [True, False])
def test_behaves_as_the_standard_dataclass(frozen: bool) -> None:
    standard, lazy = twins(frozen=frozen)
    assert pending(lazy)
    # Before any method ran, the class is already a dataclass with the same fields.
    assert dataclasses.is_dataclass(lazy)
    assert [(f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(lazy)] == [
        (f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(standard)
    ]
    a, b = standard(1, tags=["t"]), lazy(1, tags=["t"])
    assert not pending(lazy)
    assert repr(a).replace("Point", "") == repr(b).replace("Point", "")
    assert b == lazy(1, tags=["t"], label="other")  # label is not compared
    assert b != lazy(2)
    assert lazy(1).tags is not lazy(1).tags  # a fresh default per instance
    assert dataclasses.asdict(b) == dataclasses.asdict(a)
    assert dataclasses.replace(b, y=5).y == 5
    assert str(inspect.signature(lazy)) == str(inspect.signature(standard))
    assert lazy.__doc__ == standard.__doc__
    with pytest.raises(ValueError, match="x must be >= 0"):
        lazy(-1)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        lazy()
    if frozen:
        assert hash(lazy(1, seen=1)) == hash(lazy(1, seen=2))  # `seen` is not hashed
        with pytest.raises(dataclasses.FrozenInstanceError):
            b.x = 3  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            del b.x
    else:
        assert lazy.__hash__ is None  # eq without frozen: unhashable, as standard
        b.x = 3
        assert b.x == 3


def test_any_method_can_come_first() -> None:
    """An instance made without `__init__` (as unpickling makes one) writes the methods from
    whichever it calls first."""
    for first in (repr, hash, lambda o: o.__eq__(o)):
        _, lazy = twins(frozen=True)
        obj = object.__new__(lazy)
        for name, value in (("x", 1), ("y", 0), ("tags", []), ("label", "p"), ("seen", 0)):
            object.__setattr__(obj, name, value)
        first(obj)
        assert not pending(lazy)
        assert repr(obj).endswith("Point(x=1, y=0, tags=[], seen=0)")


def test_copies_and_pickles() -> None:
    step = spec.LlmStep(name="a", model="mock/x", prompt="{q}", output_key="out")
    pipeline = spec.PipelineSpec(name="p", steps=(step,), metadata={"k": 1},
                                 defaults=spec.StepDefaults(timeout=2.0))
    assert pickle.loads(pickle.dumps(pipeline)) == pipeline
    assert copy.deepcopy(pipeline) == pipeline
    assert pipeline.steps[0].timeout == 2.0


def race(cls: type, threads: int = 8) -> list[Any]:
    """What `threads` threads, let go at once, each make first of `cls`; any error raised."""
    made: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def make() -> None:
        start.wait()
        try:
            made.append((cls(1), hash(cls(1)), repr(cls(2))))
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            errors.append(exc)

    running = [threading.Thread(target=make) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    if errors:
        raise errors[0]
    return made


def test_threads_that_race_to_the_first_instance() -> None:
    """Threads switching as often as the interpreter allows: none finds a method missing."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(20):
            _, lazy = twins(frozen=True)
            made = race(lazy)
            assert len({m[0] for m in made}) == 1 and len({m[1] for m in made}) == 1
    finally:
        sys.setswitchinterval(interval)


def test_a_standard_subclass_made_before_any_instance() -> None:
    _, lazy = twins(frozen=True)

    @dataclasses.dataclass(frozen=True)
    class Tagged(lazy):  # type: ignore[valid-type,misc]
        tag: str = "t"

    assert not pending(lazy)  # making the subclass wrote the base's methods first
    assert repr(Tagged(1)).endswith("Tagged(x=1, y=0, tags=[], seen=0, tag='t')")
    assert Tagged(1) == Tagged(1) and hash(Tagged(1)) == hash(Tagged(1))


def test_a_frozen_instance_takes_no_new_attribute_either() -> None:
    _, lazy = twins(frozen=True)
    point = lazy(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'z'"):
        point.z = 1
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'z'"):
        del point.z


def test_a_class_with_a_method_of_its_own_gets_the_standard_decorator() -> None:
    @lazy_dataclass(frozen=True)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert not pending(Named)
    assert repr(Named("n")) == "<n>"
    assert Named("n") == Named("n")


def test_options_it_does_not_defer_get_the_standard_decorator() -> None:
    @lazy_dataclass(frozen=True, order=True)
    class Ordered:
        n: int

    assert not pending(Ordered)
    assert Ordered(1) < Ordered(2)


RUNTIME_CLASSES = [
    obj
    for module in (spec, retry, limiter, catalog, template)
    for obj in vars(module).values()
    if isinstance(obj, type) and obj.__module__ == module.__name__
    and dataclasses.is_dataclass(obj)
]


@pytest.mark.parametrize("cls", RUNTIME_CLASSES, ids=lambda c: c.__name__)
def test_the_runtime_classes_are_frozen_dataclasses_once_written(cls: type) -> None:
    required = {f.name: None for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    with pytest.raises(TypeError):
        cls(**required, not_a_field=1)  # the first call writes the methods, and still checks
    params = cls.__dict__["__dataclass_params__"]
    assert params.frozen and params.eq
    assert list(inspect.signature(cls).parameters) == [f.name for f in dataclasses.fields(cls)]
