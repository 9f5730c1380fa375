"""Seed-compatible step factories: `create_llm_step` and friends return IR step nodes.

The builder produces exactly the IR the `.mmo` and YAML front ends produce, so the same checks
judge it and the same code generator runs it. These functions raise `TypeError`/`ValueError`
only for misuse of the Python API itself (an unknown keyword, a value of the wrong Python
type); mistakes in the pipeline's meaning are left to the checks, which report them all at once
from `Pipeline.validate()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard

from . import ir
from .builder_seed import (
    SeedGroupStep,
    SeedLlmStep,
    SeedTransformStep,
    StepType,
    plain_step,
    seed_step,
)

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


def _names(value: str | Iterable[str] | None) -> tuple[ir.Ident, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (ir.Ident(name=value),)
    return tuple(ir.Ident(name=str(v)) for v in value)


def parse_condition_text(text: str) -> ir.Expr:
    """A seed condition form (`key_exists:k`, `not_empty:k`, `equals:k:v`, `contains:k:sub`,
    the value part may hold `:`) or an expression in the `.mmo` condition language, read
    exactly as the YAML front end reads a step's `condition:`.

    Raises `ValueError` naming the problem when the text is neither.
    """
    from .source import Span
    from .yaml_conditions import parse_condition_text as parse_yaml_condition

    where = Span.point("<condition>", 1, 1, max(1, len(text)))
    expr, diagnostics = parse_yaml_condition(text, "<condition>", where, None)
    errors = [d for d in diagnostics if d.is_error]
    if expr is None or errors:
        reason = "; ".join(d.message for d in errors) or "not a condition"
        raise ValueError(f"condition {text!r} is not valid: {reason}")
    return _without_spans(expr)


def _without_spans(expr: ir.Expr) -> ir.Expr:
    """The builder has no source text: positions pointing at a made-up file would mislead."""
    if isinstance(expr, ir.CallExpr):
        return expr.model_copy(
            update={"span": None, "args": tuple(_without_spans(a) for a in expr.args)}
        )
    if isinstance(expr, ir.NotExpr):
        return expr.model_copy(update={"span": None, "operand": _without_spans(expr.operand)})
    if isinstance(expr, ir.BoolExpr):
        operands = tuple(_without_spans(o) for o in expr.operands)
        return expr.model_copy(update={"span": None, "operands": operands})
    if isinstance(expr, ir.CompareExpr):
        return expr.model_copy(
            update={"span": None, "left": _without_spans(expr.left),
                    "right": _without_spans(expr.right)}
        )
    return expr.model_copy(update={"span": None})


def _condition(value: str | ir.Node | None) -> ir.Expr | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_condition_text(value)
    if isinstance(value, (ir.KeyExpr, ir.LiteralExpr, ir.CallExpr, ir.NotExpr, ir.BoolExpr,
                          ir.CompareExpr)):
        return value
    raise TypeError(f"a condition is a string or an IR expression, not {type(value).__name__}")


def _retry(value: Any) -> ir.RetryPolicy | ir.PolicyRef | None:
    """A step's retry from the forms Python users write: a RetryStrategy, a max-retries count,
    a named policy, a mapping of policy fields, or an IR policy."""
    if value is None or isinstance(value, (ir.RetryPolicy, ir.PolicyRef)):
        return value
    if isinstance(value, str):
        return ir.PolicyRef(name=value)
    if isinstance(value, bool):
        raise TypeError("retry must be a RetryStrategy, a number of retries, or a policy name")
    if isinstance(value, int):
        return ir.RetryPolicy(max_retries=value)
    if isinstance(value, Mapping):
        return ir.RetryPolicy(**dict(value))
    if hasattr(value, "max_retries") and hasattr(value, "base_delay_seconds"):
        return retry_policy_from_strategy(value)
    raise TypeError(f"retry cannot be a {type(value).__name__}")


def retry_policy_from_strategy(strategy: Any) -> ir.RetryPolicy:
    """The IR policy equal to a runtime `RetryStrategy` (error kinds only in `retry_on`)."""
    kinds: list[ir.Ident] = []
    for item in getattr(strategy, "retry_on", ()) or ():
        if not isinstance(item, str):
            raise TypeError(
                "retry_on of a pipeline step takes error kinds (such as 'rate_limit'), "
                f"not {item!r}: exception classes cannot be compiled"
            )
        kinds.append(ir.Ident(name=item))
    backoff = getattr(strategy, "backoff", "exponential")
    jitter = getattr(strategy, "jitter", "none")
    return ir.RetryPolicy(
        max_retries=strategy.max_retries,
        backoff=getattr(backoff, "value", backoff),
        base_delay=strategy.base_delay_seconds,
        multiplier=getattr(strategy, "multiplier", 2.0),
        max_delay=getattr(strategy, "max_delay_seconds", 60.0),
        jitter=getattr(jitter, "value", jitter),
        retry_on=tuple(kinds),
    )


def _breaker(value: Any) -> ir.BreakerPolicy | ir.PolicyRef | None:
    if value is None or isinstance(value, (ir.BreakerPolicy, ir.PolicyRef)):
        return value
    if isinstance(value, str):
        return ir.PolicyRef(name=value)
    if isinstance(value, Mapping):
        fields = dict(value)
        if "recovery_timeout_seconds" in fields:
            fields["recovery_timeout"] = fields.pop("recovery_timeout_seconds")
        return ir.BreakerPolicy(**fields)
    if hasattr(value, "failure_threshold"):
        return ir.BreakerPolicy(
            failure_threshold=value.failure_threshold,
            recovery_timeout=getattr(value, "recovery_timeout_seconds", 60.0),
            half_open_max_calls=getattr(value, "half_open_max_calls", 1),
        )
    raise TypeError(f"breaker cannot be a {type(value).__name__}")


def _output(json_output: bool, schema: Mapping[str, Any] | None) -> ir.OutputSpec | None:
    if schema is not None:
        return ir.OutputSpec(schema=dict(schema))
    return ir.OutputSpec() if json_output else None


def _apply_input_mapping(template: str, mapping: Mapping[str, str] | None) -> str:
    """The seed's `input_mapping` ({template name: context key}) folded into the template, so
    the step reads the context key directly (and the dependency on it is visible)."""
    if not mapping:
        return template
    from mmoc_runtime.template import Placeholder, parse_template

    parsed = parse_template(template)
    if parsed.problems:
        return template  # the checks report the bad placeholder with its position
    out: list[str] = []
    for part in parsed.parts:
        if isinstance(part, Placeholder):
            out.append("{" + mapping.get(part.name, part.name) + "}")
        else:
            out.append(part.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


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
        prompt=ir.Text(value=_apply_input_mapping(prompt_template, input_mapping)),
        system=ir.Text(value=system) if system is not None else None,
        output_key=output_key or f"{name}_output",
        after=(*_names(depends_on), *_names(extras.get("after"))),
        when=_condition(when),
        timeout=extras.get("timeout", timeout_seconds),
        temperature=extras.get("temperature"),
        max_tokens=extras.get("max_tokens"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        retry=_retry(retry),
        fallback=tuple(ir.ModelRef(id=m) for m in fallback) if fallback is not None else None,
        breaker=_breaker(extras.get("breaker")),
        output=_output(bool(extras.get("json_output")), extras.get("output_schema")),
    )
    return seed_step(step, condition_text=when if isinstance(when, str) else None)


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
    read_names = _names(reads)
    if isinstance(transform_fn, str):
        function, fn = transform_fn, None
    elif callable(transform_fn):
        function, fn = _describe_callable(transform_fn), transform_fn
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
        after=_names(depends_on),
        when=_condition(condition),
        timeout=timeout,
    )
    return seed_step(step, condition_text=condition if isinstance(condition, str) else None)


def _describe_callable(fn: Callable[..., Any]) -> str:
    """`module:qualname` of a callable, for messages and the graph (never imported)."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{qualname}"


def create_parallel_group(
    name: str,
    sub_steps: Iterable[ir.LlmStep | ir.TransformStep],
    output_key: str | None = None,
    concurrency: int | None = None,
    depends_on: str | Iterable[str] | None = None,
) -> SeedGroupStep:
    """Members run concurrently (at most `concurrency` at once); with `output_key`, the group
    also produces `{member output key: value}` of its members."""
    members = tuple(sub_steps)
    for member in members:
        if isinstance(member, ir.GroupStep):
            raise TypeError(f"parallel group {name!r}: groups cannot be nested ({member.name!r})")
        if not isinstance(member, (ir.LlmStep, ir.TransformStep)):
            raise TypeError(f"parallel group {name!r}: members must be steps, not {member!r}")
    group = ir.GroupStep(
        name=name,
        steps=tuple(plain_step(m) for m in members),
        output_key=output_key,
        concurrency=concurrency,
        after=_names(depends_on),
    )
    return seed_step(group)


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
    update: dict[str, Any] = {"name": name, "when": _condition(condition)}
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
                                    or f"{name}_output", after=_names(depends_on))
            return seed_step(step, condition_text=condition)
        return create_transform_step(name, transform_fn, output_key or None, condition,
                                     depends_on, timeout=timeout_seconds)
    if kind is StepType.PARALLEL_GROUP:
        group = ir.GroupStep(name=name, steps=tuple(plain_step(s) for s in sub_steps),
                             output_key=output_key or None, after=_names(depends_on))
        return seed_step(group)
    if kind is StepType.CONDITIONAL:
        return create_conditional_step(name, condition or "", list(sub_steps), output_key)
    return create_llm_step(name, model, prompt_template, output_key or None, input_mapping,
                           condition, timeout_seconds, max_retries or None, depends_on)

