"""mmoc_runtime: the thin async runtime that generated pipeline modules import.

Standard library only (aiohttp is imported lazily, by the real providers). Nothing here imports
the compiler or its dependencies. Generated code imports only the names in `__all__`.

Every public name loads on first use (PEP 562), so importing one submodule (the compiler
reads `mmoc_runtime.template` and `mmoc_runtime.catalog`) does not load the executor and the
providers; a generated module, which imports what it runs, pays for exactly that.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public name -> (submodule, name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "ABI_VERSION": ("abi", "ABI_VERSION"),
    "AbiMismatchError": ("errors", "AbiMismatchError"),
    "AttemptTrace": ("trace", "AttemptTrace"),
    "BackoffStrategy": ("retry", "BackoffStrategy"),
    "BatchControl": ("batch", "BatchControl"),
    "Budget": ("budget", "Budget"),
    "BudgetExceeded": ("budget", "BudgetExceeded"),
    "LimiterRegistry": ("limiter", "LimiterRegistry"),
    "Limits": ("limiter", "Limits"),
    "RowResult": ("batch", "RowResult"),
    "default_limiters": ("limiter", "default_limiters"),
    "read_rows": ("batch", "read_rows"),
    "run_batch": ("backends", "run_batch"),
    "BreakerPolicy": ("spec", "BreakerPolicy"),
    "BreakerRegistry": ("breaker", "BreakerRegistry"),
    "CachePolicy": ("spec", "CachePolicy"),
    "Cassette": ("cassette", "Cassette"),
    "CircuitBreaker": ("breaker", "CircuitBreaker"),
    "CompiledPipeline": ("compiled", "CompiledPipeline"),
    "CircuitOpenError": ("errors", "CircuitOpenError"),
    "ConfigError": ("errors", "ConfigError"),
    "EndpointSpec": ("spec", "EndpointSpec"),
    "FallbackChain": ("fallback", "FallbackChain"),
    "FallbackExhaustedError": ("errors", "FallbackExhaustedError"),
    "InputError": ("errors", "InputError"),
    "InputSpec": ("spec", "InputSpec"),
    "LlmError": ("errors", "LlmError"),
    "LlmRequest": ("providers.base", "LlmRequest"),
    "LlmResponse": ("providers.base", "LlmResponse"),
    "LlmStep": ("spec", "LlmStep"),
    "MapStep": ("spec", "MapStep"),
    "MmocRuntimeError": ("errors", "MmocRuntimeError"),
    "MockProvider": ("providers", "MockProvider"),
    "OutputFormat": ("spec", "OutputFormat"),
    "ParallelGroup": ("spec", "ParallelGroup"),
    "PipelineFailed": ("result", "PipelineFailed"),
    "PipelineObserver": ("observer", "PipelineObserver"),
    "PipelineSpec": ("spec", "PipelineSpec"),
    "Provider": ("providers.base", "Provider"),
    "ProviderRegistry": ("providers", "ProviderRegistry"),
    "ResponseCache": ("response_cache", "ResponseCache"),
    "REQUIRED": ("spec", "REQUIRED"),
    "StepDefaults": ("spec", "StepDefaults"),
    "RUNTIME_VERSION": ("abi", "RUNTIME_VERSION"),
    "RetryStrategy": ("retry", "RetryStrategy"),
    "RunResult": ("result", "RunResult"),
    "StepTrace": ("trace", "StepTrace"),
    "TRACE_SCHEMA_VERSION": ("trace", "SCHEMA_VERSION"),
    "TemplateError": ("errors", "TemplateError"),
    "Trace": ("trace", "Trace"),
    "TransformStep": ("spec", "TransformStep"),
    "check_abi": ("abi", "check_abi"),
    "default_breakers": ("breaker", "default_breakers"),
    "default_registry": ("providers", "default_registry"),
    "execute": ("executor", "execute"),
    "execute_sync": ("executor", "execute_sync"),
    "stream": ("streaming", "stream"),
    "Event": ("events", "Event"),
    "RunStarted": ("events", "RunStarted"),
    "StepStarted": ("events", "StepStarted"),
    "TextDelta": ("events", "TextDelta"),
    "Retrying": ("events", "Retrying"),
    "FallbackUsed": ("events", "FallbackUsed"),
    "StepFinished": ("events", "StepFinished"),
    "RunFinished": ("events", "RunFinished"),
    "parse_input_text": ("script", "parse_input_text"),
    "run": ("executor", "run"),
    "run_sync": ("executor", "run_sync"),
    "script_main": ("script", "main"),
    "with_retry": ("retry", "with_retry"),
    "__version__": ("abi", "RUNTIME_VERSION"),
}
_SUBMODULES = frozenset({"conditions", "transforms"})

if TYPE_CHECKING:
    from . import conditions, transforms
    from .abi import ABI_VERSION, check_abi
    from .abi import RUNTIME_VERSION as RUNTIME_VERSION
    from .abi import RUNTIME_VERSION as __version__
    from .backends import run_batch
    from .batch import BatchControl, RowResult, read_rows
    from .breaker import BreakerRegistry, CircuitBreaker, default_breakers
    from .budget import Budget, BudgetExceeded
    from .cassette import Cassette
    from .compiled import CompiledPipeline
    from .errors import (
        AbiMismatchError,
        CircuitOpenError,
        ConfigError,
        FallbackExhaustedError,
        InputError,
        LlmError,
        MmocRuntimeError,
        TemplateError,
    )
    from .events import (
        Event,
        FallbackUsed,
        Retrying,
        RunFinished,
        RunStarted,
        StepFinished,
        StepStarted,
        TextDelta,
    )
    from .executor import execute, execute_sync, run, run_sync
    from .fallback import FallbackChain
    from .limiter import LimiterRegistry, Limits, default_limiters
    from .observer import PipelineObserver
    from .providers import MockProvider, ProviderRegistry, default_registry
    from .providers.base import LlmRequest, LlmResponse, Provider
    from .response_cache import ResponseCache
    from .result import PipelineFailed, RunResult
    from .retry import BackoffStrategy, RetryStrategy, with_retry
    from .script import main as script_main
    from .script import parse_input_text
    from .spec import (
        REQUIRED,
        BreakerPolicy,
        CachePolicy,
        EndpointSpec,
        InputSpec,
        LlmStep,
        MapStep,
        OutputFormat,
        ParallelGroup,
        PipelineSpec,
        StepDefaults,
        TransformStep,
    )
    from .streaming import stream
    from .trace import SCHEMA_VERSION as TRACE_SCHEMA_VERSION
    from .trace import AttemptTrace, StepTrace, Trace


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"{__name__}.{name}")
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{where[0]}"), where[1])
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)


__all__ = [
    "ABI_VERSION",
    "REQUIRED",
    "TRACE_SCHEMA_VERSION",
    "AbiMismatchError",
    "AttemptTrace",
    "BackoffStrategy",
    "BatchControl",
    "BreakerPolicy",
    "BreakerRegistry",
    "Budget",
    "BudgetExceeded",
    "CachePolicy",
    "Cassette",
    "CircuitBreaker",
    "CircuitOpenError",
    "CompiledPipeline",
    "ConfigError",
    "EndpointSpec",
    "Event",
    "FallbackChain",
    "FallbackExhaustedError",
    "FallbackUsed",
    "InputError",
    "InputSpec",
    "LimiterRegistry",
    "Limits",
    "LlmError",
    "LlmRequest",
    "LlmResponse",
    "LlmStep",
    "MapStep",
    "MmocRuntimeError",
    "MockProvider",
    "OutputFormat",
    "ParallelGroup",
    "PipelineFailed",
    "PipelineObserver",
    "PipelineSpec",
    "Provider",
    "ProviderRegistry",
    "ResponseCache",
    "RetryStrategy",
    "Retrying",
    "RowResult",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "StepDefaults",
    "StepFinished",
    "StepStarted",
    "StepTrace",
    "TemplateError",
    "TextDelta",
    "Trace",
    "TransformStep",
    "__version__",
    "check_abi",
    "conditions",
    "default_breakers",
    "default_limiters",
    "default_registry",
    "execute",
    "execute_sync",
    "parse_input_text",
    "read_rows",
    "run",
    "run_batch",
    "run_sync",
    "script_main",
    "stream",
    "transforms",
    "with_retry",
]
