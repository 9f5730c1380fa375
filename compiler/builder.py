"""The Python builder API (seed-compatible): `Pipeline`, `PipelineExecutor`, `PipelineResult`.

A `Pipeline` collects IR steps (see `builder_steps`) and produces the same `ir.Pipeline` the
front ends produce. `PipelineExecutor` runs it through the same path as `mmoc compile` and
`mmoc run`: the IR is compiled to a module (`compile_pipeline(..., inline=True)`, so Python
callables given as transforms are allowed), the module is loaded with those callables injected,
and its `run_result` executes on `mmoc_runtime`. There is no second interpreter of the IR.

Declaration order: everywhere else it never matters, but a seed-style transform (a callable
with no declared `reads`, called as `fn(ctx)`) cannot say what it reads, so `add_step` makes it
run after every step added before it.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeGuard

from . import ir
from .builder_results import PipelineResult, result_from_run
from .builder_steps import StepNode
from .diagnostics import Diagnostic


class PipelineValidationError(ValueError):
    """A pipeline has errors; `diagnostics` carries every one of them (not only the first)."""

    def __init__(self, diagnostics: Iterable[Diagnostic], name: str = "pipeline") -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        lines = [f"{name} is not valid ({len(self.errors)} error(s)):"]
        lines.extend(f"  {_one_line(d)}" for d in self.diagnostics)
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def _one_line(d: Diagnostic) -> str:
    where = f"{d.span.file}:{d.span.line}:{d.span.column}: " if d.span is not None else ""
    text = f"{where}{d.level}[{d.code}]: {d.message}"
    return f"{text} (help: {d.help})" if d.help else text


def _input_node(item: str | ir.Input | tuple[str, str]) -> ir.Input:
    if isinstance(item, ir.Input):
        return item
    if isinstance(item, tuple):
        return ir.Input(name=item[0], type=item[1])
    return ir.Input(name=item)


class Pipeline:
    """A pipeline built in Python. `add_step` is chainable; `to_ir()` gives the IR."""

    def __init__(
        self,
        name: str,
        description: str | None = None,
        version: str | None = None,
        *,
        inputs: Iterable[str | ir.Input | tuple[str, str]] | Mapping[str, str] | None = None,
        outputs: Iterable[str] | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.version = version
        self.steps: list[StepNode] = []
        declared: list[ir.Input] = []
        if isinstance(inputs, Mapping):
            declared = [ir.Input(name=k, type=v) for k, v in inputs.items()]
        elif inputs is not None:
            declared = [_input_node(i) for i in inputs]
        # Everything the builder does not set itself (policies, aliases, endpoints) lives
        # here, so a pipeline loaded from YAML keeps it through `to_ir()`.
        self._base = ir.Pipeline(
            name=name,
            inputs_declared=inputs is not None,
            inputs=tuple(declared),
            outputs=tuple(ir.Ident(name=o) for o in outputs or ()),
        )

    # ---- building -------------------------------------------------------------------

    def add_step(self, step: StepNode) -> Pipeline:
        if not isinstance(step, (ir.LlmStep, ir.TransformStep, ir.GroupStep)):
            raise TypeError(
                f"add_step() takes a step from create_llm_step / create_transform_step / "
                f"create_parallel_group / create_conditional_step, not {type(step).__name__}"
            )
        if isinstance(step, ir.TransformStep) and step.pass_context:
            # The one place declaration order counts (see the module docstring).
            earlier = [ir.Ident(name=s.name) for s in self.steps]
            known = {a.name for a in step.after}
            step = step.model_copy(
                update={"after": (*step.after, *(e for e in earlier if e.name not in known))}
            )
        self.steps.append(step)
        return self

    def get_step(self, name: str) -> StepNode | None:
        for step in self.steps:
            if step.name == name:
                return step
        return None

    # ---- IR and checks --------------------------------------------------------------

    def to_ir(self) -> ir.Pipeline:
        return self._base.model_copy(
            update={
                "name": self.name,
                "description": self.description,
                "version": self.version,
                "steps": tuple(self.steps),
            }
        )

    @classmethod
    def from_ir(cls, p: ir.Pipeline) -> Pipeline:
        pipeline = cls(p.name, p.description, p.version)
        pipeline._base = p.model_copy(update={"steps": ()})
        pipeline.steps = list(p.steps)
        return pipeline

    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic the checks report (warnings included); never raises."""
        from .checks import run_checks

        return list(run_checks(self.to_ir()))

    def validate(self) -> list[Diagnostic]:
        """Run every check; raise one `PipelineValidationError` carrying all diagnostics when
        any is an error, else return the warnings."""
        found = self.diagnostics()
        if any(d.is_error for d in found):
            raise PipelineValidationError(found, f"pipeline {self.name!r}")
        return found

    # ---- YAML -----------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, file: str = "<yaml>") -> Pipeline:
        from .frontend_yaml import parse_yaml

        p, diagnostics = parse_yaml(text, file)
        if p is None or any(d.is_error for d in diagnostics):
            raise PipelineValidationError(diagnostics, file)
        return cls.from_ir(p)

    @classmethod
    def from_yaml_file(cls, path: str | Path) -> Pipeline:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FileNotFoundError(f"cannot read pipeline {str(path)!r}: {exc}") from exc
        return cls.from_yaml(text, str(path))

    @classmethod
    def from_mmo(cls, text: str, file: str = "<mmo>") -> Pipeline:
        from .frontend_mmo import parse_mmo

        p, diagnostics = parse_mmo(text, file)
        if p is None or any(d.is_error for d in diagnostics):
            raise PipelineValidationError(diagnostics, file)
        return cls.from_ir(p)

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """A `.mmo` or YAML file (by suffix); syntax and schema errors raise, as `from_yaml`."""
        if Path(path).suffix == ".mmo":
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise FileNotFoundError(f"cannot read pipeline {str(path)!r}: {exc}") from exc
            return cls.from_mmo(text, str(path))
        return cls.from_yaml_file(path)

    def to_mmo(self) -> str:
        self._refuse_inline("as .mmo")
        from .printer import print_mmo

        return print_mmo(self.to_ir())

    def _refuse_inline(self, what: str) -> None:
        inline = [s.name for s in _all_steps(self.steps) if _is_inline(s)]
        if inline:
            raise ValueError(
                f"cannot write pipeline {self.name!r} {what}: transform(s) "
                f"{', '.join(inline)} are Python callables; give them as 'package.module:function'"
            )

    def to_yaml(self) -> str:
        self._refuse_inline("as YAML")
        from .yaml_printer import print_yaml

        return print_yaml(self.to_ir())

    # ---- code -----------------------------------------------------------------------

    def to_python(self, source_path: str | None = None) -> str:
        """The module `mmoc compile` would write for this pipeline.

        Raises `PipelineValidationError` on any error, including MMO701 for a transform given
        as a Python callable: a file needs `"package.module:function"` instead.
        """
        from .compile import compile_pipeline

        shown = source_path or f"builder:{self.name}"
        compiled = compile_pipeline(self.to_ir(), source_path=shown, source_text="")
        if not compiled.ok or compiled.code is None:
            raise PipelineValidationError(compiled.diagnostics, f"pipeline {self.name!r}")
        return compiled.code

    def __repr__(self) -> str:
        return f"Pipeline(name={self.name!r}, steps={[s.name for s in self.steps]!r})"


def _all_steps(steps: Iterable[StepNode]) -> list[StepNode]:
    out: list[StepNode] = []
    for step in steps:
        out.append(step)
        if isinstance(step, ir.GroupStep):
            out.extend(step.steps)
    return out


def _is_inline(step: StepNode) -> TypeGuard[ir.TransformStep]:
    return isinstance(step, ir.TransformStep) and step.callable is not None


# ---- the executor -----------------------------------------------------------------------

_module_numbers = itertools.count(1)
_MODULE_CACHE_SIZE = 32


def compile_to_module(p: ir.Pipeline) -> Any:
    """Compile the IR in memory (inline callables allowed) and load it as a module.

    Raises `PipelineValidationError` with every diagnostic when the pipeline has errors.
    """
    from .compile import compile_pipeline, load_module

    source_path = f"<builder:{p.name}>"
    compiled = compile_pipeline(p, source_path=source_path, source_text="", inline=True)
    if not compiled.ok or compiled.code is None:
        raise PipelineValidationError(compiled.diagnostics, f"pipeline {p.name!r}")
    inline = {s.name: s.callable for s in p.all_steps() if _is_inline(s)}
    name = f"mmoc_builder_{next(_module_numbers)}_{p.name}"
    module = load_module(compiled.code, name, inline_transforms=inline)
    # Only needed in sys.modules while its classes are created; a long-lived app building
    # many pipelines should not accumulate them there.
    sys.modules.pop(name, None)
    return module


def _cache_key(p: ir.Pipeline) -> tuple[str, tuple[tuple[str, int], ...]]:
    """Same meaning and the same callables: the same compiled module."""
    callables = tuple((s.name, id(s.callable)) for s in p.all_steps() if _is_inline(s))
    return p.model_dump_json(), callables


class PipelineExecutor:
    """Runs builder pipelines. `mock=True` by default, as the seed's executor: every model is
    answered by the mock provider, so no API keys are needed; `mock=False` uses real
    providers (optionally a `providers` registry of your own).

    Other keyword options (`observer`, `concurrency`, `model_concurrency`, `breakers`,
    `capture_content`, `sleep`, `clock`, ...) are passed to the runtime's `execute`.
    """

    def __init__(self, mock: bool = True, providers: Any = None, **options: Any) -> None:
        self.mock = mock
        self.providers = providers
        self.options = options
        # Compiling (codegen + black) costs far more than a mock run: reuse modules.
        self._modules: dict[tuple[str, tuple[tuple[str, int], ...]], Any] = {}

    def _module_for(self, p: ir.Pipeline) -> Any:
        key = _cache_key(p)
        module = self._modules.get(key)
        if module is None:
            module = compile_to_module(p)
            if len(self._modules) >= _MODULE_CACHE_SIZE:
                self._modules.pop(next(iter(self._modules)))
            # Keep the callables alive with the entry so their ids cannot be reused.
            self._modules[key] = module
        return module

    def execute(
        self, pipeline: Pipeline | ir.Pipeline, inputs: Mapping[str, Any] | None = None
    ) -> PipelineResult:
        """Run synchronously (not from inside a running event loop: use `aexecute` there)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.aexecute(pipeline, inputs))
        raise RuntimeError(
            "PipelineExecutor.execute() cannot run inside a running event loop "
            "(a notebook, an async app): use `await executor.aexecute(pipeline, inputs)`"
        )

    async def aexecute(
        self, pipeline: Pipeline | ir.Pipeline, inputs: Mapping[str, Any] | None = None
    ) -> PipelineResult:
        """Compile and run. Pipeline errors raise `PipelineValidationError`; a run that fails
        (bad inputs included, before any model call) returns `success=False` with `error`."""
        from mmoc_runtime import InputError

        p = pipeline.to_ir() if isinstance(pipeline, Pipeline) else pipeline
        module = self._module_for(p)
        options = dict(self.options)
        options["mock"] = self.mock
        if self.providers is not None:
            options["providers"] = self.providers
        try:
            run = module.run_result(dict(inputs or {}), **options)
            if inspect.isawaitable(run):
                run = await run
        except InputError as exc:
            return PipelineResult(pipeline_name=p.name, success=False, error=str(exc))
        return result_from_run(p, run)
