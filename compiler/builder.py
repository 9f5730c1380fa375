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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Self, TypeGuard

from . import ir
from .builder_results import PipelineResult, StepResult, result_from_run
from .builder_steps import PipelineStep, StepNode, plain_step, seed_step
from .diagnostics import Diagnostic

# The seed's default, shown by `Pipeline.version` when none was given (the IR keeps None, so
# a printed `.mmo` or YAML file does not gain a version line it never had).
DEFAULT_VERSION = "1.0"


class PipelineValidationError(ValueError):
    """A pipeline has errors; `diagnostics` carries every one of them (not only the first)."""

    def __init__(
        self, diagnostics: Iterable[Diagnostic], name: str = "pipeline", title: str | None = None
    ) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        heading = title or f"{name} is not valid"
        lines = [f"{heading} ({len(self.errors)} error(s)):"]
        lines.extend(f"  {_one_line(d)}" for d in self.diagnostics)
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class ValidationMessage(str):
    """One error from `Pipeline.validate()`: the one-line text (a `str`, as the seed's
    messages were), with the diagnostic behind it in `.diagnostic` and its `.code`."""

    diagnostic: Diagnostic

    def __new__(cls, diagnostic: Diagnostic) -> Self:
        message = super().__new__(cls, _one_line(diagnostic))
        message.diagnostic = diagnostic
        return message

    @property
    def code(self) -> str:
        return self.diagnostic.code


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
        steps: Iterable[StepNode] | None = None,
        metadata: Mapping[str, Any] | None = None,
        inputs: Iterable[str | ir.Input | tuple[str, str]] | Mapping[str, str] | None = None,
        outputs: Iterable[str] | None = None,
    ) -> None:
        if isinstance(description, (list, tuple)):
            # The seed's positional order was (name, steps, description, version).
            steps, description, version = description, version, None
        self.name = name
        self.description = description or ""  # the seed's default; the IR keeps None
        self._version = version
        self.metadata: dict[str, Any] = dict(metadata or {})
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
        for step in steps or ():
            self.add_step(step)

    @property
    def version(self) -> str:
        return self._version or DEFAULT_VERSION

    @version.setter
    def version(self, value: str | None) -> None:
        self._version = value

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
        self.steps.append(seed_step(step))
        return self

    def __len__(self) -> int:
        return len(self.steps)

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
                "description": self.description or None,
                "version": self._version,
                "steps": tuple(plain_step(s) for s in self.steps),
            }
        )

    @classmethod
    def from_ir(cls, p: ir.Pipeline) -> Pipeline:
        pipeline = cls(p.name, p.description, p.version)
        pipeline._base = p.model_copy(update={"steps": ()})
        pipeline.steps = [seed_step(s) for s in p.steps]
        return pipeline

    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic the checks report (warnings included); never raises."""
        from .checks import run_checks

        return list(run_checks(self.to_ir()))

    def validate(self) -> list[ValidationMessage]:
        """Run every check `mmoc check` runs and return the errors, all of them, as one-line
        messages (`str`, with `.diagnostic` and `.code`); an empty list means valid. Warnings
        are not errors: see `diagnostics()`."""
        return [ValidationMessage(d) for d in self.diagnostics() if d.is_error]

    def check(self) -> list[Diagnostic]:
        """Run every check; raise one `PipelineValidationError` carrying all diagnostics when
        any is an error, else return the warnings."""
        found = self.diagnostics()
        if any(d.is_error for d in found):
            raise PipelineValidationError(found, f"pipeline {self.name!r}")
        return found

    # ---- the seed's dict form -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict: name, version, description, steps (each `step.to_dict()`)."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description or "",
            "steps": [s.to_dict() if isinstance(s, PipelineStep) else s for s in self.steps],
        }
        if self.metadata:
            out["metadata"] = self.metadata
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "<dict>") -> Pipeline:
        """A pipeline from the seed's YAML schema given as a dict (read as `from_yaml`
        reads it, so the same mistakes are reported the same way)."""
        import yaml

        if not isinstance(data, Mapping):
            raise PipelineValidationError(
                [], file, title=f"Invalid pipeline: expected a mapping, not {type(data).__name__}"
            )
        # `metadata` is the seed's free-form field: kept on the object, not part of the IR.
        body = {k: v for k, v in data.items() if k != "metadata"}
        pipeline = cls.from_yaml(yaml.safe_dump(body, sort_keys=False), file)
        pipeline.metadata = dict(data.get("metadata") or {})
        return pipeline

    # ---- YAML -----------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, file: str = "<yaml>") -> Pipeline:
        from .frontend_yaml import parse_yaml

        p, diagnostics = parse_yaml(text, file)
        if p is None or any(d.is_error for d in diagnostics):
            raise PipelineValidationError(diagnostics, file, title=f"Invalid YAML pipeline {file}")
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
        return (f"Pipeline(name={self.name!r}, version={self.version!r}, "
                f"steps={[s.name for s in self.steps]!r})")


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


ModelCallable = Callable[[str, str, dict[str, Any]], Any]
"""The seed's model function: (model name, rendered prompt, context) -> text."""


def mock_model_call(model: str, prompt: str, context: Mapping[str, Any]) -> str:
    """A stand-in model function, as the seed's: answers with the model name and the start of
    the prompt, never calling anything."""
    flat = prompt.replace("\n", " ")
    shown = f"{flat[:80]}..." if len(flat) > 80 else flat
    return f"[Mock {model} response] Processed: '{shown}'"


class ModelFnProvider:
    """A provider that answers every call with the seed's `model_fn(model, prompt, ctx)`.

    The prompt arrives rendered; `ctx` is an empty mapping, because the runtime hands a
    provider the request, not the run's values. Token counts are estimates from the text."""

    name = "mock"

    def __init__(self, model_fn: ModelCallable) -> None:
        self.model_fn = model_fn

    async def complete(self, request: Any) -> Any:
        from mmoc_runtime.providers.base import LlmResponse, estimate_tokens

        # A thread, so a blocking client inside model_fn does not stall the other steps.
        text = await asyncio.to_thread(self.model_fn, request.model, request.prompt, {})
        text = text if isinstance(text, str) else str(text)
        return LlmResponse(
            text=text,
            input_tokens=estimate_tokens(request.prompt),
            output_tokens=estimate_tokens(text),
            tokens_estimated=True,
            model=request.model,
        )

    async def aclose(self) -> None:
        return None


class SeedCallbacks:
    """Calls the seed's `on_step_start(step)` and `on_step_end(step, result)` from the
    runtime's observer events (for steps that started; a skipped step gets neither, as in the
    seed), and passes every event on to `inner`, the observer given with `observer=`."""

    def __init__(self, steps: Mapping[str, Any], on_start: Any, on_end: Any, inner: Any) -> None:
        self.steps = steps
        self.on_start = on_start
        self.on_end = on_end
        self.inner = inner
        self.started: set[str] = set()

    @property
    def traces(self) -> Any:
        """The inner observer's trace list: the runtime keeps each run's trace there."""
        return getattr(self.inner, "traces", None)

    def _forward(self, event: str, *args: Any) -> None:
        method = getattr(self.inner, event, None) if self.inner is not None else None
        if method is not None:
            method(*args)

    def on_run_start(self, trace: Any) -> None:
        self._forward("on_run_start", trace)

    def on_attempt(self, step_name: str, attempt: Any) -> None:
        self._forward("on_attempt", step_name, attempt)

    def on_run_end(self, trace: Any) -> None:
        self._forward("on_run_end", trace)

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        self.started.add(step_name)
        if self.on_start is not None:
            self.on_start(self.steps.get(step_name, step_name))
        self._forward("on_step_start", step_name, kind, model)

    def on_step_end(self, step_trace: Any) -> None:
        if self.on_end is not None and step_trace.name in self.started:
            entry = step_trace.to_dict()
            result = StepResult(
                step_name=step_trace.name, status=entry.get("status") or "not_run",
                output=entry.get("output"), error=entry.get("error"),
                model=entry.get("model"), model_used=entry.get("model_used"),
                input_tokens=entry.get("input_tokens") or 0,
                output_tokens=entry.get("output_tokens") or 0,
                cost_usd=entry.get("cost_usd") or 0.0, latency_ms=entry.get("latency_ms") or 0.0,
            )
            self.on_end(self.steps.get(step_trace.name, step_trace.name), result)
        self._forward("on_step_end", step_trace)


def _observer_behind(callback: Any) -> Any:
    """The runtime observer a callback is a bound method of (`observer.on_step_start`, the
    seed's way to attach one), else None."""
    from mmoc_runtime.observer import PipelineObserver

    owner = getattr(callback, "__self__", None)
    return owner if isinstance(owner, PipelineObserver) else None


class PipelineExecutor:
    """Runs builder pipelines. The seed's parameters: `model_fn(model, prompt, ctx) -> text`
    answers every llm call (default: the mock provider, so no API keys are needed),
    `retry_strategy` is the retry of every step without its own, `on_step_start(step)` and
    `on_step_end(step, result)` are called around each step that runs.

    `mock=False` uses real providers (optionally a `providers` registry of your own). Other
    keyword options (`observer`, `concurrency`, `model_concurrency`, `breakers`,
    `capture_content`, `sleep`, `clock`, ...) are passed to the runtime's `execute`.
    """

    def __init__(
        self,
        model_fn: ModelCallable | None = None,
        retry_strategy: Any = None,
        on_step_start: Callable[[Any], Any] | None = None,
        on_step_end: Callable[[Any, StepResult], Any] | None = None,
        *,
        mock: bool = True,
        providers: Any = None,
        **options: Any,
    ) -> None:
        self.model_fn = model_fn
        self.retry_strategy = retry_strategy
        self.on_step_start = on_step_start
        self.on_step_end = on_step_end
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

    def _with_default_retry(self, p: ir.Pipeline) -> ir.Pipeline:
        if self.retry_strategy is None or p.defaults.retry is not None:
            return p
        from .builder_steps import retry_policy_from_strategy

        policy = retry_policy_from_strategy(self.retry_strategy)
        return p.model_copy(update={"defaults": p.defaults.model_copy(update={"retry": policy})})

    def _for_model_fn(self, p: ir.Pipeline) -> ir.Pipeline:
        """With a `model_fn`, a model name is whatever that function understands (the seed
        accepted any string): names the catalog does not know go to it as `mock/<name>`,
        which the checks accept and which reaches the function as `<name>`."""
        if self.model_fn is None:
            return p
        from mmoc_runtime.catalog import CATALOG

        def known(ref: ir.ModelRef) -> ir.ModelRef:
            base = ref.id.partition("?")[0]
            if "/" in base or base in CATALOG or not base:
                return ref
            return ref.model_copy(update={"id": f"mock/{ref.id}"})

        def step_for(step: Any) -> Any:
            if isinstance(step, ir.GroupStep):
                return step.model_copy(update={"steps": tuple(step_for(m) for m in step.steps)})
            if isinstance(step, ir.LlmStep):
                fallback = tuple(known(m) for m in step.fallback) if step.fallback else step.fallback
                return step.model_copy(update={"model": known(step.model), "fallback": fallback})
            return step

        return p.model_copy(update={"steps": tuple(step_for(s) for s in p.steps)})

    def _run_options(self, pipeline: Pipeline | ir.Pipeline, p: ir.Pipeline) -> dict[str, Any]:
        options = dict(self.options)
        options["mock"] = self.mock or self.model_fn is not None
        if self.model_fn is not None:
            from mmoc_runtime.providers import ProviderRegistry

            registry = ProviderRegistry()
            registry.register("mock", ModelFnProvider(self.model_fn))
            options["providers"] = registry
        elif self.providers is not None:
            options["providers"] = self.providers
        start, end = self.on_step_start, self.on_step_end
        inner = options.get("observer")
        # `on_step_start=observer.on_step_start` (the seed's way) attaches that observer itself.
        for callback in (start, end):
            owner = _observer_behind(callback)
            if owner is not None:
                inner = owner
        start = None if _observer_behind(start) is not None else start
        end = None if _observer_behind(end) is not None else end
        if start is not None or end is not None:
            views = pipeline.steps if isinstance(pipeline, Pipeline) else p.steps
            by_name = {s.name: s for s in _all_steps(views)}
            inner = SeedCallbacks(by_name, start, end, inner)
        if inner is not None:
            options["observer"] = inner
        return options

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
        p = self._for_model_fn(self._with_default_retry(p))
        module = self._module_for(p)
        options = self._run_options(pipeline, p)
        try:
            run = module.run_result(dict(inputs or {}), **options)
            if inspect.isawaitable(run):
                run = await run
        except InputError as exc:
            return PipelineResult(pipeline_name=p.name, success=False, error=str(exc))
        return result_from_run(p, run)


class AsyncPipelineExecutor(PipelineExecutor):
    """The seed's async executor: `await AsyncPipelineExecutor().execute(pipeline, inputs)`."""

    async def execute(  # type: ignore[override]
        self, pipeline: Pipeline | ir.Pipeline, inputs: Mapping[str, Any] | None = None
    ) -> PipelineResult:
        return await self.aexecute(pipeline, inputs)
