"""Gemini `generateContent`: `gemini/<model>` → `$GEMINI_BASE_URL/v1beta/models/<model>:generateContent`.

The key (`GEMINI_API_KEY`, else `GOOGLE_API_KEY`) travels in the `x-goog-api-key` header,
never in the URL. The system prompt is `systemInstruction`; temperature, max tokens, stop
sequences and JSON output go in `generationConfig`: structured output is native, the step's
JSON schema as `responseJsonSchema` (JSON Schema as written, unlike the older `responseSchema`'s
OpenAPI subset) with `responseMimeType: application/json`.
A prompt the safety filters block (no candidates, a `promptFeedback.blockReason`) is a
`blocked` error, which is never retried.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..structured import wire_schema
from ._common import HttpProvider, estimated_response, int_or_zero, json_headers, str_or_none
from ._http import Call, parse_retry_after, require_key
from .base import LlmRequest, LlmResponse

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION_PATH = "/v1beta"
KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

_BLOCKING_FINISH = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"})


def build_body(request: LlmRequest) -> dict[str, Any]:
    """The generateContent request body for `request`."""
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": request.prompt}]}]}
    if request.system:
        # The SDK sends the instruction as a user-role Content; so do we.
        body["systemInstruction"] = {"parts": [{"text": request.system}], "role": "user"}
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.json_output:
        config["responseMimeType"] = "application/json"
        if request.json_schema is not None:
            config["responseJsonSchema"] = wire_schema(request.json_schema)
    if config:
        body["generationConfig"] = config
    return body


def parse_body(call: Call, body: Any, prompt_text: str = "") -> LlmResponse:
    """Text, finish reason and usage from a generateContent response."""
    if not isinstance(body, dict):
        raise call.error("bad_response", "the response is not a JSON object", status=200)
    candidates = body.get("candidates")
    feedback = body.get("promptFeedback")
    if not candidates:
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if reason:
            raise call.error("blocked", f"the prompt was blocked ({reason})", status=200)
        raise call.error("bad_response", "the response has no candidates", status=200)
    first = candidates[0] if isinstance(candidates, list) else None
    if not isinstance(first, dict):
        raise call.error("bad_response", "the first candidate is not an object", status=200)
    finish = first.get("finishReason")
    content = first.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts = [
        p["text"]
        for p in (parts if isinstance(parts, list) else [])
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    ]
    if not texts:
        if finish in _BLOCKING_FINISH:
            raise call.error("blocked", f"the reply was blocked ({finish})", status=200)
        why = f" (finishReason {finish})" if isinstance(finish, str) else ""
        raise call.error("bad_response", f"the first candidate has no text{why}", status=200)
    text = "".join(texts)
    model = body.get("modelVersion")
    usage = body.get("usageMetadata")
    if isinstance(usage, dict) and isinstance(usage.get("promptTokenCount"), int):
        # Thinking tokens are billed as output.
        thoughts = int_or_zero(usage.get("thoughtsTokenCount"))
        return LlmResponse(
            text=text,
            input_tokens=usage["promptTokenCount"],
            output_tokens=int_or_zero(usage.get("candidatesTokenCount")) + thoughts,
            cached_input_tokens=int_or_zero(usage.get("cachedContentTokenCount")),
            finish_reason=str_or_none(finish),
            model=str_or_none(model),
            response_id=str_or_none(body.get("responseId")),
        )
    return estimated_response(text, prompt_text, finish, model, body.get("responseId"))


def _refine(status: int, body: Any, message: str, err_type: str, code: str) -> str | None:
    # A bad key is a 400 INVALID_ARGUMENT (reason API_KEY_INVALID): an auth problem.
    if status == 400 and ("API_KEY_INVALID" in json.dumps(body) or "API key not valid" in message):
        return "auth"
    return None


def retry_delay(body: Any) -> float | None:
    """The `google.rpc.RetryInfo` delay (`"30s"`) in an error body's details, if any."""
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                return parse_retry_after({"retry-after": delay[:-1]})
    return None


class GeminiProvider(HttpProvider):
    name = "gemini"
    base_url_env = "GEMINI_BASE_URL"
    default_base_url = DEFAULT_BASE_URL

    async def complete(self, request: LlmRequest) -> LlmResponse:
        key = require_key(KEY_ENVS, self.name)
        call = Call(self.name, request.model, key)
        headers = json_headers({"x-goog-api-key": key})
        path = f"{API_VERSION_PATH}/models/{quote(request.model, safe='.-_')}:generateContent"
        body = await self.post(
            call, request, path, headers, build_body(request), _refine, body_retry_after=retry_delay
        )
        return parse_body(call, body, f"{request.system or ''}\n{request.prompt}")


def create() -> GeminiProvider:
    return GeminiProvider()
