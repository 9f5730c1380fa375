"""Tests (`test` blocks): what a test names must exist, and what it gives must be enough.

A fixed reply names an llm step (MMO901, MMO902); an expectation names a key some step
produces or an input (MMO903) and a step that exists (MMO908); a test gives every required
input and no unknown one (MMO904, MMO905); regexes compile (MMO906) and schemas are the
supported subset (MMO907); test names are unique (MMO909); input values have the declared
type (MMO911).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mmoc_runtime.structured import schema_is_supported

from .. import ir
from ..analysis import declared_inputs, effective_inputs, optional_inputs, produced_keys
from ..diagnostics.model import Diagnostic, Label
from .support import did_you_mean, first_span


def _required_inputs(p: ir.Pipeline) -> list[str]:
    if p.inputs_declared:
        return [i.name for i in declared_inputs(p).values() if not i.has_default]
    optional = optional_inputs(p)
    return [name for name in effective_inputs(p) if name not in optional]


def check_test_names(p: ir.Pipeline) -> Iterator[Diagnostic]:
    seen: dict[str, ir.Test] = {}
    for test in p.tests:
        first = seen.setdefault(test.name, test)
        if first is not test:
            where = first_span(first.name_span, first)
            yield Diagnostic(
                "MMO909", f"test `{test.name}` is defined twice",
                first_span(test.name_span, test),
                labels=(Label(where, "first defined here"),) if where else (),
            )


def _duplicates(items: tuple[ir.TestValue, ...], what: str, test: str) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for item in items:
        if item.name.name in seen:
            yield Diagnostic("MMO107", f"{what} `{item.name.name}` is given twice in test "
                             f"`{test}`", first_span(item.name, item))
        seen.add(item.name.name)


def check_test_inputs(p: ir.Pipeline) -> Iterator[Diagnostic]:
    inputs = effective_inputs(p)
    required = _required_inputs(p)
    for test in p.tests:
        yield from _duplicates(test.inputs, "input", test.name)
        given = {item.name.name for item in test.inputs}
        for item in test.inputs:
            if item.name.name not in inputs:
                yield Diagnostic(
                    "MMO905", f"test `{test.name}` gives input `{item.name.name}`, which the "
                    "pipeline does not take", first_span(item.name, item),
                    help=did_you_mean(item.name.name, inputs)
                    or ("the pipeline takes: " + ", ".join(inputs) if inputs else None),
                )
        yield from _typed(p, test)
        missing = [name for name in required if name not in given]
        if missing:
            listed = ", ".join(f"`{m}`" for m in missing)
            yield Diagnostic(
                "MMO904", f"test `{test.name}` does not give the required input"
                f"{'s' if len(missing) > 1 else ''} {listed}", first_span(test.name_span, test),
                help=f'add `input {missing[0]} = "..."` to the test',
            )


def _typed(p: ir.Pipeline, test: ir.Test) -> Iterator[Diagnostic]:
    """MMO911 for a value the run would refuse, as the runtime's own input check says."""
    declared = declared_inputs(p)
    for item in test.inputs:
        decl = declared.get(item.name.name)
        if decl is None or decl.type is None:
            continue
        if decl.type == "json" or (decl.type == "str" and isinstance(item.value, str)):
            continue  # it fits: no need to ask the runtime
        # Only for the other values: the runtime's spec classes import asyncio, which `mmoc
        # check` does without otherwise.
        from mmoc_runtime import InputError, InputSpec, PipelineSpec
        from mmoc_runtime.inputs import validate_inputs

        spec = PipelineSpec(name=p.name, inputs=(InputSpec(decl.name, str(decl.type)),))
        try:
            validate_inputs(spec, {decl.name: item.value})
        except InputError as exc:
            why = str(exc).split(": ", 1)[-1]
            yield Diagnostic("MMO911", f"test `{test.name}`: {why}", first_span(item, item.name),
                             labels=(Label(decl.span, "declared here"),) if decl.span else ())


def check_test_replies(p: ir.Pipeline) -> Iterator[Diagnostic]:
    steps = {s.name: s for s in p.all_steps()}
    llm_steps = [name for name, s in steps.items() if isinstance(s, ir.LlmStep)]
    for test in p.tests:
        yield from _duplicates(test.replies, "the reply of step", test.name)
        for reply in test.replies:
            name = reply.name.name
            step = steps.get(name)
            where = first_span(reply.name, reply)
            if step is None:
                yield Diagnostic(
                    "MMO901", f"test `{test.name}` fixes the reply of step `{name}`, which "
                    "does not exist", where, label="no such step",
                    help=did_you_mean(name, llm_steps),
                )
            elif not isinstance(step, ir.LlmStep):
                yield Diagnostic(
                    "MMO902", f"test `{test.name}` fixes the reply of step `{name}`, which "
                    f"calls no model (it is a {step.kind} step)", where,
                    help="fix the reply of an llm step it reads from instead",
                )


def _key_of(e: ir.Expectation) -> ir.Ident | None:
    return getattr(e, "key", None)


def check_expectations(p: ir.Pipeline) -> Iterator[Diagnostic]:
    known = list(dict.fromkeys([*produced_keys(p), *effective_inputs(p)]))
    steps = [s.name for s in p.all_steps()]
    for test in p.tests:
        for e in test.expectations:
            key = _key_of(e)
            if key is not None and key.name not in known:
                yield Diagnostic(
                    "MMO903", f"test `{test.name}` expects key `{key.name}`, which no step "
                    "produces", first_span(key, e), label="nothing produces this",
                    help=did_you_mean(key.name, known),
                )
            if isinstance(e, ir.ExpectStep) and e.step.name not in steps:
                yield Diagnostic(
                    "MMO908", f"test `{test.name}` expects the status of step `{e.step.name}`, "
                    "which does not exist", first_span(e.step, e),
                    help=did_you_mean(e.step.name, steps),
                )
            yield from _pattern_or_schema(test, e)


def _pattern_or_schema(test: ir.Test, e: ir.Expectation) -> Iterator[Diagnostic]:
    if isinstance(e, ir.ExpectMatch):
        try:
            re.compile(e.pattern)
        except re.error as exc:
            yield Diagnostic(
                "MMO906", f"test `{test.name}`: the regular expression {e.pattern!r} is not "
                f"valid: {exc}", e.span,
            )
    elif isinstance(e, ir.ExpectSchema):
        for problem in schema_is_supported(e.schema_):
            yield Diagnostic("MMO907", f"test `{test.name}`: the schema of `{e.key.name}`: "
                             f"{problem}", e.span)


CHECKS = (check_test_names, check_test_inputs, check_test_replies, check_expectations)
