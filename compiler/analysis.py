"""Facts about a pipeline that checks, lowering and codegen all derive the same way.

Nothing here reports or raises on a user mistake: an unknown name is simply skipped, and the
checks in `mmoc.checks` are what say so. Every function is linear in the size of the pipeline.

Dependency model (the exact rules the executor's order comes from):

* A step *reads* the keys its templates name (llm: prompt, then system) or the keys it
  declares (transform: `reads`). A group reads the union of its members' reads and nothing
  of its own.
* A step also *needs* the keys its `when` condition names (a condition can only be evaluated
  once those keys are known). `needs_of` = reads + condition keys.
* `dependencies(p)` is the top-level scheduling graph: one entry per top-level step (groups
  included, members not), valued with the names of the top-level steps it must run after:
  the producer of every key it needs, plus every step named in `after`. A key or an `after`
  that refers to a group member counts as a dependency on that member's group. For a group,
  its members' needs, members' `after`s, and its own `after`/`when` are lifted onto the group;
  edges from a group to itself (a member reading a sibling) are dropped here and reported by
  the group check instead. Keys that are inputs, or that no step produces, add no edge.
* `member_dependencies(p)` gives, for each group member, the siblings it would depend on.
  A parallel group's members run concurrently, so any such edge is a mistake (reported).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, TypeVar

from mmoc_runtime.template import ParsedTemplate, parse_template

from . import ir

AnyStep = ir.LlmStep | ir.TransformStep | ir.GroupStep | ir.MapStep
_P = TypeVar("_P", ir.RetryPolicy, ir.BreakerPolicy)
_F = TypeVar("_F", bound=Callable[..., Any])

# While `memoized()` is active, per-object results keyed by (function, id(object)); the
# objects are pinned in the same dict so an id cannot be reused while the cache lives.
_MEMO: ContextVar[dict[tuple[str, int], tuple[object, object]] | None] = ContextVar(
    "mmoc_analysis_memo", default=None
)


@contextlib.contextmanager
def memoized() -> Iterator[None]:
    """Within this block, each fact about the same IR object is computed once.

    The checks ask for produced keys, needs and dependencies many times over; a 10,000-step
    pipeline then costs one pass per fact instead of one per check. Results are shared:
    callers must not mutate what these functions return.
    """
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _per_object(fn: _F) -> _F:
    @functools.wraps(fn)
    def cached(obj: object) -> object:
        memo = _MEMO.get()
        if memo is None:
            return fn(obj)
        key = (fn.__name__, id(obj))
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = (obj, fn(obj))
        return hit[1]

    return cached  # type: ignore[return-value]


@_per_object
def produced_keys(p: ir.Pipeline) -> dict[str, AnyStep]:
    """Output key -> the step producing it (group keys and member keys included).

    With duplicate producers the first in source order wins (duplicates are reported).
    """
    out: dict[str, AnyStep] = {}
    for step in p.all_steps():
        if step.output_key is not None and step.output_key not in out:
            out[step.output_key] = step
    return out


@lru_cache(maxsize=1 << 16)
def parsed_template(value: str) -> ParsedTemplate:
    """`parse_template`, cached: every check family asks about the same prompts."""
    return parse_template(value)


@lru_cache(maxsize=1 << 16)
def _names(value: str) -> tuple[str, ...]:
    return parsed_template(value).names


def template_names(text: ir.Text | None) -> tuple[str, ...]:
    if text is None:
        return ()
    return _names(text.value)


@_per_object
def reads_of(step: AnyStep) -> tuple[str, ...]:
    """Keys a step reads, each once, in order of first use."""
    if isinstance(step, ir.LlmStep):
        return _unique((*template_names(step.prompt), *template_names(step.system)))
    if isinstance(step, ir.TransformStep):
        return _unique(r.name for r in step.reads)
    if isinstance(step, ir.MapStep):
        return _unique((step.for_each.name, *map_outer_needs(step)))
    return _unique(name for member in step.steps for name in reads_of(member))


@_per_object
def map_outer_needs(step: ir.MapStep) -> tuple[str, ...]:
    """Keys of the enclosing pipeline a map step's body needs: what its steps read or test,
    less the item and the keys the body itself produces."""
    local = {step.item} | {s.output_key for s in step.steps if s.output_key is not None}
    return _unique(k for s in step.steps for k in needs_of(s) if k not in local)


def expr_keys(expr: ir.Expr | None) -> tuple[str, ...]:
    """Keys a condition names, each once, in order (arguments of calls included)."""
    if expr is None:
        return ()
    return _unique(node.name for node in walk_expr(expr) if isinstance(node, ir.KeyExpr))


def walk_expr(expr: ir.Expr) -> Iterator[ir.Expr]:
    """Every node of a condition expression, pre-order, without recursion limits."""
    stack: list[ir.Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ir.CallExpr):
            stack.extend(reversed(node.args))
        elif isinstance(node, ir.NotExpr):
            stack.append(node.operand)
        elif isinstance(node, ir.BoolExpr):
            stack.extend(reversed(node.operands))
        elif isinstance(node, ir.CompareExpr):
            stack.extend((node.right, node.left))


@_per_object
def condition_keys(step: AnyStep) -> tuple[str, ...]:
    """Keys named by the step's own `when`, and for a group its members' `when`s too."""
    keys = list(expr_keys(step.when))
    if isinstance(step, ir.GroupStep):
        for member in step.steps:
            keys.extend(expr_keys(member.when))
    return _unique(keys)


@_per_object
def needs_of(step: AnyStep) -> tuple[str, ...]:
    """Keys that must be known before the step runs: its reads, then its condition keys."""
    return _unique((*reads_of(step), *condition_keys(step)))


@_per_object
def effective_inputs(p: ir.Pipeline) -> tuple[str, ...]:
    """The pipeline's input names.

    Declared inputs when `inputs_declared`; otherwise every key some step needs (template
    reads and condition keys) that no step produces, in order of first use in source order.
    """
    if p.inputs_declared:
        return _unique(i.name for i in p.inputs)
    produced = produced_keys(p)
    free: list[str] = []
    for step in p.steps:
        free.extend(k for k in needs_of(step) if k not in produced)
    return _unique(free)


@_per_object
def declared_inputs(p: ir.Pipeline) -> dict[str, ir.Input]:
    """Declared input name -> its declaration (the first, if declared twice); {} when the
    inputs are inferred."""
    out: dict[str, ir.Input] = {}
    if p.inputs_declared:
        for item in p.inputs:
            out.setdefault(item.name, item)
    return out


@_per_object
def optional_inputs(p: ir.Pipeline) -> frozenset[str]:
    """Inferred inputs that only conditions name (no template or transform reads them).

    Empty when inputs are declared. The seed's `key_exists:flag` on a key nothing produces
    asks whether the caller passed `flag`; such a key must not be a required input, or the
    condition could never be false. These inputs default to None.
    """
    if p.inputs_declared:
        return frozenset()
    read = {key for step in p.steps for key in reads_of(step)}
    return frozenset(k for k in effective_inputs(p) if k not in read)


@_per_object
def top_level_owner(p: ir.Pipeline) -> dict[str, str]:
    """Step name (members included) -> the name of the top-level step that schedules it."""
    owner: dict[str, str] = {}
    for step in p.steps:
        owner.setdefault(step.name, step.name)
        if isinstance(step, ir.GroupStep):
            for member in step.steps:
                owner.setdefault(member.name, step.name)
    return owner


@_per_object
def dependencies(p: ir.Pipeline) -> dict[str, tuple[str, ...]]:
    """Top-level step name -> top-level steps it runs after (see the module docstring)."""
    produced = produced_keys(p)
    owner = top_level_owner(p)
    # A declared input is read from the inputs even when a step (wrongly) produces it too.
    inputs = {i.name for i in p.inputs} if p.inputs_declared else set()
    graph: dict[str, tuple[str, ...]] = {}
    for step in p.steps:
        if step.name in graph:  # a duplicate name: the first definition wins (reported)
            continue
        names: list[str] = []
        for key in needs_of(step):
            producer = None if key in inputs else produced.get(key)
            if producer is not None:
                names.append(owner.get(producer.name, producer.name))
        for ref in _afters(step):
            if ref.name in owner:
                names.append(owner[ref.name])
        graph[step.name] = _unique(n for n in names if n != step.name or _self_edge(step))
    return graph


def _self_edge(step: AnyStep) -> bool:
    """A top-level step that needs itself is a cycle; a group 'needing itself' is a member
    reading a sibling, which the group check reports instead."""
    return not isinstance(step, ir.GroupStep)


def _afters(step: AnyStep) -> tuple[ir.Ident, ...]:
    if isinstance(step, ir.GroupStep):
        return (*step.after, *(a for m in step.steps for a in m.after))
    if isinstance(step, ir.MapStep):  # a body step `after` an outer step: the map waits
        body = {m.name for m in step.steps}
        return (*step.after, *(a for m in step.steps for a in m.after if a.name not in body))
    return step.after


@_per_object
def member_dependencies(p: ir.Pipeline) -> dict[str, tuple[str, ...]]:
    """Group member name -> sibling members it reads from or names in `after` (a mistake)."""
    out: dict[str, tuple[str, ...]] = {}
    for group in p.steps:
        if not isinstance(group, ir.GroupStep):
            continue
        by_key = {m.output_key: m.name for m in group.steps if m.output_key is not None}
        siblings = {m.name for m in group.steps}
        for member in group.steps:
            names = [by_key[k] for k in needs_of(member) if k in by_key]
            names.extend(a.name for a in member.after if a.name in siblings)
            out.setdefault(member.name, _unique(names))
    return out


@_per_object
def _alias_targets(p: ir.Pipeline) -> dict[str, str]:
    """Alias name -> the model id it names (first definition wins)."""
    return {a.name: a.model.id for a in reversed(p.models)}


def resolve_model(p: ir.Pipeline, ref_id: str) -> str:
    """An alias's model id (following alias chains); any other id unchanged."""
    aliases = _alias_targets(p)
    seen: set[str] = set()
    current = ref_id
    while current in aliases and current not in seen:
        seen.add(current)
        current = aliases[current]
    return current


def resolve_retry(p: ir.Pipeline, step: AnyStep) -> ir.RetryPolicy | None:
    """The llm step's retry policy, else the pipeline default, with named refs resolved.

    Transforms and groups have no retry: None. An unknown ref resolves to None (reported).
    """
    if not isinstance(step, ir.LlmStep):
        return None
    return retry_policy(p, step.retry if step.retry is not None else p.defaults.retry)


def retry_policy(p: ir.Pipeline, setting: ir.RetrySetting | None) -> ir.RetryPolicy | None:
    """A retry setting as a policy: a named ref resolved (None when unknown: reported)."""
    if isinstance(setting, ir.PolicyRef):
        return _retry_by_name(p).get(setting.name)
    return setting


def resolve_breaker(p: ir.Pipeline, step: AnyStep) -> ir.BreakerPolicy | None:
    """The llm step's breaker policy, else the pipeline default, with named refs resolved."""
    if not isinstance(step, ir.LlmStep):
        return None
    return breaker_policy(p, step.breaker if step.breaker is not None else p.defaults.breaker)


def breaker_policy(p: ir.Pipeline, setting: ir.BreakerSetting | None) -> ir.BreakerPolicy | None:
    """A breaker setting as a policy: a named ref resolved (None when unknown: reported)."""
    if isinstance(setting, ir.PolicyRef):
        return _breaker_by_name(p).get(setting.name)
    return setting


def step_timeout(p: ir.Pipeline, step: AnyStep) -> object:
    """The step's timeout in seconds, else the pipeline default (None: no timeout)."""
    return step.timeout if step.timeout is not None else p.defaults.timeout


@_per_object
def _retry_by_name(p: ir.Pipeline) -> dict[str, ir.RetryPolicy]:
    return _by_name(p.retry_policies)


@_per_object
def _breaker_by_name(p: ir.Pipeline) -> dict[str, ir.BreakerPolicy]:
    return _by_name(p.breaker_policies)


def _by_name(policies: Iterable[_P]) -> dict[str, _P]:
    """Named policies by name, the first definition of a name winning (duplicates are
    reported): one dict per pipeline, not one scan of the policies per step."""
    out: dict[str, _P] = {}
    for policy in policies:
        if policy.name is not None:
            out.setdefault(policy.name, policy)
    return out


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
