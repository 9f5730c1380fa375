"""Which environment variables a run needs before it starts: the CLI's pre-run check.

Reads only the environment and the model ids: no network, no HTTP client. The mock provider and
Ollama need no key; a named endpoint needs the variable it declares (if any).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..catalog import parse_model_id
from ..errors import ConfigError
from ..spec import EndpointSpec

# Provider → the variables that can hold its key, in the order they are tried.
KEY_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "ollama": (),
    "mock": (),
}


def key_envs(provider: str, endpoints: Iterable[EndpointSpec] = ()) -> tuple[str, ...]:
    """The variables that can hold `provider`'s key; empty when it needs none."""
    for endpoint in endpoints:
        if endpoint.name == provider:
            return (endpoint.api_key_env,) if endpoint.api_key_env else ()
    return KEY_ENV.get(provider, ())


def _is_set(name: str) -> bool:
    value = os.environ.get(name)
    return bool(value and value.strip())


def missing_credentials(
    model_ids: Iterable[str], endpoints: Iterable[EndpointSpec] = ()
) -> list[tuple[str, str]]:
    """(model id, variable to set) for each model whose key is not in the environment.

    Each model id appears once, in first-seen order. Ids that do not parse are left to the
    compiler's checks; they are not reported here.
    """
    endpoint_list = tuple(endpoints)
    missing: list[tuple[str, str]] = []
    seen: set[str] = set()
    for model_id in model_ids:
        if model_id in seen:
            continue
        seen.add(model_id)
        try:
            provider = parse_model_id(model_id).provider
        except ConfigError:
            continue
        names = key_envs(provider, endpoint_list)
        if names and not any(_is_set(name) for name in names):
            missing.append((model_id, names[0]))
    return missing
