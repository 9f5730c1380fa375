"""Lowering: a checked `ir.Pipeline` -> `ModuleView`, the view model the templates print.

Every Python name is allocated here (`lower_names`) and every value is already Python source
text (`lower_expr.literal`, i.e. `repr` of plain data), so the Jinja templates hold no logic
and no user text reaches the output except through `repr`. Lowering assumes the checks passed;
what it still refuses (defence in depth) becomes a diagnostic, never a traceback. Steps and
policies are lowered in `lower_steps`; this module does the pipeline-level parts.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import deque
from typing import Any

from .. import analysis, ir
from ..diagnostics.model import Diagnostic
from ..version import __version__
from .expressions import LoweringError, ascii_literal, literal, tuple_code
from .names import NameAllocator, check_identifier
from .steps import (
    LowerContext,
    cache_code,
    internal,
    lower_step_safely,
    policy_code,
    wrapper_params,
)
from .views import (
    Arg,
    Call,
    ImportView,
    ModuleView,
    TypedDictField,
    TypedDictView,
    docstring_literal,
)

# The runtime ABI the templates are written against (`mmoc_runtime.ABI_VERSION` must match).
GENERATED_ABI = 3

# The generated module's public API, in `__all__` order (isort-style, as ruff's RUF022 wants).
_API = ("PIPELINE", "Inputs", "Outputs", "main", "pipeline", "run", "run_batch", "run_result",
        "run_sync", "stream")
# Helpers the templates use, each bound to a module-level name (normally its own spelling).
_HELPERS = (
    "sys",
    "Any",
    "Callable",
    "Mapping",
    "NotRequired",
    "TypedDict",
    "conditions",
    "transforms",
    "check_abi",
    "CompiledPipeline",
    "PipelineSpec",
    "StepDefaults",
    "LlmStep",
    "TransformStep",
    "ParallelGroup",
    "MapStep",
    "InputSpec",
    "BreakerPolicy",
    "OutputFormat",
    "CachePolicy",
    "EndpointSpec",
    "RetryStrategy",
    "BackoffStrategy",
    "INLINE_TRANSFORMS",
    "ABI",
    "Limits",
)
# Runtime names every module imports: the ABI check, the spec root and its entry points.
_ALWAYS = frozenset({"check_abi", "PipelineSpec", "CompiledPipeline"})
_INPUT_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool",
                "list[str]": "list[str]", "list[int]": "list[int]"}
_LIST_OF_ANY = "list[json]"  # annotated `list[Any]`, with the module's name for `Any`


def lower(
    p: ir.Pipeline, *, source_path: str, source_text: str, inline: bool = False
) -> tuple[ModuleView | None, list[Diagnostic]]:
    """Lower a checked pipeline. Returns (view, diagnostics); the view is None on any error."""
    try:
        with analysis.memoized():  # each fact about `p` once, not once per step or input
            return _lower(p, source_path=source_path, source_text=source_text, inline=inline)
    except LoweringError as exc:
        return None, [internal(str(exc), p.span)]


def _lower(
    p: ir.Pipeline, *, source_path: str, source_text: str, inline: bool
) -> tuple[ModuleView | None, list[Diagnostic]]:
    names = NameAllocator(avoid=wrapper_params(p))
    api = {name: names.take_exact(name) for name in _API}
    n = {helper: names.take(helper, helper) for helper in _HELPERS}
    ctx = LowerContext(p=p, inline=inline, names=names, n=n)
    inputs = tuple(_input_spec(ctx, name) for name in analysis.effective_inputs(p))
    step_names = tuple(lower_step_safely(ctx, step) for step in p.steps)
    if ctx.diagnostics:
        return None, ctx.diagnostics
    sha = hashlib.sha256(source_text.encode("utf-8")).hexdigest()
    pipeline = _pipeline_call(ctx, inputs, step_names, source_path, sha)
    inputs_td = _inputs_typeddict(ctx, api["Inputs"])
    outputs_td = _outputs_typeddict(ctx, api["Outputs"])
    stdlib, third_party = _import_blocks(ctx, inputs_td, outputs_td)
    view = ModuleView(
        header_source=ascii_literal(source_path),
        source_literal=literal(source_path),
        source_sha256=sha,
        compiler_version=__version__,
        docstring=docstring_literal(_docstring(p, source_path)),
        abi=GENERATED_ABI,
        n=n,
        api=api,
        stdlib_modules=(("sys", n["sys"]),),
        stdlib_imports=stdlib,
        third_party_imports=third_party,
        uses_inline=ctx.uses_inline,
        inputs_td=inputs_td,
        outputs_td=outputs_td,
        policies=tuple(ctx.policies),
        prompts=tuple(ctx.prompts),
        conditions=tuple(ctx.conditions),
        wrappers=tuple(ctx.wrappers),
        steps=tuple(ctx.steps),
        pipeline=pipeline,
        all_names=literal(list(_API)),
    )
    return view, []


def _import_blocks(
    ctx: LowerContext, inputs: TypedDictView, outputs: TypedDictView
) -> tuple[tuple[ImportView, ...], tuple[ImportView, ...]]:
    """The `from` imports in isort's order (what ruff's I001 checks): a standard-library
    block and a block for everything else (the runtime and transform modules), each sorted
    by module, names sorted constants, classes, then functions. Only used names (F401)."""
    n = ctx.n
    abc = [("Mapping", n["Mapping"])] if ctx.conditions else []
    if ctx.uses_inline:
        abc.append(("Callable", n["Callable"]))
    typing = [("TypedDict", n["TypedDict"])]
    fields = (*inputs.fields, *outputs.fields)
    annotations = " ".join(f.annotation for f in fields)
    if ctx.conditions or ctx.wrappers or ctx.uses_inline or _mentions(annotations, n["Any"]):
        typing.append(("Any", n["Any"]))
    if any(f.annotation.startswith(n["NotRequired"] + "[") for f in fields):
        typing.append(("NotRequired", n["NotRequired"]))
    stdlib: dict[str, list[tuple[str, str]]] = {"typing": typing}
    if abc:
        stdlib["collections.abc"] = abc
    other: dict[str, list[tuple[str, str]]] = {
        "mmoc_runtime": [(x, n[x]) for x in ctx.runtime_used | _ALWAYS]
    }
    for module, pairs in ctx.imports.items():
        top = module.partition(".")[0]
        block = stdlib if top in sys.stdlib_module_names else other
        block.setdefault(module, []).extend(pairs)
    return _sorted_block(stdlib), _sorted_block(other)


def _mentions(code: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", code) is not None


def _sorted_block(block: dict[str, list[tuple[str, str]]]) -> tuple[ImportView, ...]:
    """One statement per module for plain names, and one per aliased name (isort does not
    combine `as` imports), ordered by module, then by each statement's first name."""
    statements: list[ImportView] = []
    for module, pairs in block.items():
        plain = sorted((pair for pair in pairs if pair[0] == pair[1]), key=_member_key)
        if plain:
            statements.append(ImportView(module, tuple(plain)))
        statements.extend(ImportView(module, (pair,)) for pair in pairs if pair[0] != pair[1])
    return tuple(
        sorted(
            statements, key=lambda imp: (imp.module.lower(), imp.module, _member_key(imp.names[0]))
        )
    )


def _member_key(pair: tuple[str, str]) -> tuple[int, str, str, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then everything else."""
    name, alias = pair
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name, alias)


def _declared(p: ir.Pipeline) -> dict[str, ir.Input]:
    return analysis.declared_inputs(p)  # memoized: `_input_spec` asks once per input


def _input_spec(ctx: LowerContext, name: str) -> Call:
    check_identifier(name, "input")
    args = [Arg.of("name", literal(name))]
    decl = _declared(ctx.p).get(name)
    if decl is None:
        # Inferred inputs take any JSON value, as the seed took any value; a key that only
        # conditions read is optional (None when absent) so the condition can be false.
        args.append(Arg.of("type", literal("json")))
        if name in analysis.optional_inputs(ctx.p):
            args.append(Arg.of("default", literal(None)))
    else:
        type_name = decl.type or "str"
        if type_name not in (*_INPUT_TYPES, "json", _LIST_OF_ANY):
            raise LoweringError(f"input {name!r} has unknown type {type_name!r}")
        if type_name != "str":
            args.append(Arg.of("type", literal(type_name)))
        if decl.has_default:
            args.append(Arg.of("default", literal(decl.default)))
    return Call(ctx.rt("InputSpec"), tuple(args))


def _input_annotation(ctx: LowerContext, decl: ir.Input | None) -> str:
    if decl is None and not ctx.p.inputs_declared:
        return ctx.n["Any"]  # an inferred input takes any JSON value
    type_name = (decl.type if decl is not None else None) or "str"
    if type_name == _LIST_OF_ANY:
        return f"list[{ctx.n['Any']}]"
    return _INPUT_TYPES.get(type_name) or ctx.n["Any"]


def _inputs_typeddict(ctx: LowerContext, name: str) -> TypedDictView:
    declared = _declared(ctx.p)
    fields = []
    optional = analysis.optional_inputs(ctx.p)
    for key in analysis.effective_inputs(ctx.p):
        decl = declared.get(key)
        annotation = _input_annotation(ctx, decl)
        if (decl is not None and decl.has_default) or key in optional:
            annotation = f"{ctx.n['NotRequired']}[{annotation}]"
        fields.append(TypedDictField(key, literal(key), annotation))
    return _typeddict(ctx, name, fields)


def _outputs_typeddict(ctx: LowerContext, name: str) -> TypedDictView:
    p = ctx.p
    produced = analysis.produced_keys(p)
    declared = _declared(p)
    if p.outputs:
        keys = list(dict.fromkeys(o.name for o in p.outputs))
    else:
        keys = list(produced)
    skippable = _skippable_steps(p)
    fields = []
    for key in keys:
        check_identifier(key, "output")
        step = produced.get(key)
        if step is None:  # a declared output that is an input, passed through
            annotation = _input_annotation(ctx, declared.get(key))
        else:
            annotation = _step_output_annotation(ctx, step)
            if step.name in skippable:
                annotation = f"{ctx.n['NotRequired']}[{annotation}]"
        fields.append(TypedDictField(key, literal(key), annotation))
    return _typeddict(ctx, name, fields)


def _step_output_annotation(ctx: LowerContext, step: analysis.AnyStep) -> str:
    if isinstance(step, ir.LlmStep):
        return ctx.n["Any"] if step.output is not None else "str"
    if isinstance(step, ir.GroupStep):
        return f"dict[str, {ctx.n['Any']}]"
    if isinstance(step, ir.MapStep):
        return f"list[{ctx.n['Any']}]"
    return ctx.n["Any"]


def _typeddict(ctx: LowerContext, name: str, fields: list[TypedDictField]) -> TypedDictView:
    used_in_annotations = {
        "str",
        "int",
        "float",
        "bool",
        "dict",
        "list",
        ctx.n["Any"],
        ctx.n["NotRequired"],
    }
    # Class syntax would shadow a type the annotations use, or mangle a `__name` field to
    # `_Inputs__name`; the functional form keeps every key exactly.
    functional = any(f.name in used_in_annotations or f.name.startswith("__") for f in fields)
    return TypedDictView(name, tuple(fields), functional)


def _skippable_steps(p: ir.Pipeline) -> set[str]:
    """Names of steps (members included) that a false condition may skip, directly or upstream.

    Walks the top-level graph in topological order (iteratively: pipelines may be long).
    """
    deps = analysis.dependencies(p)
    by_name = {s.name: s for s in p.steps}
    dependants: dict[str, list[str]] = {name: [] for name in deps}
    pending = {name: 0 for name in deps}
    for name, needs in deps.items():
        for need in needs:
            if need in dependants:
                dependants[need].append(name)
                pending[name] += 1
    skippable: set[str] = set()
    ready = deque(name for name, count in pending.items() if count == 0)
    seen: set[str] = set()
    while ready:
        name = ready.popleft()
        seen.add(name)
        step = by_name.get(name)
        upstream = any(d in skippable for d in deps[name])
        if upstream or (step is not None and step.when is not None):
            skippable.add(name)
        for dependant in dependants[name]:
            pending[dependant] -= 1
            if pending[dependant] == 0:
                ready.append(dependant)
    skippable.update(name for name in deps if name not in seen)  # a cycle: be conservative
    for step in p.steps:
        if isinstance(step, ir.GroupStep):
            for member in step.steps:
                if step.name in skippable or member.when is not None:
                    skippable.add(member.name)
    return skippable


def _pipeline_call(
    ctx: LowerContext, inputs: tuple[Call, ...], steps: tuple[str, ...], source: str, sha: str
) -> Call:
    p = ctx.p
    args = [Arg.of("name", literal(p.name))]
    if p.version is not None:
        args.append(Arg.of("version", literal(p.version)))
    if p.description is not None:
        args.append(Arg.of("description", literal(p.description)))
    args.append(Arg.many("inputs", inputs))
    if p.outputs:
        args.append(Arg.of("outputs", literal(tuple(dict.fromkeys(o.name for o in p.outputs)))))
    args.append(Arg.of("steps", tuple_code(steps)))
    defaults = _defaults(ctx)
    if defaults is not None:
        args.append(Arg.nested("defaults", defaults))
    if p.providers:
        endpoints = tuple(_endpoint(ctx, e) for e in p.providers)
        args.append(Arg.many("endpoints", endpoints))
    metadata: dict[str, Any] = {
        "source": source, "source_sha256": sha, "compiler": f"mmoc {__version__}"
    }
    if p.metadata:
        metadata["pipeline"] = p.metadata  # the source's own `metadata`, for the trace
    args.append(Arg.of("metadata", literal(metadata)))
    if p.limits:
        args.append(Arg.of("limits", _limits_code(ctx)))
    if p.budget is not None:
        args.append(Arg.of("budget", literal(float(p.budget))))
    return Call(ctx.rt("PipelineSpec"), tuple(args))


def _limits_code(ctx: LowerContext) -> str:
    """`{"openai/gpt-4o": Limits(rpm=500.0, concurrency=16)}`: the `limit` statements."""
    entries = []
    for lim in ctx.p.limits:
        values = ((name, getattr(lim, name)) for name in ("rpm", "tpm", "burst"))
        fields = [f"{name}={literal(float(v))}" for name, v in values if v is not None]
        if lim.concurrency is not None:
            fields.append(f"concurrency={literal(int(lim.concurrency))}")
        # An alias is written as the model it stands for, as the steps' models are.
        target = analysis.resolve_model(ctx.p, lim.target)
        entries.append(f"{literal(target)}: {ctx.rt('Limits')}({', '.join(fields)})")
    return "{" + ", ".join(entries) + "}"


def _defaults(ctx: LowerContext) -> Call | None:
    """The pipeline-wide retry, breaker and timeout, stated once (the runtime applies them to
    the steps that leave them unset)."""
    p = ctx.p
    args: list[Arg] = []
    retry = analysis.retry_policy(p, p.defaults.retry)
    if retry is not None:
        args.append(Arg.of("retry", policy_code(ctx, retry)))
    breaker = analysis.breaker_policy(p, p.defaults.breaker)
    if breaker is not None:
        args.append(Arg.of("breaker", policy_code(ctx, breaker)))
    if p.defaults.timeout is not None:
        args.append(Arg.of("timeout", literal(float(p.defaults.timeout))))
    if p.defaults.cache is not None:
        args.append(Arg.nested("cache", cache_code(ctx, p.defaults.cache)))
    return Call(ctx.rt("StepDefaults"), tuple(args)) if args else None


def _endpoint(ctx: LowerContext, e: ir.Endpoint) -> Call:
    args = [Arg.of("name", literal(e.name)), Arg.of("base_url", literal(e.base_url))]
    if e.kind != "openai-compatible":
        args.append(Arg.of("kind", literal(e.kind)))
    if e.api_key_env is not None:
        args.append(Arg.of("api_key_env", literal(e.api_key_env)))
    return Call(ctx.rt("EndpointSpec"), tuple(args))


def _docstring(p: ir.Pipeline, source_path: str) -> str:
    first = p.description or f"The {p.name} pipeline."
    version = f", version {p.version}" if p.version else ""
    return (
        f"{first}\n\n"
        f"Pipeline {p.name}{version}.\n"
        f"Compiled by mmoc from {source_path}.\n"
        "Call run(inputs) or run_sync(inputs), or run this file as a script with\n"
        "--input KEY=VALUE (repeatable) and --mock to use the mock provider."
    )
