"""A pipeline's DAG as Mermaid or Graphviz DOT text (what `mmoc graph` prints).

The picture is built once as a small neutral model (`GraphModel`: nodes, groups, edges) from
the IR through `mmoc.analysis`, so both renderers draw exactly the same graph:

* one node per input (rounded) and one per step, group members included; an llm step's node
  shows its model, a transform's node its function, a conditional step its `when` text;
* a parallel group is a subgraph around its members, and so is a map step's body, its title
  marking the fan-out (`summaries (map: each chunk in chunks, concurrency 8) -> summaries`);
  the edge bringing the list in is labelled `each KEY`;
* a data edge runs from the producer of a key (or the input) to each step reading it, labelled
  with the key; an `after` ordering edge (unless a data edge already links the same two
  steps) is labelled `after`; edges into a conditional step,
  and edges that exist only because a condition names a key, are dashed.

Edges that point at a group (a step reading a group's joined output key, or `after` a group)
start at the group itself: Mermaid can link subgraphs directly, DOT uses a compound edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import analysis, ir
from ..expr_text import print_expr

FORMATS: tuple[str, ...] = ("mermaid", "dot")


@dataclass(frozen=True)
class Node:
    id: str
    title: str
    detail: tuple[str, ...] = ()  # extra label lines: model, function, condition
    kind: str = "step"  # "input", "llm", "transform"
    group: str | None = None  # id of the enclosing group subgraph


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    source: str  # a node id or a group id
    target: str  # a node id or a group id
    label: str
    dashed: bool = False


@dataclass
class GraphModel:
    name: str
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _step_id(name: str) -> str:
    # Prefixed so no step name can collide with a renderer keyword (`end`, `graph`, ...).
    return f"step_{name}"


def _input_id(name: str) -> str:
    return f"input_{name}"


def _group_id(name: str) -> str:
    return f"group_{name}"


def _step_node(p: ir.Pipeline, step: ir.LlmStep | ir.TransformStep, group: str | None) -> Node:
    detail: list[str] = []
    if isinstance(step, ir.LlmStep):
        model = analysis.resolve_model(p, step.model.id)
        detail.append(model)
        kind = "llm"
    else:
        detail.append(step.function if step.callable is None else "python callable")
        kind = "transform"
    if step.when is not None:
        detail.append(f"when {print_expr(step.when)}")
    return Node(_step_id(step.name), step.name, tuple(detail), kind, group)


def build_model(p: ir.Pipeline) -> GraphModel:
    """The neutral graph of a pipeline (see the module docstring for what it holds)."""
    model = GraphModel(p.name)
    for name in analysis.effective_inputs(p):
        model.nodes.append(Node(_input_id(name), name, (), "input"))
    inputs = set(analysis.effective_inputs(p))
    produced = analysis.produced_keys(p)
    # Where an edge from a step should start: a group's own id for the group itself.
    source_of: dict[str, str] = {}
    for step in p.steps:
        if isinstance(step, ir.GroupStep):
            gid = _group_id(step.name)
            source_of[step.name] = gid
            for member in step.steps:
                source_of[member.name] = _step_id(member.name)
                model.nodes.append(_step_node(p, member, gid))
            title = _group_title(step)
            model.groups.append(Group(gid, title, tuple(_step_id(m.name) for m in step.steps)))
        elif isinstance(step, ir.MapStep):
            _add_map(p, model, step, source_of)
        else:
            source_of[step.name] = _step_id(step.name)
            model.nodes.append(_step_node(p, step, None))

    seen: set[tuple[str, str, str]] = set()

    def add(edge: Edge) -> None:
        if (edge.source, edge.target, edge.label) not in seen and edge.source != edge.target:
            seen.add((edge.source, edge.target, edge.label))
            model.edges.append(edge)

    for step in p.all_steps():
        target = source_of[step.name]
        conditional = step.when is not None
        reads = analysis.reads_of(step) if not isinstance(step, ir.GroupStep) else ()
        for key in reads:
            src = _key_source(key, produced, inputs, source_of)
            if src is not None:
                add(Edge(src, target, _read_label(step, key), conditional))
        for key in analysis.expr_keys(step.when):
            src = _key_source(key, produced, inputs, source_of)
            if src is not None and (src, target, key) not in seen:
                add(Edge(src, target, key, True))
        linked = {(e.source, e.target) for e in model.edges if e.target == target}
        for ref in step.after:
            # An `after` that repeats a data edge adds nothing to the picture.
            if ref.name in source_of and (source_of[ref.name], target) not in linked:
                add(Edge(source_of[ref.name], target, "after", conditional))
    for edge in _map_body_edges(p, source_of):
        add(edge)
    return model


# ---- map steps: the body as a subgraph, its title marking the fan-out ---------------------


def _add_map(
    p: ir.Pipeline, model: GraphModel, step: ir.MapStep, source_of: dict[str, str]
) -> None:
    gid = _group_id(step.name)
    source_of[step.name] = gid
    for member in step.steps:
        source_of.setdefault(member.name, _step_id(member.name))
        model.nodes.append(_step_node(p, member, gid))
    model.groups.append(Group(gid, _map_title(step), tuple(_step_id(m.name) for m in step.steps)))


def _map_title(step: ir.MapStep) -> str:
    options = [f"concurrency {step.concurrency}"] if step.concurrency is not None else []
    if step.on_error != "fail":
        options.append(f"on_error {step.on_error}")
    if step.limit is not None:
        options.append(f"limit {step.limit}")
    extra = f", {', '.join(options)}" if options else ""
    title = f"{step.name} (map: each {step.item} in {step.for_each.name}{extra})"
    if step.output_key:
        title += f" -> {step.output_key}"
    if step.when is not None:
        title += f" when {print_expr(step.when)}"
    return title


def _read_label(step: analysis.AnyStep, key: str) -> str:
    """An edge's label: the key, or for the list a map step fans out over, `each KEY`."""
    if isinstance(step, ir.MapStep) and key == step.for_each.name:
        return f"each {key}"
    return key


def _map_body_edges(p: ir.Pipeline, source_of: dict[str, str]) -> list[Edge]:
    """Edges between the steps of each map body (what comes from outside enters the map)."""
    edges: list[Edge] = []
    for step in p.steps:
        if not isinstance(step, ir.MapStep):
            continue
        producer = {m.output_key: m.name for m in step.steps if m.output_key is not None}
        for member in step.steps:
            target = _step_id(member.name)
            for key in analysis.needs_of(member):
                if key in producer and producer[key] != member.name:
                    dashed = member.when is not None or key not in analysis.reads_of(member)
                    edges.append(Edge(_step_id(producer[key]), target, key, dashed))
            for ref in member.after:
                if ref.name in (m.name for m in step.steps):
                    edges.append(Edge(_step_id(ref.name), target, "after", member.when is not None))
    return edges


def _key_source(
    key: str, produced: dict[str, analysis.AnyStep], inputs: set[str], source_of: dict[str, str]
) -> str | None:
    producer = produced.get(key)
    if producer is not None:
        return source_of.get(producer.name)
    if key in inputs:
        return _input_id(key)
    return None


def _group_title(group: ir.GroupStep) -> str:
    parts = [f"{group.name} (parallel"]
    if group.concurrency is not None:
        parts.append(f", max {group.concurrency}")
    parts.append(")")
    if group.output_key:
        parts.append(f" -> {group.output_key}")
    if group.when is not None:
        parts.append(f" when {print_expr(group.when)}")
    return "".join(parts)


# ---- Mermaid ----------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid label, `"` and `#` start entities and `<`/`>` read as HTML.
    out = text.replace("#", "#35;").replace('"', "#quot;")
    return out.replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


def to_mermaid(p: ir.Pipeline) -> str:
    model = build_model(p)
    lines = ["flowchart TD"]
    lines.append(f"  %% pipeline {_mermaid_text(model.name)}")

    def node_line(node: Node, indent: str) -> str:
        label = "<br/>".join(_mermaid_text(t) for t in (node.title, *node.detail))
        if node.kind == "input":
            return f'{indent}{node.id}(["{label}"])'
        return f'{indent}{node.id}["{label}"]'

    for node in model.nodes:
        if node.group is None:
            lines.append(node_line(node, "  "))
    for group in model.groups:
        lines.append(f'  subgraph {group.id}["{_mermaid_text(group.title)}"]')
        lines.append("    direction LR")
        for node in model.nodes:
            if node.group == group.id:
                lines.append(node_line(node, "    "))
        lines.append("  end")
    for edge in model.edges:
        arrow = "-.->" if edge.dashed else "-->"
        lines.append(f'  {edge.source} {arrow}|"{_mermaid_text(edge.label)}"| {edge.target}')
    return "\n".join(lines) + "\n"


# ---- Graphviz DOT -----------------------------------------------------------------------


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(p: ir.Pipeline) -> str:
    model = build_model(p)
    lines = [f"digraph {_dot_string(model.name)} {{"]
    lines.append("  compound=true;")
    lines.append("  rankdir=TB;")
    lines.append('  node [shape=box, style="rounded", fontname="Helvetica"];')
    lines.append('  edge [fontname="Helvetica", fontsize=10];')

    def node_line(node: Node, indent: str) -> str:
        label = _dot_string("\n".join((node.title, *node.detail)))
        shape = ", shape=ellipse" if node.kind == "input" else ""
        return f"{indent}{node.id} [label={label}{shape}];"

    for node in model.nodes:
        if node.group is None:
            lines.append(node_line(node, "  "))
    first_member: dict[str, str] = {}
    for group in model.groups:
        # `cluster_` is what makes Graphviz draw a subgraph as a box.
        lines.append(f"  subgraph cluster_{group.id} {{")
        lines.append(f"    label={_dot_string(group.title)};")
        lines.append("    style=dashed;")
        for node in model.nodes:
            if node.group == group.id:
                lines.append(node_line(node, "    "))
        lines.append("  }")
        if group.member_ids:
            first_member[group.id] = group.member_ids[0]
    for edge in model.edges:
        source, target = edge.source, edge.target
        attrs = [f"label={_dot_string(edge.label)}"]
        if edge.dashed:
            attrs.append("style=dashed")
        if source in first_member:
            attrs.append(f"ltail=cluster_{source}")
            source = first_member[source]
        if target in first_member:
            attrs.append(f"lhead=cluster_{target}")
            target = first_member[target]
        lines.append(f"  {source} -> {target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph(p: ir.Pipeline, fmt: str) -> str:
    """Mermaid or DOT text for `fmt` in `FORMATS`."""
    if fmt == "mermaid":
        return to_mermaid(p)
    if fmt == "dot":
        return to_dot(p)
    raise ValueError(f"unknown graph format {fmt!r} (expected one of {', '.join(FORMATS)})")
