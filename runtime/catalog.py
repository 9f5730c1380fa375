"""Model ids: `provider/model?option=value&...`, and the catalog of bare seed names.

A bare name such as `gemini-2.5-flash-lite` or `gpt-4` resolves to its provider here, so the
compiler's checks and the runtime's routing agree on what a name means.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, NamedTuple

from .errors import ConfigError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, their methods written on first use: see lazy_dataclass
    from .lazy_dataclass import dataclass

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

# API aliases that name a family without a snapshot suffix: Anthropic's `-0` aliases, which its
# adapter sends for the catalog names claude-sonnet-4 and claude-opus-4. The providers accept
# them, so the checks do too, and they are priced as their family.
ALIASES: dict[str, str] = {
    "claude-sonnet-4-0": "claude-sonnet-4",
    "claude-opus-4-0": "claude-opus-4",
}

class Retirement(NamedTuple):
    date: str  # when the provider stopped serving the family
    successor: str  # the catalog name to move to


# Families their provider has retired (the API now refuses them). Kept in the catalog so a
# pipeline naming one gets a clear warning (MMO405) with what to use instead.
RETIRED: dict[str, Retirement] = {
    "claude-3-sonnet": Retirement("2025-07-21", "claude-sonnet-4-5"),
    "claude-3-5-sonnet": Retirement("2025-10-22", "claude-sonnet-4-5"),
    "claude-3-opus": Retirement("2026-01-05", "claude-opus-4-1"),
    "gemini-1.5-flash": Retirement("2025-09-24", "gemini-2.5-flash"),
    "gemini-1.5-pro": Retirement("2025-09-24", "gemini-2.5-pro"),
}


def catalog_name(name: str) -> str:
    """The catalog's name for `name`: an alias's family, else `name` itself."""
    return ALIASES.get(name, name)


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
    options: dict[str, str] = {}
    if query:
        from urllib.parse import parse_qsl  # here: only a model id with options needs it

        options = dict(parse_qsl(query, keep_blank_values=True))
    provider, slash, name = base.partition("/")
    if not slash:
        name = base
        found = CATALOG.get(catalog_name(base))
        if found is None:
            raise ConfigError(
                f"unknown model {base!r}: write it as provider/model "
                f"(providers: {', '.join(BUILTIN_PROVIDERS)})"
            )
        provider = found
    if not provider or not name:
        raise ConfigError(f"bad model id {text!r}: expected provider/model")
    return ModelId(provider, name, options)
