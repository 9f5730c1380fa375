"""Provider registry: one provider object per (provider name, endpoint), built on first use.

Real providers are imported lazily, so `import mmoc_runtime` loads no HTTP client. Tests and
applications can `register` their own provider under any name (including "mock").
"""

from __future__ import annotations

import importlib
from typing import Any

from ..catalog import ModelId
from ..errors import ConfigError
from ..spec import EndpointSpec
from .base import LlmRequest, LlmResponse, Provider
from .mock import MockProvider

__all__ = [
    "LlmRequest",
    "LlmResponse",
    "MockProvider",
    "Provider",
    "ProviderRegistry",
    "default_registry",
]


class ProviderRegistry:
    def __init__(self) -> None:
        self._registered: dict[str, Provider] = {}
        self._built: dict[tuple[str, EndpointSpec | None], Provider] = {}

    def register(self, name: str, provider: Provider) -> None:
        """Serve every model of provider `name` (or endpoint `name`) with `provider`."""
        self._registered[name] = provider

    def get(self, model: ModelId, endpoints: tuple[EndpointSpec, ...] = ()) -> Provider:
        name = model.provider
        found = self._registered.get(name)
        if found is not None:
            return found
        endpoint = next((e for e in endpoints if e.name == name), None) if endpoints else None
        key = (name, endpoint)
        provider = self._built.get(key)
        if provider is None:
            provider = self._built[key] = _build(name, endpoint)
        return provider

    def mock(self) -> Provider:
        """The provider every model is routed to in a mock run."""
        return self.get(ModelId("mock", "mock"))

    async def aclose_all(self) -> None:
        providers = {id(p): p for p in [*self._registered.values(), *self._built.values()]}
        self._built.clear()
        for provider in providers.values():
            await provider.aclose()


def _build(name: str, endpoint: EndpointSpec | None) -> Provider:
    if name == "mock":
        return MockProvider()
    module: Any
    if endpoint is not None or name in ("openai", "ollama"):
        module = importlib.import_module(f"{__name__}.openai_compat")
        return module.create(name, endpoint)  # type: ignore[no-any-return]
    if name in ("anthropic", "gemini"):
        module = importlib.import_module(f"{__name__}.{name}")
        return module.create()  # type: ignore[no-any-return]
    raise ConfigError(
        f"unknown provider {name!r}: use openai, anthropic, gemini, ollama or mock, "
        "or declare an OpenAI-compatible endpoint with that name"
    )


_DEFAULT: ProviderRegistry | None = None


def default_registry() -> ProviderRegistry:
    """The process-wide registry used when a run is not given one."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ProviderRegistry()
    return _DEFAULT
