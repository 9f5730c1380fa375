"""The Python values a builder user writes, turned into the IR pieces of a step: names,
conditions (seed forms or `.mmo` expressions), retry and breaker policies (runtime objects,
counts, names, mappings), output specs, the seed's `input_mapping`, a callable's description.

Like the factories that use them, these raise `TypeError`/`ValueError` only for misuse of the
Python API; what a value means is left to the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import ir


def idents(value: str | Iterable[str] | None) -> tuple[ir.Ident, ...]:
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
    from ..frontends.yaml.conditions import parse_condition_text as parse_yaml_condition
    from ..source import Span

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


def condition_expr(value: str | ir.Node | None) -> ir.Expr | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # the seed's `condition=""`: no condition
    if isinstance(value, str):
        return parse_condition_text(value)
    if isinstance(value, (ir.KeyExpr, ir.LiteralExpr, ir.CallExpr, ir.NotExpr, ir.BoolExpr,
                          ir.CompareExpr)):
        return value
    raise TypeError(f"a condition is a string or an IR expression, not {type(value).__name__}")


def retry_policy(value: Any) -> ir.RetryPolicy | ir.PolicyRef | None:
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


def breaker_policy(value: Any) -> ir.BreakerPolicy | ir.PolicyRef | None:
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


def output_spec(json_output: bool, schema: Mapping[str, Any] | None) -> ir.OutputSpec | None:
    if schema is not None:
        return ir.OutputSpec(schema=dict(schema))
    return ir.OutputSpec() if json_output else None


def apply_input_mapping(template: str, mapping: Mapping[str, str] | None) -> str:
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


def describe_callable(fn: Callable[..., Any]) -> str:
    """`module:qualname` of a callable, for messages and the graph (never imported)."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{qualname}"
