"""Seed-compatible step factories: `create_llm_step` and friends return IR step nodes
(with the seed's views from `views`; their arguments read by `values`).

The builder produces exactly the IR the `.mmo` and YAML front ends produce, so the same checks
judge it and the same code generator runs it. These functions raise `TypeError`/`ValueError`
only for misuse of the Python API itself (an unknown keyword, a value of the wrong Python
type); mistakes in the pipeline's meaning are left to the checks, which report them all at once
from `Pipeline.validate()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from .. import ir
from .values import (
    apply_input_mapping,
    breaker_policy,
    condition_expr,
    describe_callable,
    idents,
    output_spec,
    retry_policy,
)
from .views import StepType, StepView, model_id

StepNode = ir.LlmStep | ir.TransformStep | ir.GroupStep


def all_steps(steps: Iterable[StepNode]) -> list[StepNode]:
    """`steps` with each group's members right after the group (as `ir.Pipeline.all_steps`,
    for a builder's list of step views)."""
    out: list[StepNode] = []
    for step in steps:
        out.append(step)
        if isinstance(step, ir.GroupStep):
            out.extend(step.steps)
    return out


def is_inline(step: StepNode) -> TypeGuard[ir.TransformStep]:
    """A transform given as a Python callable: runs in-process, cannot be written to a file."""
    return isinstance(step, ir.TransformStep) and step.callable is not None


# ---- the step classes: IR nodes with the seed's views ----------------------------------------


class PipelineStep(StepView):
    """The seed's step class. `PipelineStep(name=..., model=..., prompt_template=...,
    step_type=StepType.LLM, ...)` builds the matching step, and every step the builder hands
    out (from the factories, `Pipeline.steps`, `Pipeline.from_yaml`) is a `PipelineStep`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is PipelineStep:
            return step_from_seed_fields(*args, **kwargs)
        return super().__new__(cls)


class SeedLlmStep(PipelineStep, ir.LlmStep):
    _seed_type = _condition_text = _inner = None
    if TYPE_CHECKING:
        model: str  # type: ignore[assignment]  # the seed's str; the IR's in `model_ref`


# Installed after the class is made, where mypy does not see it (it knows the field). The node
# keeps its `ModelRef` in `__dict__` (dumps, copies and `plain_step` read it there).
SeedLlmStep.model = property(model_id)  # type: ignore[assignment]


class SeedTransformStep(PipelineStep, ir.TransformStep):
    _seed_type = _condition_text = _inner = None


class SeedGroupStep(PipelineStep, ir.GroupStep):
    _seed_type = _condition_text = _inner = None


# ---- factories --------------------------------------------------------------------------------

# Keyword extras `create_llm_step` accepts, beyond the seed's parameters.
LLM_EXTRAS = (
    "system", "system_prompt", "temperature", "max_tokens", "stop", "timeout", "retry",
    "fallback", "breaker", "json_output", "output_schema", "when", "after",
)


def create_llm_step(
    name: str,
    model: str,
    prompt_template: str,
    output_key: str | None = None,
    input_mapping: Mapping[str, str] | None = None,
    condition: str | ir.Node | None = None,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    depends_on: str | Iterable[str] | None = None,
    **extras: Any,
) -> SeedLlmStep:
    """An llm step; the parameters are the seed's, in its order. `output_key` defaults to
    `<name>_output`; `input_mapping` ({placeholder: context key}) renames placeholders.

    Extras: `system`, `temperature`, `max_tokens`, `stop`, `timeout` (seconds, as
    `timeout_seconds`), `retry` (RetryStrategy, count, policy name or mapping; as
    `max_retries=N`), `fallback` (model ids), `breaker` (CircuitBreaker, policy name or mapping),
    `json_output=True` / `output_schema={...}`, `when` (as `condition`), `after`.
    """
    unknown = sorted(set(extras) - set(LLM_EXTRAS))
    if unknown:
        raise TypeError(
            f"create_llm_step() got unexpected keyword(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(LLM_EXTRAS)}"
        )
    system = extras.get("system", extras.get("system_prompt"))
    retry = extras.get("retry")
    if retry is None and max_retries:
        retry = max_retries
    fallback = extras.get("fallback")
    stop = extras.get("stop") or ()
    when = extras.get("when", condition)
    step = ir.LlmStep(
        name=name,
        model=ir.ModelRef(id=model),
        prompt=ir.Text(value=apply_input_mapping(prompt_template, input_mapping)),
        system=ir.Text(value=system) if system is not None else None,
        output_key=output_key or f"{name}_output",
        after=(*idents(depends_on), *idents(extras.get("after"))),
        when=condition_expr(when),
        timeout=extras.get("timeout", timeout_seconds),
        temperature=extras.get("temperature"),
        max_tokens=extras.get("max_tokens"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        retry=retry_policy(retry),
        fallback=tuple(ir.ModelRef(id=m) for m in fallback) if fallback is not None else None,
        breaker=breaker_policy(extras.get("breaker")),
        output=output_spec(bool(extras.get("json_output")), extras.get("output_schema")),
    )
    view = seed_step(step, condition_text=when if isinstance(when, str) else None)
    assert isinstance(view, SeedLlmStep)  # seed_step keeps the node's kind
    return view


def create_transform_step(
    name: str,
    transform_fn: Callable[..., Any] | str,
    output_key: str | None = None,
    condition: str | ir.Node | None = None,
    depends_on: str | Iterable[str] | None = None,
    reads: str | Iterable[str] | None = None,
    *,
    timeout: float | None = None,
) -> SeedTransformStep:
    """A transform step: `transform_fn` is a Python callable (run in-process) or a
    `"package.module:function"` path or built-in name (compilable to a file). The first five
    parameters are the seed's, in its order.

    With `reads`, the function is called with those keys as keyword arguments. A callable with
    no `reads` is seed-style `fn(ctx)`: it receives a read-only mapping of the inputs and every
    output so far, and `Pipeline.add_step` orders it after every step declared before it.
    """
    read_names = idents(reads)
    if isinstance(transform_fn, str):
        function, fn = transform_fn, None
    elif callable(transform_fn):
        function, fn = describe_callable(transform_fn), transform_fn
    else:
        raise TypeError(
            f"transform_fn must be a callable or a 'package.module:function' string, "
            f"not {type(transform_fn).__name__}"
        )
    step = ir.TransformStep(
        name=name,
        function=function,
        callable=fn,
        reads=read_names,
        pass_context=fn is not None and reads is None,
        output_key=output_key or f"{name}_output",
        after=idents(depends_on),
        when=condition_expr(condition),
        timeout=timeout,
    )
    view = seed_step(step, condition_text=condition if isinstance(condition, str) else None)
    assert isinstance(view, SeedTransformStep)  # seed_step keeps the node's kind
    return view


def create_parallel_group(
    name: str,
    sub_steps: Iterable[ir.LlmStep | ir.TransformStep],
    output_key: str | None = None,
    concurrency: int | None = None,
    depends_on: str | Iterable[str] | None = None,
) -> SeedGroupStep:
    """Members run concurrently (at most `concurrency` at once); the group also produces
    `{member output key: value}` of its members under `output_key` (default `<name>_output`,
    as every step's)."""
    members = tuple(sub_steps)
    for member in members:
        if isinstance(member, ir.GroupStep):
            raise TypeError(f"parallel group {name!r}: groups cannot be nested ({member.name!r})")
        if not isinstance(member, (ir.LlmStep, ir.TransformStep)):
            raise TypeError(f"parallel group {name!r}: members must be steps, not {member!r}")
    group = ir.GroupStep(
        name=name,
        steps=tuple(plain_step(m) for m in members),
        output_key=output_key or f"{name}_output",
        concurrency=concurrency,
        after=idents(depends_on),
    )
    view = seed_step(group)
    assert isinstance(view, SeedGroupStep)  # seed_step keeps the node's kind
    return view


def create_conditional_step(
    name: str, condition: str | ir.Node, step: Any, output_key: str | None = None
) -> Any:
    """`step`, renamed to `name`, that runs only when `condition` holds (else it and its
    dependants are skipped). `condition` is a seed form (`key_exists:k`, `not_empty:k`,
    `equals:k:v`, `contains:k:sub`) or a `.mmo` expression such as `len(draft) > 100`.
    As in the seed, `step` may be a list (`sub_steps`) holding one step."""
    if isinstance(step, (list, tuple)):
        if len(step) != 1:
            raise TypeError(
                f"create_conditional_step({name!r}): give one step (got {len(step)}); for "
                f"several, give each its own condition"
            )
        step = step[0]
    if not isinstance(step, (ir.LlmStep, ir.TransformStep, ir.GroupStep)):
        raise TypeError(f"create_conditional_step needs a step, not {type(step).__name__}")
    update: dict[str, Any] = {"name": name, "when": condition_expr(condition)}
    if output_key:
        update["output_key"] = output_key
    renamed = plain_step(step).model_copy(update=update)
    return seed_step(renamed, seed_type=StepType.CONDITIONAL, inner=seed_step(step),
                     condition_text=condition if isinstance(condition, str) else None)


# ---- the seed's PipelineStep constructor -----------------------------------------------------

def step_from_seed_fields(
    name: str,
    model: str = "",
    prompt_template: str = "",
    input_mapping: Mapping[str, str] | None = None,
    output_key: str = "",
    step_type: StepType | str = StepType.LLM,
    condition: str | None = None,
    timeout_seconds: float | None = None,
    max_retries: int = 0,
    depends_on: str | Iterable[str] | None = None,
    transform_fn: Callable[..., Any] | str | None = None,
    sub_steps: Iterable[Any] = (),
) -> Any:
    """The step the seed's `PipelineStep(name=..., step_type=..., ...)` described, made by the
    factories below (`PipelineStep(...)` calls this)."""
    kind = StepType(step_type)
    if kind is StepType.TRANSFORM:
        if transform_fn is None:
            # Incomplete, as the seed allowed; `validate()` says what is missing.
            step = ir.TransformStep(name=name, function="", output_key=output_key
                                    or f"{name}_output", after=idents(depends_on))
            return seed_step(step, condition_text=condition)
        return create_transform_step(name, transform_fn, output_key or None, condition,
                                     depends_on, timeout=timeout_seconds)
    if kind is StepType.PARALLEL_GROUP:
        group = ir.GroupStep(name=name, steps=tuple(plain_step(s) for s in sub_steps),
                             output_key=output_key or f"{name}_output",
                             after=idents(depends_on))
        return seed_step(group)
    if kind is StepType.CONDITIONAL:
        return create_conditional_step(name, condition or "", list(sub_steps), output_key)
    return create_llm_step(name, model, prompt_template, output_key or None, input_mapping,
                           condition, timeout_seconds, max_retries or None, depends_on)


_VIEW_OF: dict[type, Any] = {ir.LlmStep: SeedLlmStep, ir.TransformStep: SeedTransformStep,
                              ir.GroupStep: SeedGroupStep}


_PLAIN_OF: dict[type, Any] = {view: plain for plain, view in _VIEW_OF.items()}


def _fields(node: ir.Node) -> dict[str, Any]:
    """The node's field values as stored (`__dict__`: a view's `model` property is a str)."""
    return {name: node.__dict__[name] for name in type(node).model_fields}


def seed_step(node: Any, *, condition_text: str | None = None, seed_type: StepType | None = None,
              inner: Any = None) -> Any:
    """`node` as a seed view (already one: returned as is unless something is to be set)."""
    if isinstance(node, PipelineStep) and condition_text is seed_type is inner is None:
        return node
    plain = plain_step(node)
    fields = _fields(plain)
    if isinstance(plain, ir.GroupStep):
        fields["steps"] = tuple(seed_step(m) for m in plain.steps)
    view = _VIEW_OF[type(plain)].model_construct(_fields_set=plain.model_fields_set, **fields)
    old = node if isinstance(node, PipelineStep) else None
    # The seed's extras are plain attributes of the (frozen) view, set past its `__setattr__`.
    view.__dict__.update(
        _seed_type=seed_type or (old._seed_type if old else None),
        _condition_text=condition_text or (old._condition_text if old else None),
        _inner=inner or (old._inner if old else None),
    )
    return view


def plain_step(node: Any) -> Any:
    """The plain IR node behind a seed view (plain IR is returned as is)."""
    plain_type = _PLAIN_OF.get(type(node))
    if plain_type is None:
        return node
    fields = _fields(node)
    if isinstance(node, ir.GroupStep):
        fields["steps"] = tuple(plain_step(m) for m in node.steps)
    return plain_type.model_construct(_fields_set=node.model_fields_set, **fields)
