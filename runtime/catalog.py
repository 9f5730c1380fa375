"""Model ids: `provider/model?option=value&...`, and the catalog of bare seed names.

A bare name such as `gemini-2.5-flash-lite` or `gpt-4` resolves to its provider here, so the
compiler's checks and the runtime's routing agree on what a name means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .errors import ConfigError

# Providers built into the runtime. Named OpenAI-compatible endpoints add to these per pipeline.
BUILTIN_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "ollama", "mock")

# Bare model names and the provider that serves them.
CATALOG: dict[str, str] = {
    # OpenAI
    "gpt-4": "openai",
    "gpt-4-turbo": "openai",
    "gpt-3.5-turbo": "openai",
    "gpt-4o": "openai",
    "gpt-4o-mini": "openai",
    "gpt-4.1": "openai",
    "gpt-4.1-mini": "openai",
    "gpt-4.1-nano": "openai",
    "gpt-5": "openai",
    "gpt-5-mini": "openai",
    "gpt-5-nano": "openai",
    "o3": "openai",
    "o3-mini": "openai",
    "o4-mini": "openai",
    # Anthropic
    "claude-3-opus": "anthropic",
    "claude-3-sonnet": "anthropic",
    "claude-3-haiku": "anthropic",
    "claude-3-5-haiku": "anthropic",
    "claude-3-5-sonnet": "anthropic",
    "claude-3-7-sonnet": "anthropic",
    "claude-sonnet-4": "anthropic",
    "claude-sonnet-4-5": "anthropic",
    "claude-opus-4": "anthropic",
    "claude-opus-4-1": "anthropic",
    "claude-haiku-4-5": "anthropic",
    # Gemini
    "gemini-2.5-flash-lite": "gemini",
    "gemini-2.0-flash": "gemini",
    "gemini-2.0-flash-lite": "gemini",
    "gemini-2.5-flash": "gemini",
    "gemini-2.5-pro": "gemini",
    "gemini-1.5-flash": "gemini",
    "gemini-1.5-pro": "gemini",
}


@dataclass(frozen=True)
class ModelId:
    provider: str
    name: str
    options: dict[str, str] = field(default_factory=dict, hash=False, compare=True)

    @property
    def key(self) -> str:
        """`provider/name` without options: the breaker and pricing key."""
        return f"{self.provider}/{self.name}"


def parse_model_id(text: str) -> ModelId:
    """Split `provider/model?opts`; a bare name is looked up in the catalog."""
    base, _, query = text.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    provider, slash, name = base.partition("/")
    if not slash:
        name = base
        found = CATALOG.get(base)
        if found is None:
            raise ConfigError(
                f"unknown model {base!r}: write it as provider/model "
                f"(providers: {', '.join(BUILTIN_PROVIDERS)})"
            )
        provider = found
    if not provider or not name:
        raise ConfigError(f"bad model id {text!r}: expected provider/model")
    return ModelId(provider, name, options)
