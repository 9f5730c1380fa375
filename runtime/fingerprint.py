"""The fingerprint of a model request: what decides the answer, as canonical data and a hash.

One definition for the whole runtime: cassettes (`cassette`), the response cache and anything
else that must know whether two calls ask the same thing key on it. The canonical request holds
the provider, the model, the messages (the system prompt, then the prompt), the parameters that
change the answer (temperature, max_tokens, stop, the model id's `?key=value` options) and the
response format (JSON, with its schema). It leaves out what does not change the answer: the
step's name, the run id, the timeout. Unset parameters are left out rather than written as
null, so a parameter added later does not change the fingerprint of requests that do not use
it. The hash is the SHA-256 of the canonical JSON (`canonical_json`): sorted keys, no spaces,
text as written (not `\\u` escaped).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .providers.base import LlmRequest

# Bumped only if the canonical form changes meaning; part of every hash, so fingerprints of
# different versions never collide.
FINGERPRINT_VERSION = 1


@dataclass(frozen=True)
class Fingerprint:
    """A request's canonical form (`request`, plain JSON data) and its hash (`digest`, 64 hex
    digits)."""

    request: Mapping[str, Any]
    digest: str

    @property
    def short(self) -> str:
        """The first 12 hex digits, for messages."""
        return self.digest[:12]


def canonical_json(value: Any) -> str:
    """`value` as deterministic JSON: sorted keys, no spaces, text as written."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def canonical_request(request: LlmRequest) -> dict[str, Any]:
    """The parts of `request` that decide the answer, as plain JSON data."""
    messages = []
    if request.system is not None:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.prompt})
    params: dict[str, Any] = {}
    if request.temperature is not None:
        params["temperature"] = float(request.temperature)  # 1 and 1.0 ask the same
    if request.max_tokens is not None:
        params["max_tokens"] = int(request.max_tokens)
    if request.stop:
        params["stop"] = list(request.stop)
    if request.options:
        params["options"] = {str(k): str(v) for k, v in request.options.items()}
    canonical: dict[str, Any] = {
        "provider": request.provider,
        "model": request.model,
        "messages": messages,
    }
    if params:
        canonical["params"] = params
    if request.json_output:
        response: dict[str, Any] = {"format": "json"}
        if request.json_schema is not None:
            response["schema"] = _plain(request.json_schema)
        canonical["response"] = response
    return canonical


def digest_of(canonical: Mapping[str, Any]) -> str:
    """The hash of a canonical request (as `canonical_request` makes it)."""
    text = canonical_json({"v": FINGERPRINT_VERSION, "request": canonical})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(request: LlmRequest) -> Fingerprint:
    """The fingerprint of `request`."""
    canonical = canonical_request(request)
    return Fingerprint(canonical, digest_of(canonical))


def _plain(value: Any) -> Any:
    """A schema (mappings, sequences, scalars) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
