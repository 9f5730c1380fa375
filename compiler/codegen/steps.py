"""Lowering of steps and policies: `ir` steps -> `Call` views of runtime spec constructors.

Only names allocated by `lower_names` and values written by `lower_expr.literal` reach the
views. What lowering still refuses (defence in depth behind the checks) raises
`LoweringError`, which `lower.lower` turns into a diagnostic for the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmoc_runtime.transforms import BUILTIN_ARITY, BUILTINS

from .. import analysis, ir
from ..diagnostics.model import Diagnostic, internal_error
from ..expr_text import print_expr
from ..source import Span
from .expressions import ConditionLowerer, LoweringError, literal, text_literal, tuple_code
from .maps import lower_map
from .names import NameAllocator, check_identifier, upper_name
from .views import (
    Arg,
    Call,
    ConditionFunction,
    Constant,
    StepConstant,
    TransformFunction,
    docstring_literal,
)


@dataclass
class LowerContext:
    p: ir.Pipeline
    inline: bool
    names: NameAllocator
    n: dict[str, str]  # helper name -> allocated module-level spelling
    runtime_used: set[str] = field(default_factory=set)
    prompts: list[Constant] = field(default_factory=list)
    policies: list[Constant] = field(default_factory=list)
    steps: list[StepConstant] = field(default_factory=list)
    conditions: list[ConditionFunction] = field(default_factory=list)
    wrappers: list[TransformFunction] = field(default_factory=list)
    imports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # (kind, policy name) -> the shared constant's name
    policy_consts: dict[tuple[str, str], str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    uses_inline: bool = False

    def rt(self, name: str) -> str:
        """A `mmoc_runtime` name, recorded so that only what is used is imported."""
        self.runtime_used.add(name)
        return self.n[name]


def internal(message: str, span: Span | None) -> Diagnostic:
    return internal_error(
        message,
        span,
        doing="generating code",
        help="this should have been reported by a check; please report it as a bug",
    )


def wrapper_params(p: ir.Pipeline) -> set[str]:
    """Keys that become parameters of built-in transform wrappers."""
    bodies = (m for s in p.steps if isinstance(s, ir.MapStep) for m in s.steps)
    return {
        r.name
        for s in (*p.all_steps(), *bodies)
        if isinstance(s, ir.TransformStep) and s.callable is None and s.function in BUILTINS
        for r in s.reads
    }


def lower_step_safely(ctx: LowerContext, step: ir.Step) -> str:
    """Lower a top-level step to a module constant (members first); returns its name."""
    try:
        return _lower_step(ctx, step)
    except LoweringError as exc:
        ctx.diagnostics.append(internal(f"step {step.name!r}: {exc}", step.name_span or step.span))
        return "None"


def _lower_step(ctx: LowerContext, step: ir.Step) -> str:
    """Each step is its own constant (`RESEARCH_STEP = LlmStep(...)`): a block a reviewer
    reads on its own, and small statements keep black's formatting time linear."""
    check_identifier(step.name, "step name")
    if step.output_key is not None:
        check_identifier(step.output_key, "output key")
    if isinstance(step, ir.LlmStep):
        call = _llm_step(ctx, step)
    elif isinstance(step, ir.TransformStep):
        call = _transform_step(ctx, step)
    elif isinstance(step, ir.MapStep):
        call = lower_map(ctx, step, _lower_step, _common_args)
    else:
        call = _group(ctx, step)
    name = ctx.names.take(f"{upper_name(step.name) or 'STEP'}_STEP", "STEP")
    ctx.steps.append(StepConstant(name, call))
    return name


def _group(ctx: LowerContext, step: ir.GroupStep) -> Call:
    members = tuple(_lower_step(ctx, m) for m in step.steps)
    args = [Arg.of("name", literal(step.name)), Arg.of("steps", tuple_code(members))]
    if step.output_key is not None:
        args.append(Arg.of("output_key", literal(step.output_key)))
    if step.concurrency is not None:
        args.append(Arg.of("concurrency", literal(_int(step.concurrency, "concurrency"))))
    args += _common_args(ctx, step, timeout=step.timeout)
    return Call(ctx.rt("ParallelGroup"), tuple(args))


def _common_args(
    ctx: LowerContext, step: ir.Step | ir.LlmStep | ir.TransformStep, timeout: object
) -> list[Arg]:
    args: list[Arg] = []
    if step.after:
        args.append(
            Arg.of("after", literal(tuple(check_identifier(a.name, "step") for a in step.after)))
        )
    if step.when is not None:
        fn = ctx.names.take(f"when_{step.name}", "when_step")
        lowerer = ConditionLowerer(ctx.rt("conditions"))
        text = print_expr(step.when)
        ctx.conditions.append(
            ConditionFunction(
                name=fn,
                doc=docstring_literal(f"Whether step {step.name} runs: when {text}", indented=True),
                expr=lowerer.condition(step.when),
            )
        )
        args += [Arg.of("when", fn), Arg.of("when_text", literal(text))]
        # The executor waits for the producers of the keys a condition reads, as for prompts.
        keys = tuple(check_identifier(k, "key") for k in analysis.expr_keys(step.when))
        if keys:
            args.append(Arg.of("when_reads", literal(keys)))
    if timeout is not None:
        args.append(Arg.of("timeout", literal(_float(timeout, "timeout"))))
    return args


def _llm_step(ctx: LowerContext, step: ir.LlmStep) -> Call:
    p = ctx.p
    if step.output_key is None:
        raise LoweringError("an llm step has no output key")
    stem = upper_name(step.name) or "STEP"
    prompt = _constant(
        ctx.prompts, ctx, f"{stem}_PROMPT", "STEP_PROMPT", text_literal(step.prompt.value)
    )
    args = [
        Arg.of("name", literal(step.name)),
        Arg.of("model", literal(analysis.resolve_model(p, step.model.id))),
        Arg.of("prompt", prompt),
        Arg.of("output_key", literal(step.output_key)),
    ]
    if step.system is not None:
        args.append(
            Arg.of(
                "system",
                _constant(
                    ctx.prompts,
                    ctx,
                    f"{stem}_SYSTEM",
                    "STEP_SYSTEM",
                    text_literal(step.system.value),
                ),
            )
        )
    if step.temperature is not None:
        args.append(Arg.of("temperature", literal(_float(step.temperature, "temperature"))))
    if step.max_tokens is not None:
        args.append(Arg.of("max_tokens", literal(_int(step.max_tokens, "max_tokens"))))
    if step.stop:
        args.append(Arg.of("stop", literal(tuple(str(s) for s in step.stop))))
    args += _common_args(ctx, step, timeout=step.timeout)
    retry = analysis.retry_policy(p, step.retry)
    if retry is not None:
        args.append(Arg.of("retry", policy_code(ctx, retry)))
    if step.fallback:
        args.append(
            Arg.of(
                "fallback", literal(tuple(analysis.resolve_model(p, m.id) for m in step.fallback))
            )
        )
    breaker = analysis.breaker_policy(p, step.breaker)
    if breaker is not None:
        args.append(Arg.of("breaker", policy_code(ctx, breaker)))
    if step.output is not None:
        fmt_args: tuple[Arg, ...] = ()
        if step.output.schema_ is not None:
            fmt_args = (Arg.of("schema", literal(step.output.schema_)),)
        args.append(Arg.nested("output_format", Call(ctx.rt("OutputFormat"), fmt_args)))
    if step.cache is not None:
        args.append(Arg.nested("cache", cache_code(ctx, step.cache)))
    return Call(ctx.rt("LlmStep"), tuple(args))


def cache_code(ctx: LowerContext, policy: ir.CachePolicy) -> Call:
    """`CachePolicy(ttl=3600.0)`, `CachePolicy()` (until cleared), `CachePolicy(enabled=False)`."""
    args: tuple[Arg, ...] = ()
    if not policy.enabled:
        args = (Arg.of("enabled", literal(False)),)
    elif policy.ttl is not None:
        args = (Arg.of("ttl", literal(_float(policy.ttl, "cache ttl"))),)
    return Call(ctx.rt("CachePolicy"), args)


def _transform_step(ctx: LowerContext, step: ir.TransformStep) -> Call:
    reads = tuple(check_identifier(r.name, "key") for r in step.reads)
    function = _transform_function(ctx, step, reads)
    if step.output_key is None:
        raise LoweringError("a transform step has no output key")
    args = [
        Arg.of("name", literal(step.name)),
        Arg.of("function", function),
        Arg.of("output_key", literal(step.output_key)),
    ]
    if reads:
        args.append(Arg.of("reads", literal(reads)))
    if step.pass_context:
        args.append(Arg.of("pass_context", "True"))
    args += _common_args(ctx, step, timeout=step.timeout)
    return Call(ctx.rt("TransformStep"), tuple(args))


def _transform_function(ctx: LowerContext, step: ir.TransformStep, reads: tuple[str, ...]) -> str:
    if step.callable is not None:
        if not ctx.inline:
            ctx.diagnostics.append(
                Diagnostic(
                    code="MMO701",
                    message=f"transform {step.name!r} is a Python callable and cannot be compiled to a file",
                    span=step.name_span or step.span,
                    help="give the transform as an import path `package.module:function`",
                )
            )
            return "None"
        ctx.uses_inline = True
        return f"{ctx.n['INLINE_TRANSFORMS']}[{literal(step.name)}]"
    function = step.function
    if function in BUILTINS:
        least, most = BUILTIN_ARITY.get(function, (1, 1))
        if not least <= len(reads) <= most:
            raise LoweringError(
                f"built-in transform {function!r} takes {least} to {most} keys, got {len(reads)}"
            )
        name = ctx.names.take(f"transform_{step.name}", "transform_step")
        ctx.wrappers.append(
            TransformFunction(
                name=name,
                param=reads[0],
                doc=docstring_literal(
                    f"Step {step.name}: the built-in {function} transform.", indented=True
                ),
                body=f"{ctx.rt('transforms')}.BUILTINS[{literal(function)}]({', '.join(reads)})",
                extra_params=reads[1:],
            )
        )
        return name
    module, sep, attr = function.partition(":")
    if not sep:
        raise LoweringError(f"transform {function!r} is not `package.module:function`")
    check_identifier(attr, "transform function")
    for part in module.split("."):
        check_identifier(part, "module name")
    pairs = ctx.imports.setdefault(module, [])
    for original, alias in pairs:
        if original == attr:
            return alias
    alias = ctx.names.take(attr, "transform_function")
    pairs.append((attr, alias))
    return alias


def policy_code(ctx: LowerContext, policy: ir.RetryPolicy | ir.BreakerPolicy) -> str:
    """A named policy becomes a constant shared by every step that names it; an inline one
    (a step's own, or the pipeline default's) is written where it is used."""
    retry = isinstance(policy, ir.RetryPolicy)
    to_code = _retry_code if retry else _breaker_code
    if policy.name is None:
        return to_code(ctx, policy)
    kind = "RETRY" if retry else "BREAKER"
    key = (kind, policy.name)
    if key not in ctx.policy_consts:
        check_identifier(policy.name, "policy name")
        ctx.policy_consts[key] = _constant(
            ctx.policies,
            ctx,
            f"{upper_name(policy.name) or 'NAMED'}_{kind}",
            f"NAMED_{kind}",
            to_code(ctx, policy),
        )
    return ctx.policy_consts[key]


def _retry_code(ctx: LowerContext, r: ir.RetryPolicy | ir.BreakerPolicy) -> str:
    assert isinstance(r, ir.RetryPolicy)
    backoff = {"constant": "CONSTANT", "exponential": "EXPONENTIAL"}.get(str(r.backoff))
    if backoff is None:
        raise LoweringError(f"unknown backoff {r.backoff!r}")
    if r.jitter not in ("none", "full"):
        raise LoweringError(f"unknown jitter {r.jitter!r}")
    args = [
        f"max_retries={literal(_int(r.max_retries, 'max_retries'))}",
        f"backoff={ctx.rt('BackoffStrategy')}.{backoff}",
        f"base_delay_seconds={literal(_float(r.base_delay, 'base delay'))}",
        f"max_delay_seconds={literal(_float(r.max_delay, 'max delay'))}",
        f"multiplier={literal(_float(r.multiplier, 'multiplier'))}",
        f"jitter={literal(str(r.jitter))}",
    ]
    if r.retry_on:
        args.append(f"retry_on={literal(tuple(str(k.name) for k in r.retry_on))}")
    return f"{ctx.rt('RetryStrategy')}({', '.join(args)})"


def _breaker_code(ctx: LowerContext, b: ir.RetryPolicy | ir.BreakerPolicy) -> str:
    assert isinstance(b, ir.BreakerPolicy)
    return (
        f"{ctx.rt('BreakerPolicy')}("
        f"failure_threshold={literal(_int(b.failure_threshold, 'failure threshold'))}, "
        f"recovery_timeout_seconds={literal(_float(b.recovery_timeout, 'recovery timeout'))}, "
        f"half_open_max_calls={literal(_int(b.half_open_max_calls, 'half-open calls'))})"
    )


def _constant(
    into: list[Constant], ctx: LowerContext, preferred: str, fallback: str, code: str
) -> str:
    name = ctx.names.take(preferred, fallback)
    into.append(Constant(name, code))
    return name


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise LoweringError(f"{what} {value!r} is not a whole number")
    return int(value)


def _float(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LoweringError(f"{what} {value!r} is not a number")
    return float(value)
