"""Conditions and transforms: functions, arity, keys in `when`, transform paths."""

from __future__ import annotations

from collections.abc import Iterator

from mmoc_runtime.transforms import BUILTIN_ARITY, BUILTINS

from .. import ir
from ..analysis import effective_inputs, produced_keys, walk_expr
from ..diagnostics.model import Diagnostic
from ..identifiers import is_identifier
from .support import did_you_mean, first_span, name_span, step_contexts

FUNCTIONS = ("len", "exists")


def check_conditions(p: ir.Pipeline) -> Iterator[Diagnostic]:
    known = set(produced_keys(p)) | set(effective_inputs(p))
    for ctx in step_contexts(p):
        step = ctx.step
        if step.when is None:
            continue
        where = f"the condition of step `{step.name}`"
        for node in walk_expr(step.when):
            span = first_span(node, step.when, name_span(step))
            if isinstance(node, ir.CallExpr):
                if node.func not in FUNCTIONS:
                    yield Diagnostic(
                        "MMO603",
                        f"{where} calls `{node.func}()`; conditions may call only "
                        + " and ".join(f"{f}()" for f in FUNCTIONS),
                        span,
                        label="unknown function",
                        help=did_you_mean(node.func, FUNCTIONS),
                    )
                elif len(node.args) != 1:
                    yield Diagnostic(
                        "MMO601",
                        f"{where}: `{node.func}()` takes one argument, "
                        f"got {len(node.args)}",
                        span,
                    )
                elif node.func == "exists" and not isinstance(node.args[0], ir.KeyExpr):
                    yield Diagnostic(
                        "MMO601", f"{where}: `exists()` takes a key name", span
                    )
            elif isinstance(node, ir.KeyExpr) and node.name not in known:
                yield Diagnostic(
                    "MMO601",
                    f"{where} uses `{node.name}`, which is neither an input nor the output "
                    "of any step",
                    span,
                    label="unknown key",
                    help=did_you_mean(node.name, known),
                )
            elif isinstance(node, ir.BoolExpr) and len(node.operands) < 2:
                yield Diagnostic(
                    "MMO601", f"{where}: `{node.op}` needs two operands", span
                )


def _is_import_path(function: str) -> bool:
    module, colon, attr = function.partition(":")
    if not colon or not module or not attr:
        return False
    return all(is_identifier(part) for part in module.split(".")) and is_identifier(attr)


def check_transforms(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for step in p.all_steps():
        if not isinstance(step, ir.TransformStep) or step.callable is not None:
            continue  # an in-process callable from the builder API is codegen's concern
        if ":" in step.function:
            if _is_import_path(step.function):
                continue
            yield Diagnostic(
                "MMO602",
                f"transform `{step.name}` names `{step.function}`, which is not a "
                "`package.module:function` path",
                name_span(step),
                label="not an import path",
                help="write the callable as `package.module:function`",
            )
            continue
        if step.function in BUILTINS:
            least, most = BUILTIN_ARITY.get(step.function, (1, 1))
            if not least <= len(step.reads) <= most:  # a function of its keys' values
                got = ", ".join(f"`{r.name}`" for r in step.reads) or "none"
                takes = "exactly one key" if most == 1 else f"{least} to {most} keys"
                yield Diagnostic(
                    "MMO602",
                    f"transform `{step.name}` uses the built-in `{step.function}`, which takes "
                    f"{takes}; it reads {len(step.reads)} ({got})",
                    name_span(step),
                    label=f"`{step.function}` takes {takes}",
                    help="read one key (YAML: `reads: [key]`), or chain one transform per key"
                    if most == 1 else f"`{step.function}(text, ...)`: see docs/language.md",
                )
            continue
        hint = did_you_mean(step.function, BUILTINS)
        yield Diagnostic(
            "MMO602",
            f"transform `{step.name}` uses `{step.function}`, which is neither a built-in "
            "nor a `package.module:function` path",
            name_span(step),
            label="unknown transform",
            help=hint or "built-ins: " + ", ".join(BUILTINS),
        )


CHECKS = (check_conditions, check_transforms)
