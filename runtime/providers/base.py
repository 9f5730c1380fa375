"""The provider adapter protocol: a rendered request in, text and usage out.

One small module per provider implements `Provider`. Adapters map their wire errors onto
`LlmError` kinds (see `mmoc_runtime.errors`) and never retry on their own: only the runtime's
retry loop retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LlmRequest:
    provider: str  # "openai", "anthropic", "gemini", "mock", "ollama" or an endpoint name
    model: str  # the model name without the provider prefix and options
    prompt: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    json_output: bool = False
    json_schema: Mapping[str, Any] | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # from `model?key=value&...`
    step: str = ""  # the step this call serves (the mock provider keys its counters on it)
    run_id: str = ""  # one id per pipeline run
    timeout: float | None = None  # seconds, the step's per-attempt budget, if any


@dataclass(frozen=True)
class LlmResponse:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    tokens_estimated: bool = False  # the provider reported no usage; counts are estimates
    finish_reason: str | None = None
    model: str | None = None  # the model the provider says answered
    response_id: str | None = None  # the provider's id for this reply, when it gives one


@runtime_checkable
class Provider(Protocol):
    name: str

    async def complete(self, request: LlmRequest) -> LlmResponse: ...

    async def aclose(self) -> None: ...


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) for when usage is not reported."""
    return max(1, (len(text) + 3) // 4) if text else 0
