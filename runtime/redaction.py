"""Keeping API keys out of errors, logs and traces: one set of rules for the whole runtime.

Two kinds of text are hidden, both replaced by `REDACTED`:
- key-shaped text, whatever its value: header-like `Authorization: Bearer ...`, `x-api-key: ...`,
  `api_key=...`, a query string's `key=...`, a bare `Bearer ...`, and values shaped like OpenAI
  (`sk-...`) or Google (`AIza...`) keys. Providers echo request headers and URLs in their errors.
- the literal values of the keys a run can use (`secret_values`), of `MIN_SECRET_LENGTH`
  characters or more: a short placeholder such as `OPENAI_API_KEY=test` would otherwise shred
  ordinary words ("latest test request"); real provider keys are far longer.

`secret_values` reads the environment, so a run computes it once (see `LlmContext.secrets`)
rather than on every failed attempt. `redact` is for messages (both kinds); `scrub` is for
captured prompts and outputs (literal values only: a prompt that says `key=...` is the user's
text, not a leak of ours).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from .errors import REDACTED
from .providers.credentials import KEY_ENV
from .spec import EndpointSpec

MIN_SECRET_LENGTH = 8

# An environment variable whose name contains one of these holds a secret, whatever provider
# (or tool) it belongs to: its value is hidden from error messages.
SECRET_NAME_MARKERS: tuple[str, ...] = ("API_KEY", "TOKEN", "SECRET")


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Each pattern's group 1 is kept (the header name, `key=`, `Bearer `), the rest hidden.
    Compiled on first use: errors are rare and `import mmoc_runtime` should stay cheap."""
    return (
        # Header-shaped: `Authorization: Bearer sk-...`, `'x-api-key': '...'`, `api_key=...`
        re.compile(
            r"(?i)((?:authorization|x-api-key|x-goog-api-key|api[-_]?key)[\"']?\s*[:=]\s*[\"']?)"
            r"(?:bearer\s+)?[^\s\"',;&}]+"
        ),
        # Query strings: `?key=AIza...`
        re.compile(r"(?i)(\bkey=)[^\s\"'&,;]+"),
        # A bare bearer token anywhere.
        re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
        # A key by its shape alone: OpenAI/Anthropic `sk-...`, Google `AIza...`.
        re.compile(r"()\b(?:sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,})"),
    )


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def secret_values(
    endpoints: Iterable[EndpointSpec] = (), environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The values (`MIN_SECRET_LENGTH`+ characters) of every key variable a run can use: the
    providers' (`OPENAI_API_KEY`, ...), each endpoint's `api_key_env`, and any variable whose
    name contains `API_KEY`, `TOKEN` or `SECRET`. Longest first, so a key that contains
    another is replaced whole."""
    env = os.environ if environ is None else environ
    names = {name for names in KEY_ENV.values() for name in names}
    names.update(e.api_key_env for e in endpoints if e.api_key_env)
    found: set[str] = set()
    for name, value in env.items():
        if name in names or any(marker in name.upper() for marker in SECRET_NAME_MARKERS):
            value = value.strip()  # keys are sent stripped, so they are echoed stripped
            if len(value) >= MIN_SECRET_LENGTH:
                found.add(value)
    return tuple(sorted(found, key=len, reverse=True))


def _replace_literals(text: str, longest_first: Iterable[str]) -> str:
    for secret in longest_first:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret value (of `MIN_SECRET_LENGTH`+ characters) and every key-shaped
    value replaced by `REDACTED`: for error messages, before they reach an error, log or trace."""
    long_enough = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    text = _replace_literals(text, sorted(long_enough, key=len, reverse=True))
    for pattern in _patterns():
        text = pattern.sub(_keep_prefix, text)
    return text


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with every secret value replaced by `REDACTED`, inside lists and dicts too (a
    copy: the run's own values are not changed). For captured prompts and outputs; `secrets`
    as `secret_values` gives them (long enough, longest first)."""
    if not secrets:
        return value
    if isinstance(value, str):
        return _replace_literals(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value
