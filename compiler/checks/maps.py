"""Map steps: the scope of a body, the list it iterates over, its options (MMO801-MMO810).

A map body is its own scope. Inside it, the item and every key of the enclosing pipeline are
visible, and its steps' keys are visible to the steps after them; outside it, only the map's
result is. `body_checks` runs every other check on each body, as a pipeline of its own whose
inputs are the item and the enclosing keys, so a body is held to the same rules as the
pipeline around it (keys, models, policies, conditions, cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mmoc_runtime.transforms import BUILTIN_RESULTS

from .. import ir
from ..analysis import effective_inputs, needs_of, produced_keys
from ..diagnostics.model import Diagnostic, Label
from .support import first_span, is_int, key_span, name_span

ON_ERROR = ("fail", "skip", "collect")
LIST_TYPES = ("list[str]", "list[int]", "list[json]", "json")
# What the other checks say about a body pipeline that is said better here, or is no fault
# of the body: its stand-in inputs are the enclosing keys (most unread; a body key named
# like one is MMO810), and an unknown `collect` is MMO809.
_NOT_FOR_BODIES = frozenset({"MMO103", "MMO105", "MMO304"})


def _maps(p: ir.Pipeline) -> list[ir.MapStep]:
    return [s for s in p.steps if isinstance(s, ir.MapStep)]


def _outer_keys(p: ir.Pipeline) -> list[str]:
    """Every key of the enclosing pipeline: its inputs (inferred ones too) and outputs."""
    return list(dict.fromkeys((*effective_inputs(p), *produced_keys(p))))


def _known_keys(p: ir.Pipeline) -> set[str]:
    """The keys a name can clash with: declared inputs and step outputs (an inferred input
    named like an item is an item read outside its body, MMO802)."""
    declared = {i.name for i in p.inputs} if p.inputs_declared else set()
    return declared | set(produced_keys(p))


def result_key(m: ir.MapStep) -> str | None:
    """The body key that is each item's result: `collect`, else the last step's output."""
    if m.collect is not None:
        return m.collect.name
    return m.steps[-1].output_key if m.steps else None


def check_item_names(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO801: an item named like a key it would hide."""
    outer = _known_keys(p)
    for m in _maps(p):
        body = {s.output_key for s in m.steps}
        if m.item in outer or m.item in body:
            where = "the enclosing pipeline" if m.item in outer else "its own body"
            yield Diagnostic(
                "MMO801",
                f"map step `{m.name}` names its item `{m.item}`, a key of {where}",
                first_span(m.item_span, name_span(m)),
                label="this name is already a key",
                help=f"name the item after one element of `{m.for_each.name}`, e.g. "
                f"`{_singular(m.for_each.name)}`",
            )


def _singular(key: str) -> str:
    return key[:-1] if key.endswith("s") and len(key) > 1 else f"{key}_item"


def check_body_keys_outside(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO802/MMO803: a step outside a map reads its item, or a key of its body."""
    items = {m.item: m for m in _maps(p)}
    body_keys = {s.output_key: m for m in _maps(p) for s in m.steps if s.output_key}
    outer = _known_keys(p)
    for step in p.all_steps():
        for key in needs_of(step) if not isinstance(step, ir.MapStep) else ():
            if key in outer:
                continue
            if key in items:
                m = items[key]
                yield Diagnostic(
                    "MMO802",
                    f"step `{step.name}` reads `{key}`, the item of map step `{m.name}`, "
                    "outside its body",
                    name_span(step),
                    label=f"`{key}` exists only inside `{m.name}`",
                    labels=_at(m.item_span, "the item is named here"),
                    help=f"read `{m.output_key}`, the list of the body's results",
                )
            elif key in body_keys:
                m = body_keys[key]
                yield Diagnostic(
                    "MMO803",
                    f"step `{step.name}` reads `{key}`, a key of the body of map step "
                    f"`{m.name}`, outside that body",
                    name_span(step),
                    label=f"`{key}` exists once per item, inside `{m.name}`",
                    help=f"read `{m.output_key}`, the list of the body's results (`collect "
                    f"{key}` makes `{key}` each item's result)",
                )


def _at(span: Any, message: str) -> tuple[Label, ...]:
    return (Label(span, message),) if span is not None else ()


def check_for_each(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO804/MMO805: `for_each` names no key, or a key known not to hold a list."""
    produced = produced_keys(p)
    declared = {i.name: i for i in p.inputs} if p.inputs_declared else {}
    for m in _maps(p):
        key = m.for_each.name
        span = first_span(m.for_each, name_span(m))
        if key in declared:
            kind = declared[key].type or "str"
            problem = None if kind in LIST_TYPES else f"input `{key}` has type {kind}"
        elif key in produced:
            problem = _not_a_list(produced[key])
        else:
            if p.inputs_declared:
                yield Diagnostic(
                    "MMO805",
                    f"map step `{m.name}` iterates over `{key}`, which is neither an input "
                    "nor the output of any step",
                    span,
                    label="unknown key",
                    help=f"declare `input {key}: list[str]` (or list[int], list[json]), or "
                    "add a step that produces the list",
                )
            continue
        if problem is not None:
            yield Diagnostic(
                "MMO804",
                f"map step `{m.name}` iterates over `{key}`, which is not a list: {problem}",
                span,
                label="not a list",
                help="iterate over a list: an input typed list[...], a `json schema` reply "
                'with "type": "array", or a transform such as lines(...), '
                "split_chunks(...) or json_list(...)",
            )


def _not_a_list(step: Any) -> str | None:
    """Why the step's output is known not to be a list; None when it is, or may be."""
    if isinstance(step, ir.LlmStep):
        if step.output is None:
            return f"step `{step.name}` replies with text"
        schema = step.output.schema_
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind is not None and kind != "array":
            return f"step `{step.name}` replies with a JSON {kind}"
        return None
    if isinstance(step, ir.TransformStep):
        if step.callable is None and BUILTIN_RESULTS.get(step.function) == "text":
            return f"the built-in `{step.function}` returns text"
        return None
    if isinstance(step, ir.GroupStep):
        return f"group `{step.name}` collects a mapping of its members' outputs"
    return None  # a map step's output is a list


def check_body_order(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO806: a body step reads a key that a later step of the same body produces."""
    for m in _maps(p):
        produced_at = {s.output_key: i for i, s in enumerate(m.steps) if s.output_key}
        for index, step in enumerate(m.steps):
            for key in needs_of(step):
                later = produced_at.get(key)
                if later is not None and later > index:
                    producer = m.steps[later]
                    yield Diagnostic(
                        "MMO806",
                        f"step `{step.name}` in the body of map step `{m.name}` reads "
                        f"`{key}`, which step `{producer.name}` produces later in the body",
                        name_span(step),
                        label=f"reads `{key}` before it is produced",
                        labels=_at(key_span(producer), "produced here"),
                        help=f"move step `{producer.name}` above step `{step.name}`: a body "
                        "is written in the order it runs, its last step giving the result",
                    )


def check_map_options(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO807 (an empty body), MMO808 (a bad option), MMO809 (an unknown `collect`)."""
    for m in _maps(p):
        if not m.steps:
            yield Diagnostic(
                "MMO807",
                f"map step `{m.name}` has an empty body",
                name_span(m),
                label="nothing to run per item",
                help="add the step(s) to run for each item inside the braces",
            )
        if m.on_error not in ON_ERROR:
            yield Diagnostic(
                "MMO808",
                f"map step `{m.name}` has on_error `{m.on_error}`",
                name_span(m),
                label="unknown on_error",
                help="on_error is one of: " + ", ".join(ON_ERROR),
            )
        for option in ("concurrency", "limit"):
            value = getattr(m, option)
            if value is not None and (not is_int(value) or value < 1):
                yield Diagnostic(
                    "MMO808",
                    f"map step `{m.name}` has {option} {value!r}; it must be a whole "
                    "number of at least 1",
                    name_span(m),
                    label=f"bad {option}",
                )
        body_keys = [s.output_key for s in m.steps if s.output_key]
        if m.collect is not None and m.collect.name not in body_keys:
            yield Diagnostic(
                "MMO809",
                f"map step `{m.name}` collects `{m.collect.name}`, which no step of its "
                "body produces",
                first_span(m.collect, name_span(m)),
                label="not a key of the body",
                help="collect one of: " + (", ".join(body_keys) or "(the body is empty)"),
            )


def check_body_names(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """MMO810: a body step's name or key is also used outside that body."""
    names = {s.name for s in p.all_steps()}
    keys = _known_keys(p)
    for m in _maps(p):
        for step in m.steps:
            if step.name in names:
                yield Diagnostic(
                    "MMO810",
                    f"step `{step.name}` in the body of map step `{m.name}` has the name of "
                    "another step",
                    name_span(step),
                    label="name used twice",
                    help="every step of a pipeline, in a body or not, has its own name",
                )
            names.add(step.name)
            if step.output_key in keys:
                yield Diagnostic(
                    "MMO810",
                    f"step `{step.name}` in the body of map step `{m.name}` produces "
                    f"`{step.output_key}`, a key of the enclosing pipeline",
                    key_span(step),
                    label="this key would hide the outer one inside the body",
                    help="give the body's key a name of its own",
                )


def body_pipeline(p: ir.Pipeline, m: ir.MapStep) -> ir.Pipeline:
    """The body as a pipeline of its own: the item and the enclosing keys are its inputs,
    the item's result its output (what the other checks need to judge it)."""
    visible = dict.fromkeys((*_outer_keys(p), m.item))
    inputs = tuple(ir.Input(name=k, type="json") for k in visible)
    result = result_key(m)
    return p.model_copy(update={
        "inputs_declared": True,
        "inputs": inputs,
        "outputs": (ir.Ident(name=result),) if result else (),
        "steps": m.steps,
    })


def body_checks(
    checks: Iterable[Callable[[ir.Pipeline], Iterable[Diagnostic]]],
) -> Callable[[ir.Pipeline], Iterator[Diagnostic]]:
    """A check that runs `checks` on every map body (see `body_pipeline`)."""
    every = tuple(checks)

    def check_map_bodies(p: ir.Pipeline) -> Iterator[Diagnostic]:
        for m in _maps(p):
            if not m.steps:
                continue
            body = body_pipeline(p, m)
            for check in every:
                for d in check(body):
                    if d.code not in _NOT_FOR_BODIES and d.span is not None:
                        yield d

    return check_map_bodies


def map_scoped_keys(p: ir.Pipeline) -> frozenset[str]:
    """Items and body keys that are not keys of the pipeline itself (MMO802/MMO803 report
    reading them outside their body, in place of MMO301)."""
    inside = {m.item for m in _maps(p)} | {s.output_key for m in _maps(p) for s in m.steps}
    return frozenset(k for k in inside if k is not None and k not in produced_keys(p))


CHECKS = (
    check_item_names,
    check_body_keys_outside,
    check_for_each,
    check_body_order,
    check_map_options,
    check_body_names,
)

__all__ = ["CHECKS", "body_checks", "map_scoped_keys"]
