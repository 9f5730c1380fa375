"""mmoc: a compiler for declarative multi-LLM pipelines (.mmo or YAML in, typed Python out).

The seed-compatible Python API is importable from here. Names are resolved lazily (PEP 562),
so `import mmoc` stays light: the CLI and the compiler passes load only what they use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name -> module that defines it (runtime classes are the runtime's own objects), or
# "module:name" where the defining module calls it something else.
_EXPORTS: dict[str, str] = {
    "Pipeline": "mmoc.builder.pipeline",
    "PipelineExecutor": "mmoc.builder.executor",
    "PipelineResult": "mmoc.builder.results",
    "PipelineValidationError": "mmoc.builder.pipeline",
    "AsyncPipelineExecutor": "mmoc.builder.executor",
    "ValidationMessage": "mmoc.builder.pipeline",
    "mock_model_call": "mmoc.builder.executor",
    "PipelineStep": "mmoc.builder.steps",
    "StepType": "mmoc.builder.views",
    "StepResult": "mmoc.builder.results",
    "create_llm_step": "mmoc.builder.steps",
    "create_transform_step": "mmoc.builder.steps",
    "create_parallel_group": "mmoc.builder.steps",
    "create_conditional_step": "mmoc.builder.steps",
    "PipelineObserver": "mmoc_runtime.observer",
    "RetryStrategy": "mmoc_runtime.retry",
    "BackoffStrategy": "mmoc_runtime.retry",
    "FallbackChain": "mmoc_runtime.fallback",
    "CircuitBreaker": "mmoc_runtime.breaker",
    # The seed's tracing and retry helpers, where the runtime defines them.
    "PipelineTrace": "mmoc_runtime.trace:Trace",  # what `build_trace_from_result` returns
    "StepTrace": "mmoc_runtime.trace",
    "with_retry": "mmoc_runtime.retry",
}

__all__ = [
    "AsyncPipelineExecutor",
    "BackoffStrategy",
    "CircuitBreaker",
    "FallbackChain",
    "Pipeline",
    "PipelineExecutor",
    "PipelineObserver",
    "PipelineResult",
    "PipelineStep",
    "PipelineTrace",
    "PipelineValidationError",
    "RetryStrategy",
    "StepResult",
    "StepTrace",
    "StepType",
    "ValidationMessage",
    "__version__",
    "create_conditional_step",
    "create_llm_step",
    "create_parallel_group",
    "create_transform_step",
    "mock_model_call",
    "with_retry",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # set with the runtime's (one place for both): lazy too
        from .version import __version__

        globals()[name] = __version__
        return __version__
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'mmoc' has no attribute {name!r}")
    module, _, defined_as = where.partition(":")
    value = getattr(import_module(module), defined_as or name)
    globals()[name] = value  # cache: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
