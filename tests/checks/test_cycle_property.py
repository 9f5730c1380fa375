"""Hypothesis: a random DAG plus one back edge gives exactly one MMO201, naming a simple cycle
of real edges that goes through the back edge (and, when the path is unique, exactly it)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.analysis import dependencies
from mmoc.checks import run_checks


@st.composite
def dag_with_back_edge(draw: st.DrawFn) -> tuple[int, set[tuple[int, int]], tuple[int, int], list[bool]]:
    n = draw(st.integers(min_value=1, max_value=12))
    edges = {(i, j) for i in range(n) for j in range(i + 1, n)
             if draw(st.booleans()) and draw(st.booleans())}  # i feeds j
    # pick u <= v with v reachable from u, then add the back edge v -> u (u needs v)
    reach = {i: {i} for i in range(n)}
    for i in reversed(range(n)):
        for (a, b) in edges:
            if a == i:
                reach[i] |= reach[b]
    u = draw(st.integers(min_value=0, max_value=n - 1))
    v = draw(st.sampled_from(sorted(reach[u])))
    by_after = draw(st.lists(st.booleans(), min_size=n * n + 1, max_size=n * n + 1))
    return n, edges, (v, u), by_after


def build(n: int, edges: set[tuple[int, int]], back: tuple[int, int],
          by_after: list[bool]) -> ir.Pipeline:
    needs: dict[int, list[tuple[int, bool]]] = {j: [] for j in range(n)}
    for k, (i, j) in enumerate(sorted(edges | {back})):
        needs[j].append((i, by_after[k]))
    steps = []
    for j in reversed(range(n)):  # declaration order must not matter
        prompt = "go " + " ".join(f"{{k{i}}}" for i, after in needs[j] if not after)
        after = tuple(ir.Ident(name=f"s{i}") for i, a in needs[j] if a)
        steps.append(ir.LlmStep(name=f"s{j}", model=ir.ModelRef(id="mock/m"),
                                prompt=ir.Text(value=prompt), output_key=f"k{j}", after=after))
    return ir.Pipeline(name="p", steps=tuple(steps))


@settings(max_examples=150, deadline=None)
@given(dag_with_back_edge())
def test_one_back_edge_gives_exactly_one_cycle(case: tuple) -> None:  # type: ignore[type-arg]
    n, edges, (v, u), by_after = case
    p = build(n, edges, (v, u), by_after)
    found = [d for d in run_checks(p) if d.code == "MMO201"]
    assert len(found) == 1, [d.message for d in found]
    message = found[0].message
    deps = dependencies(p)
    if u == v:
        assert message == f"dependency cycle: s{u} -> s{u}"
        return
    ring = message.removeprefix("dependency cycle: ").split(" -> ")
    assert ring[0] == ring[-1] and len(set(ring[:-1])) == len(ring) - 1
    for a, b in itertools.pairwise(ring):
        assert a in deps[b], f"{b} does not depend on {a}"
    pairs = set(itertools.pairwise(ring))
    assert (f"s{v}", f"s{u}") in pairs  # the cycle goes through the back edge
    # every named step lies on a path u -> ... -> v in the DAG
    succ = {i: {b for a, b in edges if a == i} for i in range(n)}
    def reaches(x: int, y: int) -> bool:
        seen, stack = set(), [x]
        while stack:
            z = stack.pop()
            if z == y:
                return True
            if z not in seen:
                seen.add(z)
                stack.extend(succ[z])
        return False
    for name in ring:
        i = int(name[1:])
        assert reaches(u, i) and reaches(i, v)


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
