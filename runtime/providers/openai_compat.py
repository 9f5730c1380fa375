"""OpenAI Chat Completions, and every server that speaks it (Ollama, vLLM, llama.cpp, LiteLLM).

`openai/<model>` calls `$OPENAI_BASE_URL/chat/completions` (default `https://api.openai.com/v1`;
like the official SDK, the base URL includes `/v1`) with `Authorization: Bearer
$OPENAI_API_KEY`. `ollama/<model>` calls `$OLLAMA_BASE_URL` (default
`http://localhost:11434/v1`) without a key. A named endpoint from a pipeline's `providers`
block uses its own base URL and, when it names one, the API key variable it declares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..structured import is_closed_schema, wire_schema
from ._common import HttpProvider, estimated_response, json_headers, str_or_none
from ._http import Call, env_value, error_fields, require_key
from .base import LlmRequest, LlmResponse, estimate_tokens

if TYPE_CHECKING:
    from ..spec import EndpointSpec

OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"
OLLAMA_DEFAULT_BASE = "http://localhost:11434/v1"

# OpenAI itself takes `max_completion_tokens` (its SDK marks `max_tokens` deprecated, and the
# reasoning families reject it). OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LiteLLM)
# keep `max_tokens`, which all of them read, except for these OpenAI reasoning families that
# a proxy may forward to OpenAI.
_COMPLETION_TOKENS_MODELS = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)

# json_object mode is refused unless the word "json" appears in the messages.
_JSON_INSTRUCTION = "Reply with a single JSON value and nothing else."


def uses_max_completion_tokens(provider: str, model: str) -> bool:
    return provider == "openai" or bool(_COMPLETION_TOKENS_MODELS.match(model))


def response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`json_schema` output: strict (constrained decoding) when the schema allows it, that is
    every object closed and fully required (`is_closed_schema`); otherwise non-strict, which
    the model follows best-effort and the runtime checks."""
    strict = is_closed_schema(schema, all_required=True)
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": wire_schema(schema), "strict": strict},
    }


def build_body(request: LlmRequest) -> dict[str, Any]:
    """The Chat Completions request body for `request`."""
    system = request.system
    if request.json_output and request.json_schema is None:
        text = f"{system or ''}\n{request.prompt}".lower()
        if "json" not in text:
            system = f"{system}\n\n{_JSON_INSTRUCTION}" if system else _JSON_INSTRUCTION
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": request.prompt})
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        field = (
            "max_completion_tokens"
            if uses_max_completion_tokens(request.provider, request.model)
            else "max_tokens"
        )
        body[field] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.json_output:
        if request.json_schema is not None:
            body["response_format"] = response_format(request.json_schema)
        else:
            body["response_format"] = {"type": "json_object"}
    return body


def _message_text(content: Any) -> str | None:
    """`message.content`: a string, or (some compatible servers) a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def parse_body(call: Call, body: Any, request: LlmRequest) -> LlmResponse:
    """Text, finish reason and usage from a Chat Completions response."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        # Some compatible servers answer 200 with an error object instead of a status code.
        reported = error_fields(body)[0]
        detail = "the response has no choices" + (f": {reported}" if reported else "")
        raise call.error("bad_response", detail, status=200)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise call.error("bad_response", "the first choice has no message", status=200)
    text = _message_text(message.get("content"))
    finish = choice.get("finish_reason")
    if text is None:
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            raise call.error("blocked", f"the model refused: {refusal}", status=200)
        if finish == "content_filter":
            raise call.error("blocked", "the reply was withheld by the content filter", status=200)
        raise call.error("bad_response", "the first choice has no text content", status=200)
    usage = body.get("usage")
    model = body.get("model")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        completion = usage.get("completion_tokens")
        return LlmResponse(
            text=text,
            input_tokens=usage["prompt_tokens"],
            output_tokens=completion if isinstance(completion, int) else estimate_tokens(text),
            cached_input_tokens=cached if isinstance(cached, int) else 0,
            tokens_estimated=not isinstance(completion, int),
            finish_reason=str_or_none(finish),
            model=str_or_none(model),
            response_id=str_or_none(body.get("id")),
        )
    # Local servers often leave usage out: estimate, and say so in the trace.
    prompt_text = f"{request.system or ''}\n{request.prompt}" if request.system else request.prompt
    return estimated_response(text, prompt_text, finish, model, body.get("id"))


def _refine(status: int, body: Any, message: str, err_type: str, code: str) -> str | None:
    if "insufficient_quota" in (err_type, code):
        return "quota"
    return None


class OpenAICompatProvider(HttpProvider):
    """A Chat Completions endpoint. Base URL and key are read from the environment per call."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str | None = None,
        base_url_env: str | None = None,
        default_base_url: str = OPENAI_DEFAULT_BASE,
        api_key_env: str | None = None,
        key_required: bool = True,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
        self.name = name
        self.base_url_env = base_url_env
        self.default_base_url = default_base_url
        self.api_key_env = api_key_env
        self.key_required = key_required

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(name={self.name!r}, base_url={self.current_base_url()!r})"

    def _key(self) -> str | None:
        if self.api_key_env is None:
            return None
        if self.key_required:
            return require_key((self.api_key_env,), self.name)
        value = env_value(self.api_key_env)
        return value.strip() if value else None

    async def complete(self, request: LlmRequest) -> LlmResponse:
        key = self._key()
        call = Call(self.name, request.model, key)
        headers = json_headers({"Authorization": f"Bearer {key}"} if key else None)
        body = await self.post(
            call, request, "/chat/completions", headers, build_body(request), _refine
        )
        return parse_body(call, body, request)


def create(name: str, endpoint: EndpointSpec | None = None) -> OpenAICompatProvider:
    """The provider for `openai`, `ollama`, or a declared OpenAI-compatible endpoint."""
    if endpoint is not None:
        if endpoint.kind != "openai-compatible":
            raise ConfigError(
                f"endpoint {endpoint.name!r}: kind {endpoint.kind!r} is not supported "
                "(supported: openai-compatible)"
            )
        return OpenAICompatProvider(
            endpoint.name,
            base_url=endpoint.base_url,
            api_key_env=endpoint.api_key_env,
            key_required=endpoint.api_key_env is not None,
        )
    if name == "openai":
        return OpenAICompatProvider(
            "openai",
            base_url_env="OPENAI_BASE_URL",
            default_base_url=OPENAI_DEFAULT_BASE,
            api_key_env="OPENAI_API_KEY",
        )
    if name == "ollama":
        # Ollama ignores keys; one set in OLLAMA_API_KEY is still sent (for proxies in front).
        return OpenAICompatProvider(
            "ollama",
            base_url_env="OLLAMA_BASE_URL",
            default_base_url=OLLAMA_DEFAULT_BASE,
            api_key_env="OLLAMA_API_KEY",
            key_required=False,
        )
    raise ConfigError(
        f"unknown OpenAI-compatible provider {name!r}: declare it in the pipeline's "
        "providers block or register it from Python"
    )
