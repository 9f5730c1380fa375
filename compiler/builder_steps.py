"""Seed-compatible step factories: `create_llm_step` and friends return IR step nodes.

The builder produces exactly the IR the `.mmo` and YAML front ends produce, so the same checks
judge it and the same code generator runs it. These functions raise `TypeError`/`ValueError`
only for misuse of the Python API itself (an unknown keyword, a value of the wrong Python
type); mistakes in the pipeline's meaning are left to the checks, which report them all at once
from `Pipeline.validate()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr

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


# ---- seed views of IR steps ----------------------------------------------------------------
#
# The seed's steps were one mutable dataclass with `step_type`, a string `model`,
# `prompt_template`, `depends_on`, `sub_steps`, `validate()`, `render_prompt()` and `to_dict()`.
# Ours are IR nodes, so the checks and the code generator see exactly what the front ends give
# them. The classes below are those IR nodes with the seed's names added as read-only views;
# `Pipeline.to_ir()` turns them back into plain IR (`plain_step`).


class StepType(StrEnum):
    LLM = "llm"
    TRANSFORM = "transform"
    CONDITIONAL = "conditional"
    PARALLEL_GROUP = "parallel_group"


class SeedModelRef(ir.ModelRef):
    """A model reference that also equals its id string (`step.model == "gpt-4"`)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.id == other
        if isinstance(other, ir.ModelRef):
            return self.id == other.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return self.id


class PipelineStep:
    """The seed's step class. `PipelineStep(name=..., model=..., prompt_template=...,
    step_type=StepType.LLM, ...)` builds the matching step, and every step the builder hands
    out (from the factories, `Pipeline.steps`, `Pipeline.from_yaml`) is a `PipelineStep`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is PipelineStep:
            return _step_from_seed_fields(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Views are made with `model_construct` (already validated IR); nothing to do."""

    _seed_type: StepType | None
    _condition_text: str | None
    _inner: Any
    if TYPE_CHECKING:  # the IR fields every view has (declared by the IR class it mixes into)
        name: str
        output_key: str | None
        model: Any

    @property
    def step_type(self) -> StepType:
        if self._seed_type is not None:
            return self._seed_type
        kind = getattr(self, "kind", "llm")
        return {"llm": StepType.LLM, "transform": StepType.TRANSFORM}.get(
            kind, StepType.PARALLEL_GROUP
        )

    @property
    def prompt_template(self) -> str:
        prompt = getattr(self, "prompt", None)
        return prompt.value if prompt is not None else ""

    @property
    def depends_on(self) -> str | list[str] | None:
        names = [a.name for a in getattr(self, "after", ())]
        return None if not names else names[0] if len(names) == 1 else names

    @property
    def condition(self) -> str | None:
        if self._condition_text is not None:
            return self._condition_text
        when = getattr(self, "when", None)
        if when is None:
            return None
        from .printer import print_expr  # the `.mmo` spelling of an expression

        return print_expr(when)

    @property
    def transform_fn(self) -> Any:
        return getattr(self, "callable", None) or getattr(self, "function", None)

    @property
    def sub_steps(self) -> list[Any]:
        if self._inner is not None:
            return [self._inner]
        return list(getattr(self, "steps", ()))

    @property
    def timeout_seconds(self) -> float | None:
        timeout = getattr(self, "timeout", None)
        return float(timeout) if isinstance(timeout, (int, float)) else None

    @property
    def max_retries(self) -> int:
        retry = getattr(self, "retry", None)
        return retry.max_retries if isinstance(retry, ir.RetryPolicy) else 0

    def validate(self) -> list[str]:  # type: ignore[override,misc]
        """The step's own required fields, as messages (empty when complete). Whole-pipeline
        problems (missing keys, cycles, unknown models) come from `Pipeline.validate()`."""
        errors: list[str] = []
        if not getattr(self, "name", ""):
            errors.append("step name is required")
        label = f"step {getattr(self, 'name', '')!r}"
        kind = getattr(self, "kind", "")
        if kind == "llm":
            if not self.model.id:
                errors.append(f"{label}: model is required for llm steps")
            if not self.prompt_template:
                errors.append(f"{label}: prompt_template is required for llm steps")
        elif kind == "transform" and not self.transform_fn:
            errors.append(f"{label}: transform_fn is required for transform steps")
        elif kind == "parallel" and not getattr(self, "steps", ()):
            errors.append(f"{label}: sub_steps required for a parallel group")
        return errors

    def render_prompt(self, context: Mapping[str, Any]) -> str:
        """The prompt with `{name}` filled from `context`, exactly as a run fills it."""
        from mmoc_runtime.errors import TemplateError
        from mmoc_runtime.template import render

        try:
            return render(self.prompt_template, context)
        except TemplateError as exc:
            raise ValueError(f"step {getattr(self, 'name', '')!r}: missing variable or bad "
                             f"placeholder in prompt template: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The seed's step dict (`name`, `step_type`, `output_key`, then what is set)."""
        out: dict[str, Any] = {"name": self.name, "step_type": str(self.step_type),
                               "output_key": self.output_key}
        model = getattr(self, "model", None)
        extra = {
            "model": model.id if model is not None else None,
            "prompt": self.prompt_template or None,
            "condition": self.condition,
            "depends_on": self.depends_on,
            "timeout_seconds": self.timeout_seconds,
            "max_retries": self.max_retries or None,
            "sub_steps": [s.to_dict() for s in self.sub_steps] or None,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out


class SeedLlmStep(PipelineStep, ir.LlmStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


class SeedTransformStep(PipelineStep, ir.TransformStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


class SeedGroupStep(PipelineStep, ir.GroupStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


_VIEW_OF: dict[type, Any] = {ir.LlmStep: SeedLlmStep, ir.TransformStep: SeedTransformStep,
                              ir.GroupStep: SeedGroupStep}
_PLAIN_OF: dict[type, Any] = {view: plain for plain, view in _VIEW_OF.items()}


def _fields(node: ir.Node) -> dict[str, Any]:
    return {name: getattr(node, name) for name in type(node).model_fields}


def seed_step(node: Any, *, condition_text: str | None = None, seed_type: StepType | None = None,
              inner: Any = None) -> Any:
    """`node` as a seed view (already one: returned as is unless something is to be set)."""
    if isinstance(node, PipelineStep) and condition_text is seed_type is inner is None:
        return node
    plain = plain_step(node)
    fields = _fields(plain)
    if isinstance(plain, ir.LlmStep):
        fields["model"] = SeedModelRef.model_construct(**_fields(plain.model))
    if isinstance(plain, ir.GroupStep):
        fields["steps"] = tuple(seed_step(m) for m in plain.steps)
    view = _VIEW_OF[type(plain)].model_construct(_fields_set=plain.model_fields_set, **fields)
    old = node if isinstance(node, PipelineStep) else None
    view._seed_type = seed_type or (old._seed_type if old else None)
    view._condition_text = condition_text or (old._condition_text if old else None)
    view._inner = inner or (old._inner if old else None)
    return view


def plain_step(node: Any) -> Any:
    """The plain IR node behind a seed view (plain IR is returned as is)."""
    plain_type = _PLAIN_OF.get(type(node))
    if plain_type is None:
        return node
    fields = _fields(node)
    if isinstance(node, ir.LlmStep):
        fields["model"] = ir.ModelRef.model_construct(**_fields(node.model))
    if isinstance(node, ir.GroupStep):
        fields["steps"] = tuple(plain_step(m) for m in node.steps)
    return plain_type.model_construct(_fields_set=node.model_fields_set, **fields)


def _step_from_seed_fields(
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
