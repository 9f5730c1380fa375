"""Seed-compatible step factories: `create_llm_step` and friends return IR step nodes.

The builder produces exactly the IR the `.mmo` and YAML front ends produce, so the same checks
judge it and the same code generator runs it. These functions raise `TypeError`/`ValueError`
only for misuse of the Python API itself (an unknown keyword, a value of the wrong Python
type); mistakes in the pipeline's meaning are left to the checks, which report them all at once
from `Pipeline.validate()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import ir

StepNode = ir.LlmStep | ir.TransformStep | ir.GroupStep

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


# Keyword extras `create_llm_step` accepts, beyond the seed's positional fields.
LLM_EXTRAS = (
    "system", "system_prompt", "temperature", "max_tokens", "stop", "timeout", "timeout_seconds",
    "retry", "max_retries", "fallback", "breaker", "json_output", "output_schema", "condition",
    "when", "after",
)


def create_llm_step(
    name: str,
    model: str,
    prompt_template: str,
    output_key: str | None = None,
    depends_on: str | Iterable[str] | None = None,
    **extras: Any,
) -> ir.LlmStep:
    """An llm step. `output_key` defaults to `<name>_output`, as in the seed's YAML.

    Extras: `system`, `temperature`, `max_tokens`, `stop`, `timeout` (seconds; seed spelling
    `timeout_seconds`), `retry` (RetryStrategy, count, policy name or mapping; seed spelling
    `max_retries=N`), `fallback` (model ids), `breaker` (CircuitBreaker, policy name or mapping),
    `json_output=True` / `output_schema={...}`, `condition`/`when`, `after`.
    """
    unknown = sorted(set(extras) - set(LLM_EXTRAS))
    if unknown:
        raise TypeError(
            f"create_llm_step() got unexpected keyword(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(LLM_EXTRAS)}"
        )
    system = extras.get("system", extras.get("system_prompt"))
    retry = extras.get("retry")
    if retry is None and extras.get("max_retries") is not None:
        retry = extras["max_retries"]
    fallback = extras.get("fallback")
    stop = extras.get("stop") or ()
    return ir.LlmStep(
        name=name,
        model=ir.ModelRef(id=model),
        prompt=ir.Text(value=prompt_template),
        system=ir.Text(value=system) if system is not None else None,
        output_key=output_key or f"{name}_output",
        after=(*_names(depends_on), *_names(extras.get("after"))),
        when=_condition(extras.get("when", extras.get("condition"))),
        timeout=extras.get("timeout", extras.get("timeout_seconds")),
        temperature=extras.get("temperature"),
        max_tokens=extras.get("max_tokens"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        retry=_retry(retry),
        fallback=tuple(ir.ModelRef(id=m) for m in fallback) if fallback is not None else None,
        breaker=_breaker(extras.get("breaker")),
        output=_output(bool(extras.get("json_output")), extras.get("output_schema")),
    )


def create_transform_step(
    name: str,
    transform_fn: Callable[..., Any] | str,
    output_key: str | None = None,
    depends_on: str | Iterable[str] | None = None,
    reads: str | Iterable[str] | None = None,
    *,
    timeout: float | None = None,
) -> ir.TransformStep:
    """A transform step: `transform_fn` is a Python callable (run in-process) or a
    `"package.module:function"` path or built-in name (compilable to a file).

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
    return ir.TransformStep(
        name=name,
        function=function,
        callable=fn,
        reads=read_names,
        pass_context=fn is not None and reads is None,
        output_key=output_key or f"{name}_output",
        after=_names(depends_on),
        timeout=timeout,
    )


def _describe_callable(fn: Callable[..., Any]) -> str:
    """`module:qualname` of a callable, for messages and the graph (never imported)."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{qualname}"


def create_parallel_group(
    name: str,
    steps: Iterable[ir.LlmStep | ir.TransformStep],
    output_key: str | None = None,
    concurrency: int | None = None,
    depends_on: str | Iterable[str] | None = None,
) -> ir.GroupStep:
    """Members run concurrently (at most `concurrency` at once); with `output_key`, the group
    also produces `{member output key: value}` of its members."""
    members = tuple(steps)
    for member in members:
        if isinstance(member, ir.GroupStep):
            raise TypeError(f"parallel group {name!r}: groups cannot be nested ({member.name!r})")
        if not isinstance(member, (ir.LlmStep, ir.TransformStep)):
            raise TypeError(f"parallel group {name!r}: members must be steps, not {member!r}")
    return ir.GroupStep(
        name=name,
        steps=members,
        output_key=output_key,
        concurrency=concurrency,
        after=_names(depends_on),
    )


def create_conditional_step(name: str, condition: str | ir.Node, step: StepNode) -> StepNode:
    """`step`, renamed to `name`, that runs only when `condition` holds (else it and its
    dependants are skipped). `condition` is a seed form (`key_exists:k`, `not_empty:k`,
    `equals:k:v`, `contains:k:sub`) or a `.mmo` expression such as `len(draft) > 100`."""
    if not isinstance(step, (ir.LlmStep, ir.TransformStep, ir.GroupStep)):
        raise TypeError(f"create_conditional_step needs a step, not {type(step).__name__}")
    return step.model_copy(update={"name": name, "when": _condition(condition)})
