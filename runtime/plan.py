"""The scheduling plan of a spec: top-level nodes and the edges between them, built once.

A node is a top-level step (a parallel group is one node; its members run inside it). A node
depends on the producer of every key it reads (llm: the prompt's and system prompt's `{keys}`;
transform: `reads`; group: the union of its members'), on the producers of the keys its
condition reads (`when_reads`), and on every step named in `after`. A key or an `after` naming
a group member means that member's group. Keys no step produces (inputs) add no edge, and
edges from a group to itself (a member reading a sibling) are dropped.
"""

from __future__ import annotations

from .errors import ConfigError
from .spec import LlmStep, MapStep, ParallelGroup, PipelineSpec, Step, TransformStep
from .template import parse_template

LLM = "llm"
TRANSFORM = "transform"
GROUP = "group"
MAP = "map"


Entry = tuple[LlmStep | TransformStep | ParallelGroup | MapStep, str, str | None]


class Node:
    __slots__ = ("dependants", "deps", "index", "keys", "kind", "plain", "step", "trace_index")

    def __init__(self, index: int, step: Step, kind: str, trace_index: int) -> None:
        self.index = index
        self.step = step
        self.kind = kind
        self.trace_index = trace_index  # position of the node's entry in the trace's steps
        self.deps: tuple[int, ...] = ()
        self.dependants: list[int] = []
        self.keys: frozenset[str] = frozenset()  # every key the node reads
        # A step without a condition or members (the bulk of large DAGs): the scheduler runs
        # it straight away, its hottest path.
        self.plain = kind != GROUP and kind != MAP and step.when is None


class Plan:
    __slots__ = ("entries", "nodes", "produced", "roots")

    def __init__(self, nodes: list[Node], roots: list[int], entries: list[Entry],
                 produced: tuple[str, ...]) -> None:
        self.nodes = nodes
        self.roots = roots
        self.entries = entries  # trace entries in declaration order: (step, kind, group)
        self.produced = produced  # every output key, in declaration order


def kind_of(step: Step) -> str:
    if isinstance(step, LlmStep):
        return LLM
    if isinstance(step, TransformStep):
        return TRANSFORM
    if isinstance(step, ParallelGroup):
        return GROUP
    if isinstance(step, MapStep):
        return MAP
    raise ConfigError(f"not a step: {step!r}")


def _reads(step: LlmStep | TransformStep | MapStep) -> tuple[str, ...]:
    if isinstance(step, LlmStep):
        names = parse_template(step.prompt).names
        if step.system:
            names += parse_template(step.system).names
        return names
    return step.reads


def build_plan(spec: PipelineSpec) -> Plan:
    nodes: list[Node] = []
    entries: list[Entry] = []
    node_of_name: dict[str, int] = {}
    producer: dict[str, int] = {}
    produced: list[str] = []

    def claim(name: str, index: int) -> None:
        if name in node_of_name:
            raise ConfigError(f"pipeline {spec.name!r}: two steps are named {name!r}")
        node_of_name[name] = index

    def produce(key: str, index: int) -> None:
        producer.setdefault(key, index)  # duplicates: the first producer wins, as in checks
        produced.append(key)

    for index, step in enumerate(spec.steps):
        kind = kind_of(step)
        nodes.append(Node(index, step, kind, len(entries)))
        entries.append((step, kind, None))
        claim(step.name, index)
        if isinstance(step, ParallelGroup):
            for member in step.steps:
                entries.append((member, kind_of(member), step.name))
                claim(member.name, index)
                produce(member.output_key, index)
            if step.output_key:
                produce(step.output_key, index)
        else:
            produce(step.output_key, index)

    for node in nodes:
        step = node.step
        members: tuple[LlmStep | TransformStep | MapStep, ...] = (
            step.steps if isinstance(step, ParallelGroup) else (step,))
        keys: list[str] = list(step.when_reads)
        afters: list[str] = list(step.after)
        if isinstance(step, MapStep):  # a body step `after` an outer step: the map waits
            body = {b.name for b in step.steps}
            afters += [a for b in step.steps for a in b.after if a not in body]
        for part in members:
            keys += _reads(part)
            if part is not step:
                keys += part.when_reads
                afters += part.after
        deps: dict[int, None] = {}
        for key in keys:
            found = producer.get(key)
            if found is not None and found != node.index:
                deps[found] = None
        for name in afters:
            found = node_of_name.get(name)
            if found is None:
                raise ConfigError(f"step {step.name!r} runs after unknown step {name!r}")
            if found != node.index:
                deps[found] = None
        node.deps = tuple(deps)
        node.keys = frozenset(keys)
        for dep in node.deps:
            nodes[dep].dependants.append(node.index)

    _check_acyclic(spec, nodes)
    roots = [n.index for n in nodes if not n.deps]
    return Plan(nodes, roots, entries, tuple(dict.fromkeys(produced)))


def _check_acyclic(spec: PipelineSpec, nodes: list[Node]) -> None:
    """Kahn's algorithm; a cycle would leave its steps waiting forever, so refuse it."""
    remaining = [len(n.deps) for n in nodes]
    ready = [n.index for n in nodes if not n.deps]
    seen = 0
    while ready:
        index = ready.pop()
        seen += 1
        for dependant in nodes[index].dependants:
            remaining[dependant] -= 1
            if not remaining[dependant]:
                ready.append(dependant)
    if seen != len(nodes):
        stuck = ", ".join(n.step.name for n in nodes if remaining[n.index])
        raise ConfigError(f"pipeline {spec.name!r} has a dependency cycle among: {stuck}")


# Plans are cached per spec object: generated modules build their spec once and run it often.
_CACHE: dict[int, tuple[PipelineSpec, Plan]] = {}
_CACHE_MAX = 256


def plan_for(spec: PipelineSpec) -> Plan:
    hit = _CACHE.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    plan = build_plan(spec)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(spec)] = (spec, plan)
    return plan
