"""Hypothesis: a random valid pipeline (a DAG) plus one back edge, through `after`, a key read
or a condition, gives exactly one MMO201, naming a simple cycle of real edges that goes through
the back edge (and, when the path is unique, exactly it)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.analysis import dependencies
from mmoc.checks import run_checks
from support.strategies import valid_pipelines


@st.composite
def dag_with_back_edge(draw: st.DrawFn) -> tuple[ir.Pipeline, str, str, str]:
    """A valid pipeline (a DAG), a step `u`, a step `v` that depends on `u` (or `u` itself),
    and the channel of the back edge that will make `u` need `v`: `after`, a key `u` reads,
    or a key its `when` names."""
    dag = draw(valid_pipelines(kinds=("llm", "transform"), max_steps=12))
    downstream = _reachable(dag)
    u = draw(st.sampled_from([s.name for s in dag.steps]))
    v = draw(st.sampled_from(sorted(downstream[u])))
    return dag, u, v, draw(st.sampled_from(["after", "key", "when"]))


def _reachable(p: ir.Pipeline) -> dict[str, set[str]]:
    """Step -> the steps that depend on it, directly or not, itself included."""
    succ: dict[str, set[str]] = {s.name: set() for s in p.steps}
    for step, deps in dependencies(p).items():
        for dep in deps:
            succ[dep].add(step)
    reach = {}
    for start in succ:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(succ[node])
        reach[start] = seen
    return reach


def with_back_edge(p: ir.Pipeline, u: str, v: str, channel: str) -> ir.Pipeline:
    key = next(s.output_key for s in p.steps if s.name == v)
    assert key is not None
    steps = []
    for step in p.steps:
        if step.name == u:
            if channel == "after":
                step = step.model_copy(update={"after": (*step.after, ir.Ident(name=v))})
            elif channel == "when":
                step = step.model_copy(update={"when": ir.KeyExpr(name=key)})
            elif isinstance(step, ir.LlmStep):
                prompt = ir.Text(value=step.prompt.value + f" {{{key}}}")
                step = step.model_copy(update={"prompt": prompt})
            else:
                step = step.model_copy(update={"reads": (ir.Ident(name=key),)})
        steps.append(step)
    return p.model_copy(update={"steps": tuple(steps)})


@settings(max_examples=150, deadline=None)
@given(dag_with_back_edge())
def test_one_back_edge_gives_exactly_one_cycle(case: tuple[ir.Pipeline, str, str, str]) -> None:
    dag, u, v, channel = case
    p = with_back_edge(dag, u, v, channel)
    found = [d for d in run_checks(p) if d.code == "MMO201"]
    assert len(found) == 1, [d.message for d in found]
    message = found[0].message
    deps = dependencies(p)
    if u == v:
        assert message == f"dependency cycle: {u} -> {u}"
        return
    ring = message.removeprefix("dependency cycle: ").split(" -> ")
    assert ring[0] == ring[-1] and len(set(ring[:-1])) == len(ring) - 1
    for a, b in itertools.pairwise(ring):
        assert a in deps[b], f"{b} does not depend on {a}"
    assert (v, u) in set(itertools.pairwise(ring))  # the cycle goes through the back edge
    # every named step lies on a path u -> ... -> v in the DAG
    downstream = _reachable(dag)
    for name in ring:
        assert name in downstream[u] and v in downstream[name]


def build(
    n: int, edges: set[tuple[int, int]], back: tuple[int, int], by_after: list[bool]
) -> ir.Pipeline:
    needs: dict[int, list[tuple[int, bool]]] = {j: [] for j in range(n)}
    for k, (i, j) in enumerate(sorted(edges | {back})):
        needs[j].append((i, by_after[k]))
    steps = []
    for j in reversed(range(n)):  # declaration order must not matter
        prompt = "go " + " ".join(f"{{k{i}}}" for i, after in needs[j] if not after)
        after = tuple(ir.Ident(name=f"s{i}") for i, a in needs[j] if a)
        steps.append(
            ir.LlmStep(
                name=f"s{j}",
                model=ir.ModelRef(id="mock/m"),
                prompt=ir.Text(value=prompt),
                output_key=f"k{j}",
                after=after,
            )
        )
    return ir.Pipeline(name="p", steps=tuple(steps))


def test_unique_path_cycle_is_named_exactly() -> None:
    edges = {(0, 1), (1, 2), (2, 3), (0, 4), (4, 5)}
    p = build(6, edges, (3, 1), [False] * 64)
    (d,) = [d for d in run_checks(p) if d.code == "MMO201"]
    # starts at the step declared first (s3: steps are declared in reverse)
    assert d.message == "dependency cycle: s3 -> s1 -> s2 -> s3"


def test_long_chain_cycle_does_not_hit_the_recursion_limit() -> None:
    n = 1500  # above the default recursion limit of 1000
    edges = {(i, i + 1) for i in range(n - 1)}
    p = build(n, edges, (n - 1, 0), [False] * (n + 1))
    (d,) = [d for d in run_checks(p) if d.code == "MMO201"]
    assert d.message.count(" -> ") == n
