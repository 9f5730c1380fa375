"""Names and structure: duplicates, identifiers, inputs, outputs, empty pipelines and groups."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from .. import ir
from ..analysis import (
    AnyStep,
    effective_inputs,
    needs_of,
    produced_keys,
    template_names,
    walk_expr,
)
from ..diagnostics.model import Diagnostic, Label
from ..identifiers import is_identifier, python_name, read_as, why_not_identifier
from ..source import Span
from .support import did_you_mean, first_span, key_span, name_span, step_contexts

INPUT_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "json": (str, int, float, bool, list, dict, type(None)),
    # Lists of items, what a map step iterates over.
    "list[str]": (list,),
    "list[int]": (list,),
    "list[json]": (list,),
}


def check_structure(p: ir.Pipeline) -> Iterator[Diagnostic]:
    if not p.steps:
        yield Diagnostic(
            # The seed's wording, which its users' code may match on.
            "MMO108", f"Pipeline must have at least one step: `{p.name}` has none", p.span,
            label="no steps here",
        )
    for step in p.steps:
        if isinstance(step, ir.GroupStep) and not step.steps:
            yield Diagnostic(
                "MMO109", f"parallel group `{step.name}` has no members", name_span(step)
            )


def check_duplicate_steps(p: ir.Pipeline) -> Iterator[Diagnostic]:
    first: dict[str, AnyStep] = {}
    for step in p.all_steps():
        earlier = first.setdefault(python_name(step.name), step)
        if earlier is step:
            continue
        yield Diagnostic(
            "MMO101",
            # "Duplicate step name": the seed's wording, which its users' code may match on.
            f"Duplicate step name `{step.name}`{read_as(step.name, earlier.name)}",
            name_span(step),
            label="defined again here",
            labels=_first_label(name_span(earlier), "first defined here"),
            help="rename one of the steps",
        )


def check_duplicate_outputs(p: ir.Pipeline) -> Iterator[Diagnostic]:
    first: dict[str, AnyStep] = {}
    for step in p.all_steps():
        if step.output_key is None:
            continue
        earlier = first.setdefault(python_name(step.output_key), step)
        if earlier is step or python_name(earlier.name) == python_name(step.name):
            continue  # a duplicate step: MMO101 says it
        yield Diagnostic(
            "MMO102",
            f"steps `{earlier.name}` and `{step.name}` both produce `{step.output_key}`"
            + read_as(step.output_key, earlier.output_key or step.output_key),
            key_span(step),
            label=f"`{step.name}` produces `{step.output_key}` again",
            labels=_first_label(key_span(earlier), f"`{earlier.name}` produces it first"),
            help="give each step its own output key",
        )


def check_output_shadows_input(p: ir.Pipeline) -> Iterator[Diagnostic]:
    if not p.inputs_declared:
        return  # undeclared inputs are by definition keys no step produces
    inputs: dict[str, ir.Input] = {}
    for inp in p.inputs:
        inputs.setdefault(python_name(inp.name), inp)
    for step in p.all_steps():
        key = step.output_key
        shadowed = inputs.get(python_name(key)) if key is not None else None
        if key is not None and shadowed is not None:
            yield Diagnostic(
                "MMO103",
                f"step `{step.name}` produces `{key}`, which is a pipeline input"
                + read_as(key, shadowed.name),
                key_span(step),
                label="shadows the input",
                labels=_first_label(first_span(shadowed), "input declared here"),
                help="rename the output key or the input",
            )


def check_identifiers(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """Every name that may reach generated code must be an identifier and not a keyword."""

    def bad(kind: str, name: str, span: Span | None, where: str = "") -> Diagnostic:
        return Diagnostic(
            "MMO104",
            f"{kind} `{name}`{where} is not a valid name: {why_not_identifier(name)}",
            span,
            label="not an identifier",
            help="use letters, digits and underscores, not starting with a digit",
        )

    if not is_identifier(p.name):
        yield bad("pipeline name", p.name, p.span)
    for ctx in step_contexts(p):
        step = ctx.step
        if not is_identifier(step.name):
            yield bad("step name", step.name, name_span(step))
        # The YAML default `<name>_output` of a bad name is the same mistake: say it once.
        derived = step.output_key == f"{step.name}_output" and not is_identifier(step.name)
        if step.output_key is not None and not derived and not is_identifier(step.output_key):
            yield bad("output key", step.output_key, key_span(step))
        if isinstance(step, ir.TransformStep):
            for ident in step.reads:
                if not is_identifier(ident.name):
                    yield bad("key", ident.name, first_span(ident, step))
        if step.when is not None:  # the seed's `key_exists:my-flag` names a key too
            for node in walk_expr(step.when):
                if isinstance(node, ir.KeyExpr) and not is_identifier(node.name):
                    yield bad("key", node.name, first_span(node, step.when, step),
                              f" in the condition of step `{step.name}`")
        if isinstance(step, ir.LlmStep):
            for text in (step.prompt, step.system):
                for name in template_names(text):
                    if not is_identifier(name):  # a keyword: `{class}` parses as a name
                        yield bad("placeholder", name, first_span(text, step))
    for inp in p.inputs:
        if not is_identifier(inp.name):
            yield bad("input", inp.name, inp.span)
    for out in p.outputs:
        if not is_identifier(out.name):
            yield bad("output", out.name, out.span)
    for alias in p.models:
        if not is_identifier(alias.name):
            yield bad("model alias", alias.name, alias.span)
    for retry in p.retry_policies:
        if retry.name is not None and not is_identifier(retry.name):
            yield bad("retry policy", retry.name, retry.span)
    for breaker in p.breaker_policies:
        if breaker.name is not None and not is_identifier(breaker.name):
            yield bad("breaker policy", breaker.name, breaker.span)


def check_duplicate_definitions(p: ir.Pipeline) -> Iterator[Diagnostic]:
    groups: list[tuple[str, Iterable[tuple[str | None, Span | None]]]] = [
        ("input", ((i.name, i.span) for i in p.inputs)),
        ("model alias", ((a.name, a.span) for a in p.models)),
        ("retry policy", ((r.name, r.span) for r in p.retry_policies)),
        ("breaker policy", ((b.name, b.span) for b in p.breaker_policies)),
        ("provider endpoint", ((e.name, e.span) for e in p.providers)),
    ]
    for kind, items in groups:
        seen: dict[str, tuple[str, Span | None]] = {}
        for name, span in items:
            if name is None:
                continue
            entry = (name, span)
            first = seen.setdefault(python_name(name), entry)
            if first is entry:
                continue
            yield Diagnostic(
                "MMO107",
                f"{kind} `{name}` is defined twice{read_as(name, first[0])}",
                span,
                label="defined again here",
                labels=_first_label(first[1], "first defined here"),
            )
    listed: dict[str, ir.Ident] = {}
    for out in p.outputs:
        earlier = listed.setdefault(python_name(out.name), out)
        if earlier is not out:
            yield Diagnostic(
                "MMO107",
                f"output `{out.name}` is listed twice{read_as(out.name, earlier.name)}",
                out.span,
                label="listed again here",
                labels=_first_label(earlier.span, "first listed here"),
            )


def check_inputs(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for inp in p.inputs:
        type_name = inp.type or "str"
        allowed = INPUT_TYPES.get(type_name)
        if allowed is None:
            yield Diagnostic(
                "MMO110",
                f"input `{inp.name}` has unknown type `{type_name}`",
                inp.span,
                help=did_you_mean(type_name, INPUT_TYPES)
                or "types are " + ", ".join(INPUT_TYPES),
            )
            continue
        if not inp.has_default or inp.default is None and type_name == "json":
            continue
        if _has_non_finite(inp.default):
            # Neither JSON nor a generated module's literal can hold NaN or infinity.
            yield Diagnostic(
                "MMO110",
                f"input `{inp.name}` has default {inp.default!r}: NaN and infinity are not "
                "allowed as input defaults",
                inp.span,
                help="use a finite number, or no default and pass the value at run time",
            )
            continue
        if not isinstance(inp.default, allowed) or (
            type_name in ("int", "float") and isinstance(inp.default, bool)
        ):
            yield Diagnostic(
                "MMO110",
                f"input `{inp.name}` has type {type_name} but its default "
                f"{inp.default!r} is a {type(inp.default).__name__}",
                inp.span,
            )


def _has_non_finite(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def check_outputs(p: ir.Pipeline) -> Iterator[Diagnostic]:
    produced = produced_keys(p)
    inputs = set(effective_inputs(p))
    for out in p.outputs:
        if out.name not in produced and out.name not in inputs:
            yield Diagnostic(
                "MMO105",
                f"output `{out.name}` is produced by no step",
                first_span(out, p),
                label="nothing produces this",
                help=did_you_mean(out.name, produced),
            )


def check_unused(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """Unused step outputs (when outputs are declared) and unused declared inputs."""
    if any(isinstance(s, ir.TransformStep) and s.pass_context for s in p.all_steps()):
        return  # a seed-style fn(ctx) transform may read any key: nothing is provably unused
    needed: set[str] = set()
    for step in p.all_steps():
        needed.update(needs_of(step))
    declared_outputs = {o.name for o in p.outputs}
    if p.outputs:
        used = needed | declared_outputs
        for ctx in step_contexts(p):
            step = ctx.step
            if ctx.group is not None and _collects(ctx.group, used):
                continue  # collected into the group's own key
            if isinstance(step, ir.GroupStep) and not _collects(step, used):
                continue  # an unread default key: the members are judged instead
            key = step.output_key
            if key is None or key in needed or key in declared_outputs:
                continue
            yield Diagnostic(
                "MMO106",
                f"the output `{key}` of step `{step.name}` is never used",
                key_span(step),
                label="nothing reads this and it is not a pipeline output",
                help=f"read `{{{key}}}` in a later step, list it in `output`, or remove the step",
            )
    if p.inputs_declared:
        for inp in p.inputs:
            if inp.name not in needed and inp.name not in declared_outputs:
                yield Diagnostic(
                    "MMO304",
                    f"input `{inp.name}` is never read",
                    inp.span,
                    label="no step reads this",
                )


def _collects(group: ir.GroupStep, used: set[str]) -> bool:
    """A group's key counts as collecting its members' outputs when it was named or is read;
    the default `<name>_output` nobody reads is not a use of the members' outputs."""
    key = group.output_key
    return key is not None and (key != f"{group.name}_output" or key in used)


def _first_label(span: Span | None, message: str) -> tuple[Label, ...]:
    return (Label(span, message),) if span is not None else ()


CHECKS = (
    check_structure,
    check_duplicate_steps,
    check_duplicate_outputs,
    check_output_shadows_input,
    check_identifiers,
    check_duplicate_definitions,
    check_inputs,
    check_outputs,
    check_unused,
)
