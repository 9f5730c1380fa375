"""Runs builder pipelines: `PipelineExecutor`, `AsyncPipelineExecutor`, `mock_model_call`.

A run takes the same path as `mmoc compile` and `mmoc run`: the IR is compiled to a module
(`inline=True`, so Python callables given as transforms are allowed), the module is loaded with
those callables injected, and its `run_result` executes on `mmoc_runtime`. There is no second
interpreter of the IR. The adapters here fit the seed's parameters onto the runtime: a
`model_fn` becomes a provider (`ModelFnProvider`), `on_step_start`/`on_step_end` become an
observer (`SeedCallbacks`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .. import ir
from .pipeline import Pipeline, compile_checked
from .results import PipelineResult, StepResult, result_from_run, step_result_from_trace
from .steps import all_steps, is_inline
from .values import retry_policy_from_strategy

_module_numbers = itertools.count(1)
_MODULE_CACHE_SIZE = 32


def compile_to_module(p: ir.Pipeline) -> Any:
    """Compile the IR in memory (inline callables allowed) and load it as a module.

    Raises `PipelineValidationError` with every diagnostic when the pipeline has errors.
    """
    from ..modules import load_module

    # Executed, never read: no black, no sanity compile (`load_module` compiles it).
    code = compile_checked(p, f"<builder:{p.name}>", inline=True, format=False)
    inline = {s.name: s.callable for s in p.all_steps() if is_inline(s)}
    name = f"mmoc_builder_{next(_module_numbers)}_{p.name}"
    module = load_module(code, name, inline_transforms=inline)
    # Only needed in sys.modules while its classes are created; a long-lived app building
    # many pipelines should not accumulate them there.
    sys.modules.pop(name, None)
    return module


def _cache_key(p: ir.Pipeline) -> tuple[str, tuple[tuple[str, int], ...]]:
    """Same meaning and the same callables: the same compiled module."""
    callables = tuple((s.name, id(s.callable)) for s in p.all_steps() if is_inline(s))
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
            result = step_result_from_trace(entry, entry.get("output"))
            self.on_end(self.steps.get(step_trace.name, step_trace.name), result)
        self._forward("on_step_end", step_trace)


def _observer_behind(callback: Any) -> Any:
    """The runtime observer a callback is a bound method of (`observer.on_step_start`, the
    seed's way to attach one), else None."""
    from mmoc_runtime.observer import PipelineObserver

    owner = getattr(callback, "__self__", None)
    return owner if isinstance(owner, PipelineObserver) else None


def _seed_inputs(
    inputs: Mapping[str, Any] | None, initial_input: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """`inputs`, or the seed's `initial_input=` keyword for it (not both)."""
    if initial_input is None:
        return inputs
    if inputs is not None:
        raise TypeError("execute() got both inputs and initial_input (the seed's name for "
                        "inputs): give one")
    return initial_input


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
            by_name = {s.name: s for s in all_steps(views)}
            inner = SeedCallbacks(by_name, start, end, inner)
        if inner is not None:
            options["observer"] = inner
        return options

    def execute(
        self,
        pipeline: Pipeline | ir.Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        initial_input: Mapping[str, Any] | None = None,
    ) -> PipelineResult:
        """Run synchronously (not from inside a running event loop: use `aexecute` there).
        `initial_input=` is the seed's name for `inputs`."""
        inputs = _seed_inputs(inputs, initial_input)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.aexecute(pipeline, inputs))
        raise RuntimeError(
            "PipelineExecutor.execute() cannot run inside a running event loop "
            "(a notebook, an async app): use `await executor.aexecute(pipeline, inputs)`"
        )

    async def aexecute(
        self,
        pipeline: Pipeline | ir.Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        initial_input: Mapping[str, Any] | None = None,
    ) -> PipelineResult:
        """Compile and run. Pipeline errors raise `PipelineValidationError`; a run that fails
        (bad inputs included, before any model call) returns `success=False` with `error`."""
        from mmoc_runtime import InputError

        inputs = _seed_inputs(inputs, initial_input)

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
        self,
        pipeline: Pipeline | ir.Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        initial_input: Mapping[str, Any] | None = None,
    ) -> PipelineResult:
        return await self.aexecute(pipeline, inputs, initial_input=initial_input)
