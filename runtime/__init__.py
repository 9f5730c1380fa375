"""mmoc_runtime: the thin async runtime that generated pipeline modules import.

Standard library only (httpx is imported lazily, by the real providers). Nothing here imports
the compiler or its dependencies. Generated code imports only the names in `__all__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .abi import ABI_VERSION, RUNTIME_VERSION, check_abi
from .breaker import BreakerRegistry, CircuitBreaker, default_breakers
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
from .executor import execute, execute_sync, run, run_sync
from .fallback import FallbackChain
from .observer import PipelineObserver
from .providers import MockProvider, ProviderRegistry, default_registry
from .providers.base import LlmRequest, LlmResponse, Provider
from .result import PipelineFailed, RunResult
from .retry import BackoffStrategy, RetryStrategy, with_retry
from .script import main as script_main
from .script import parse_input_text
from .spec import (
    REQUIRED,
    BreakerPolicy,
    EndpointSpec,
    InputSpec,
    LlmStep,
    OutputFormat,
    ParallelGroup,
    PipelineSpec,
    TransformStep,
)
from .trace import SCHEMA_VERSION as TRACE_SCHEMA_VERSION
from .trace import AttemptTrace, StepTrace, Trace

if TYPE_CHECKING:
    from . import conditions, transforms
else:

    def __getattr__(name: str) -> Any:
        # The condition helpers and built-in transforms (with the JSON scanner they use) load
        # on first use, which keeps `import mmoc_runtime` lean for pipelines that use neither.
        if name in ("conditions", "transforms"):
            import importlib

            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = RUNTIME_VERSION

__all__ = [
    "ABI_VERSION",
    "REQUIRED",
    "TRACE_SCHEMA_VERSION",
    "AbiMismatchError",
    "AttemptTrace",
    "BackoffStrategy",
    "BreakerPolicy",
    "BreakerRegistry",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConfigError",
    "EndpointSpec",
    "FallbackChain",
    "FallbackExhaustedError",
    "InputError",
    "InputSpec",
    "LlmError",
    "LlmRequest",
    "LlmResponse",
    "LlmStep",
    "MmocRuntimeError",
    "MockProvider",
    "OutputFormat",
    "ParallelGroup",
    "PipelineFailed",
    "PipelineObserver",
    "PipelineSpec",
    "Provider",
    "ProviderRegistry",
    "RetryStrategy",
    "RunResult",
    "StepTrace",
    "TemplateError",
    "Trace",
    "TransformStep",
    "__version__",
    "check_abi",
    "conditions",
    "default_breakers",
    "default_registry",
    "execute",
    "execute_sync",
    "parse_input_text",
    "run",
    "run_sync",
    "script_main",
    "transforms",
    "with_retry",
]
