"""The dependency graph: cycles, unknown dependencies, sibling and conditional dependencies."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator, Mapping

from .. import ir
from ..analysis import (
    AnyStep,
    dependencies,
    member_dependencies,
    needs_of,
    produced_keys,
    top_level_owner,
)
from ..diagnostics.model import Diagnostic, Label
from .support import did_you_mean, first_span, name_span, step_contexts


def strongly_connected(graph: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """Tarjan's SCCs, iteratively (a 10,000-step chain must not hit the recursion limit).

    Edges to names outside the graph are ignored. Components come out in reverse topological
    order; the order inside a component is not meaningful.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, edge_i = work.pop()
            if edge_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = graph.get(node, ())
            recursed = False
            while edge_i < len(edges):
                nxt = edges[edge_i]
                edge_i += 1
                if nxt not in graph:
                    continue
                if nxt not in index:
                    work.append((node, edge_i))
                    work.append((nxt, 0))
                    recursed = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recursed:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def cycle_in(component: list[str], graph: Mapping[str, tuple[str, ...]], order: Mapping[str, int]) -> list[str]:
    """A shortest cycle through the component's first step (in source order), BFS inside it."""
    members = set(component)
    start = min(component, key=lambda n: order.get(n, 0))
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, ()):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path)]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start]  # unreachable for a real SCC


def check_cycles(p: ir.Pipeline) -> Iterator[Diagnostic]:
    graph = dependencies(p)
    order = {name: i for i, name in enumerate(graph)}
    steps = {s.name: s for s in reversed(p.steps)}  # first definition wins
    reasons = _EdgeReasons(p)
    cycles: list[list[str]] = []
    for component in strongly_connected(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        cycles.append(cycle_in(component, graph, order))
    cycles.sort(key=lambda c: order[c[0]])
    for cycle in cycles:
        # `cycle` follows dependency edges (a needs c, c needs b); say it in the order data
        # flows (a -> b -> c -> a), starting at the step defined first.
        flow = [cycle[0], *reversed(cycle[1:])]
        ring = [*flow, flow[0]]
        first = steps[flow[0]]
        labels = tuple(
            Label(span, reasons.explain(b, a))
            for a, b in itertools.pairwise(ring[:-1])
            if (span := name_span(steps[b])) is not None
        )
        # One form for every cycle, a self-loop included (`selfish -> selfish`); the label
        # still says in words that the step depends on itself.
        message = "dependency cycle: " + " -> ".join(ring)
        label = reasons.explain(flow[0], flow[-1])
        if len(cycle) == 1:
            label = f"depends on itself: {label}"
        yield Diagnostic(
            "MMO201",
            message,
            name_span(first),
            label=label,
            labels=labels,
            help="remove one of the dependencies to break the cycle",
        )


class _EdgeReasons:
    """Says why one top-level step depends on another: the key it reads, or its `after`."""

    def __init__(self, p: ir.Pipeline) -> None:
        self.steps = {s.name: s for s in reversed(p.steps)}
        self.produced = produced_keys(p)
        self.owner = top_level_owner(p)

    def explain(self, a: str, b: str) -> str:
        step = self.steps[a]
        for key in needs_of(step):
            producer = self.produced.get(key)
            if producer is not None and self.owner.get(producer.name) == b:
                via = "" if producer.name == b else f" (member of `{b}`)"
                if a == b:
                    return f"`{a}` reads its own output `{key}`"
                return f"reads `{key}`, produced by `{producer.name}`{via}"
        if a == b:
            return f"`{a}` is listed to run after itself"
        return f"runs after `{b}`"


def check_unknown_dependencies(p: ir.Pipeline) -> Iterator[Diagnostic]:
    names = [s.name for s in p.all_steps()]
    known = set(names)
    for ctx in step_contexts(p):
        for ref in ctx.step.after:
            if ref.name in known:
                continue
            yield Diagnostic(
                "MMO202",
                f"step `{ctx.step.name}` depends on `{ref.name}`, which is not a step",
                first_span(ref, name_span(ctx.step)),
                label="no step has this name",
                help=did_you_mean(ref.name, names),
            )


def check_sibling_dependencies(p: ir.Pipeline) -> Iterator[Diagnostic]:
    deps = member_dependencies(p)
    for group in p.steps:
        if not isinstance(group, ir.GroupStep):
            continue
        members = {m.name: m for m in group.steps}
        for member in group.steps:
            yield from _needs_own_group(group, member)
            for sibling in deps.get(member.name, ()):
                other = members[sibling]
                key = other.output_key
                how = (
                    f"reads `{key}`, the output of"
                    if key is not None and key in needs_of(member)
                    else "runs after"
                )
                yield Diagnostic(
                    "MMO204",
                    f"`{member.name}` {how} `{sibling}`, but both are members of parallel "
                    f"group `{group.name}`",
                    name_span(member),
                    label=f"depends on sibling `{sibling}`",
                    labels=_label(other, "runs at the same time"),
                    help=f"move `{member.name}` out of `{group.name}` to run after the group",
                )


def _needs_own_group(group: ir.GroupStep, member: AnyStep) -> Iterator[Diagnostic]:
    """A member that reads its group's collected output, or runs after its own group."""
    reads_group = group.output_key is not None and group.output_key in needs_of(member)
    after_group = any(a.name == group.name for a in member.after)
    if not (reads_group or after_group):
        return
    how = f"reads `{group.output_key}`, the output of" if reads_group else "runs after"
    yield Diagnostic(
        "MMO201",
        f"dependency cycle: `{member.name}` {how} its own parallel group `{group.name}`",
        name_span(member),
        label=f"waits for `{group.name}`, which waits for `{member.name}`",
        labels=_label(group, "the group"),
        help=f"move `{member.name}` out of `{group.name}` to run after the group",
    )


def check_conditional_dependencies(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """An unconditional step reading the output of a step that may be skipped."""
    produced = produced_keys(p)
    conditional: dict[str, AnyStep] = {}  # producer name -> the step whose `when` may skip it
    for ctx in step_contexts(p):
        if ctx.step.when is not None:
            conditional[ctx.step.name] = ctx.step
        elif ctx.group is not None and ctx.group.when is not None:
            conditional[ctx.step.name] = ctx.group
    if not conditional:
        return
    for ctx in step_contexts(p):
        step = ctx.step
        if step.when is not None or (ctx.group is not None and ctx.group.when is not None):
            continue
        if isinstance(step, ir.GroupStep):
            continue  # its members are judged one by one
        for key in needs_of(step):
            producer = produced.get(key)
            if producer is None or producer.name not in conditional:
                continue
            gate = conditional[producer.name]
            yield Diagnostic(
                "MMO203",
                f"step `{step.name}` has no condition but reads `{key}` from conditional "
                f"step `{producer.name}`",
                name_span(step),
                label=f"skipped whenever `{producer.name}` is skipped",
                labels=_label(gate, "has a `when` condition"),
                help=f"give `{step.name}` a condition too, or make `{producer.name}` unconditional",
            )


def _label(step: AnyStep, message: str) -> tuple[Label, ...]:
    span = name_span(step)
    return (Label(span, message),) if span is not None else ()


CHECKS = (
    check_cycles,
    check_unknown_dependencies,
    check_sibling_dependencies,
    check_conditional_dependencies,
)
