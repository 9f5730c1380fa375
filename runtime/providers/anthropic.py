"""Anthropic Messages API: `anthropic/<model>` → `$ANTHROPIC_BASE_URL/v1/messages`.

Sent as the official SDK sends it: the key from `ANTHROPIC_API_KEY` as `Authorization: Bearer`,
`anthropic-version: 2026-10-21`. That API version rejects the sampling parameters
(`temperature`, `top_p`, `top_k`) on every model, and the SDK no longer has them. A step that
sets `temperature` still gets it, never dropped silently: its request is pinned to the previous
version, `2023-06-01`, which takes it (with `x-api-key`, as SDKs sent that version); models
that refuse a temperature on any version answer 400 (`bad_request`). The API requires
`max_tokens`: a step that sets none sends `DEFAULT_MAX_TOKENS` (1024). The system prompt is the
top-level `system` field; the reply's text blocks are joined.

Structured output is native (`output_config.format`, a JSON schema the reply is decoded
against) when the step's schema is closed (every object `additionalProperties: false`), which
the API requires; JSON without a schema, or with an open one, is asked for by instruction. The
runtime parses and checks the reply either way.

The catalog's bare Claude names (the seed's `claude-3-haiku`, ...) are family names, not API
ids: `API_MODEL_IDS` maps them to ids the API accepts when the request is sent. The trace and
the price keep the name the pipeline wrote.
"""

from __future__ import annotations

import json
from typing import Any

from ..structured import is_closed_schema, wire_schema
from ._common import HttpProvider, estimated_response, int_or_zero, json_headers, str_or_none
from ._http import Call, require_key
from .base import LlmRequest, LlmResponse

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2026-10-21"
SAMPLING_API_VERSION = "2023-06-01"  # the last version that takes `temperature`
DEFAULT_MAX_TOKENS = 1024

_QUOTA_WORDS = ("credit balance", "spend limit", "spending limit", "billing")

# Catalog name -> the model id the Messages API accepts. The Claude 3 models have no alias,
# so they get their (only) dated snapshot; the others get the API's moving alias.
API_MODEL_IDS: dict[str, str] = {
    "claude-3-haiku": "claude-3-haiku-20240307",
    "claude-3-opus": "claude-3-opus-20240229",
    "claude-3-sonnet": "claude-3-sonnet-20240229",
    "claude-3-5-haiku": "claude-3-5-haiku-latest",
    "claude-3-5-sonnet": "claude-3-5-sonnet-latest",
    "claude-3-7-sonnet": "claude-3-7-sonnet-latest",
    "claude-sonnet-4": "claude-sonnet-4-0",
    "claude-opus-4": "claude-opus-4-0",
}


# Stop reasons that explain a reply without text: the request's own limit ended it before
# any text (max_tokens) or a stop sequence came first. The reply is then '' (a retry would
# end the same way); any other empty reply is `bad_response`.
EMPTY_REPLY_STOPS: frozenset[str] = frozenset({"max_tokens", "stop_sequence"})


def api_model_id(model: str) -> str:
    """The id sent for `model`: its API id when it is a catalog family name, else as written."""
    return API_MODEL_IDS.get(model, model)


def json_instruction(schema: Any) -> str:
    text = "Reply with a single JSON value and nothing else: no prose, no code fences."
    if schema is not None:
        text += " It must match this JSON schema: " + json.dumps(
            schema, separators=(",", ":"), sort_keys=True
        )
    return text


def native_schema(request: LlmRequest) -> dict[str, Any] | None:
    """The schema to send as `output_config.format`, when the API can decode against it."""
    schema = request.json_schema
    if request.json_output and schema is not None and is_closed_schema(schema):
        return wire_schema(schema)
    return None


def headers(request: LlmRequest, key: str) -> dict[str, str]:
    """Auth and version: the current API's, or for a request with a temperature the last
    version's that takes one (see the module doc)."""
    if request.temperature is not None:
        return json_headers({"x-api-key": key, "anthropic-version": SAMPLING_API_VERSION})
    return json_headers({"Authorization": f"Bearer {key}", "anthropic-version": API_VERSION})


def build_body(request: LlmRequest) -> dict[str, Any]:
    """The Messages API request body for `request`."""
    system = request.system
    schema = native_schema(request)
    if request.json_output and schema is None:
        instruction = json_instruction(request.json_schema)
        system = f"{system}\n\n{instruction}" if system else instruction
    body: dict[str, Any] = {
        "model": api_model_id(request.model),
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": request.prompt}],
    }
    if system:
        body["system"] = system
    if schema is not None:
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    if request.temperature is not None:
        body["temperature"] = request.temperature  # sent on SAMPLING_API_VERSION (`headers`)
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    return body


def parse_body(call: Call, body: Any, prompt_text: str = "") -> LlmResponse:
    """Text, stop reason and usage from a Messages API response."""
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, list):
        raise call.error("bad_response", "the response has no content list", status=200)
    texts = [
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]
    stop = body.get("stop_reason")
    text = "".join(texts)
    if not text:
        if stop == "refusal":
            raise call.error("blocked", "the model refused to answer", status=200)
        if stop not in EMPTY_REPLY_STOPS:
            # `end_turn` (or no reason) with nothing said is an anomaly another attempt may
            # not repeat: retryable, like any reply without the documented content.
            raise call.error(
                "bad_response", f"the reply has no text (stop_reason {stop!r})", status=200
            )
    usage = body.get("usage")
    model = body.get("model")
    if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int):
        # A proxy that drops usage: estimate, and say so in the trace.
        return estimated_response(text, prompt_text, stop, model, body.get("id"))
    # Anthropic counts cache reads and writes apart from `input_tokens`; the runtime's
    # convention (OpenAI's) is that input tokens include the cached ones.
    cached = int_or_zero(usage.get("cache_read_input_tokens"))
    written = int_or_zero(usage.get("cache_creation_input_tokens"))
    return LlmResponse(
        text=text,
        input_tokens=usage["input_tokens"] + cached + written,
        output_tokens=int_or_zero(usage.get("output_tokens")),
        cached_input_tokens=cached,
        finish_reason=str_or_none(stop),
        model=str_or_none(model),
        response_id=str_or_none(body.get("id")),
    )


def _error_code(body: Any) -> str:
    """`error.details.error_code`: the precise cause, when the API gives one."""
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else ""


def _refine(status: int, body: Any, message: str, err_type: str, code: str) -> str | None:
    if err_type == "overloaded_error":
        return "overloaded"
    if err_type == "billing_error":
        return "quota"
    error_code = _error_code(body)
    if "spend_limit" in error_code or "billing" in error_code:
        return "quota"  # e.g. enforced_spend_limit_reached, sent as a 429 rate_limit_error
    lowered = message.lower()
    if status in (400, 403, 429) and any(word in lowered for word in _QUOTA_WORDS):
        return "quota"
    return None


class AnthropicProvider(HttpProvider):
    name = "anthropic"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = DEFAULT_BASE_URL

    async def complete(self, request: LlmRequest) -> LlmResponse:
        key = require_key(("ANTHROPIC_API_KEY",), self.name)
        call = Call(self.name, request.model, key)
        body = await self.post(
            call, request, "/v1/messages", headers(request, key), build_body(request), _refine
        )
        return parse_body(call, body, f"{request.system or ''}\n{request.prompt}")


def create() -> AnthropicProvider:
    return AnthropicProvider()
