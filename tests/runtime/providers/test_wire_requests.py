"""Each adapter sends exactly the documented request and reads text, finish reason and usage."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mmoc_runtime.errors import ConfigError, LlmError
from mmoc_runtime.providers import _http, anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest
from mmoc_runtime.spec import EndpointSpec
from support.loopback import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    LoopbackServer,
    Reply,
    anthropic_message,
    complete_once,
    gemini_response,
    openai_completion,
)

FULL = {
    "prompt": "Summarize: cats",
    "system": "Be brief.",
    "temperature": 0.2,
    "max_tokens": 50,
    "stop": ("END",),
}


def test_openai_request_is_chat_completions(provider_env: LoopbackServer) -> None:
    response = complete_once(
        openai_compat.create("openai", None), LlmRequest("openai", "gpt-4o-mini", **FULL)
    )
    (sent,) = provider_env.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Summarize: cats"},
        ],
        "temperature": 0.2,
        "max_completion_tokens": 50,
        "stop": ["END"],
    }
    assert response.text == "[openai] Summarize: cats"
    assert response.finish_reason == "stop"
    assert (response.model, response.response_id) == ("gpt-4o-mini", "chatcmpl-loopback")
    assert (response.input_tokens, response.output_tokens) == (2, 3)
    assert not response.tokens_estimated


@pytest.mark.parametrize("model", ["o3-mini", "o4-mini", "gpt-5", "gpt-5-nano", "o1"])
def test_reasoning_models_get_max_completion_tokens_everywhere(
    provider_env: LoopbackServer, model: str
) -> None:
    # Also through an OpenAI-compatible endpoint: a proxy may forward them to OpenAI.
    complete_once(
        openai_compat.create("ollama", None),
        LlmRequest("ollama", model, prompt="hi", max_tokens=64),
    )
    body = provider_env.requests[0].body
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body


def test_compatible_servers_keep_max_tokens(provider_env: LoopbackServer) -> None:
    """Ollama, vLLM, llama.cpp and LiteLLM all read `max_tokens`; not all read the newer
    `max_completion_tokens`. Only OpenAI itself (and its reasoning families) get the new one."""
    endpoint = EndpointSpec("local", provider_env.url + "/vllm/v1")
    complete_once(openai_compat.create("ollama", None),
                  LlmRequest("ollama", "llama3.2", prompt="hi", max_tokens=64))
    complete_once(openai_compat.create("local", endpoint),
                  LlmRequest("local", "qwen", prompt="hi", max_tokens=64))
    for sent in provider_env.requests:
        assert sent.body["max_tokens"] == 64 and "max_completion_tokens" not in sent.body


def test_openai_json_schema_and_json_object(provider_env: LoopbackServer) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    provider = openai_compat.create("openai", None)
    complete_once(
        provider, LlmRequest("openai", "gpt-4o", "give a", json_output=True, json_schema=schema)
    )
    complete_once(provider, LlmRequest("openai", "gpt-4o", "give a", json_output=True))
    with_schema, plain = (r.body for r in provider_env.requests)
    # Not closed (additionalProperties is not false): strict mode cannot take it as is.
    assert with_schema["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": False},
    }
    assert plain["response_format"] == {"type": "json_object"}
    # json_object mode is refused unless "json" appears in the messages: we add an instruction.
    assert "json" in plain["messages"][0]["content"].lower()


def test_openai_cached_tokens_and_missing_usage(provider_env: LoopbackServer) -> None:
    provider_env.queue(
        "openai",
        Reply(200, openai_completion("hi", "gpt-4o", 1000, 20, cached_tokens=800)),
        Reply(200, openai_completion("a reply of some length", "llama3", usage=False)),
    )
    provider = openai_compat.create("openai", None)
    cached = complete_once(provider, LlmRequest("openai", "gpt-4o", "x"))
    assert (cached.input_tokens, cached.output_tokens, cached.cached_input_tokens) == (
        1000,
        20,
        800,
    )
    estimated = complete_once(provider, LlmRequest("openai", "llama3", "twelve chars"))
    assert estimated.tokens_estimated
    assert estimated.input_tokens == 3 and estimated.output_tokens == 6


def test_ollama_needs_no_key_and_uses_its_base(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    complete_once(openai_compat.create("ollama", None), LlmRequest("ollama", "llama3.2", "hi"))
    (sent,) = provider_env.requests
    assert sent.path == "/v1/chat/completions" and "authorization" not in sent.headers
    assert sent.body["model"] == "llama3.2"


def test_declared_endpoint_uses_its_own_key_variable(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = EndpointSpec("local", provider_env.url + "/vllm/v1", api_key_env="LOCAL_KEY")
    provider = openai_compat.create("local", endpoint)
    monkeypatch.delenv("LOCAL_KEY", raising=False)
    with pytest.raises(ConfigError, match="LOCAL_KEY"):
        complete_once(provider, LlmRequest("local", "qwen", "hi"))
    monkeypatch.setenv("LOCAL_KEY", "local-secret-123")
    complete_once(provider, LlmRequest("local", "qwen", "hi"))
    (sent,) = provider_env.requests
    assert sent.path == "/vllm/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer local-secret-123"


def test_unsupported_endpoint_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        openai_compat.create("x", EndpointSpec("x", "http://h", kind="grpc"))


def test_anthropic_request_is_messages_api(provider_env: LoopbackServer) -> None:
    request = LlmRequest("anthropic", "claude-haiku-4-5", **{**FULL, "temperature": None})
    response = complete_once(anthropic.create(), request)
    (sent,) = provider_env.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert "x-api-key" not in sent.headers
    assert sent.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Summarize: cats"}],
        "system": "Be brief.",
        "stop_sequences": ["END"],
    }
    assert response.text == "[anthropic] Summarize: cats"
    assert response.finish_reason == "end_turn"
    assert (response.model, response.response_id) == ("claude-haiku-4-5", "msg_loopback")


def test_anthropic_temperature_is_sent_on_the_version_that_takes_it(
    provider_env: LoopbackServer,
) -> None:
    """API version 2026-10-21 rejects `temperature` on every model; a step that sets one keeps
    it, on version 2023-06-01 (with `x-api-key`, as SDKs sent that version), never dropped."""
    complete_once(anthropic.create(), LlmRequest("anthropic", "claude-haiku-4-5", **FULL))
    (sent,) = provider_env.requests
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY and "authorization" not in sent.headers
    assert sent.body["temperature"] == 0.2


def test_anthropic_defaults_max_tokens_joins_text_blocks_and_counts_cache(
    provider_env: LoopbackServer,
) -> None:
    body = anthropic_message("", input_tokens=10, output_tokens=4, cache_read=90)
    body["content"] = [
        {"type": "text", "text": "Hello, "},
        {"type": "tool_use", "id": "t", "name": "x", "input": {}},
        {"type": "text", "text": "world"},
    ]
    provider_env.queue("anthropic", Reply(200, body))
    response = complete_once(anthropic.create(), LlmRequest("anthropic", "claude-3-haiku", "hi"))
    assert provider_env.requests[0].body["max_tokens"] == anthropic.DEFAULT_MAX_TOKENS == 1024
    assert response.text == "Hello, world"
    # Input tokens include the cached ones (the runtime's convention), priced apart.
    assert (response.input_tokens, response.cached_input_tokens) == (100, 90)


def test_anthropic_open_schema_is_asked_by_instruction(provider_env: LoopbackServer) -> None:
    # Not closed (no additionalProperties: false): the API's structured outputs refuse it.
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    complete_once(
        anthropic.create(),
        LlmRequest(
            "anthropic", "claude-3-haiku", "go", system="Sys.", json_output=True, json_schema=schema
        ),
    )
    body = provider_env.requests[0].body
    assert body["system"].startswith("Sys.\n\n") and "JSON" in body["system"]
    assert '{"properties":{"ok":{"type":"boolean"}},"type":"object"}' in body["system"]
    assert "output_config" not in body


def test_anthropic_closed_schema_is_native_structured_output(
    provider_env: LoopbackServer,
) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "properties": {"ok": {"type": "boolean", "default": True}},
              "additionalProperties": False}
    complete_once(
        anthropic.create(),
        LlmRequest("anthropic", "claude-haiku-4-5", "go", system="Sys.", json_output=True,
                   json_schema=schema),
    )
    body = provider_env.requests[0].body
    assert body["system"] == "Sys."  # no instruction: the API decodes against the schema
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": {
        "type": "object", "properties": {"ok": {"type": "boolean"}},
        "additionalProperties": False}}}


def test_gemini_request_is_generate_content(provider_env: LoopbackServer) -> None:
    response = complete_once(gemini.create(), LlmRequest("gemini", "gemini-2.5-flash-lite", **FULL))
    (sent,) = provider_env.requests
    assert sent.path == "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY
    assert "key=" not in sent.path
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "Summarize: cats"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}], "role": "user"},
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50, "stopSequences": ["END"]},
    }
    assert response.text == "[gemini] Summarize: cats"
    assert response.finish_reason == "STOP"
    assert (response.model, response.response_id) == ("gemini-2.5-flash-lite", "loopback")


def test_gemini_json_schema_is_sent_as_response_json_schema(
    provider_env: LoopbackServer,
) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "mood": {"enum": ["up", "down"], "examples": ["up"]},
            "note": {"type": ["string", "null"]},
        },
        "required": ["tags"],
        "additionalProperties": False,
    }
    complete_once(
        gemini.create(),
        LlmRequest("gemini", "gemini-2.5-flash", "x", json_output=True, json_schema=schema),
    )
    config = provider_env.requests[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseSchema" not in config
    # JSON Schema as written (no OpenAPI translation), without the annotations not sent.
    del schema["properties"]["mood"]["examples"]
    assert config["responseJsonSchema"] == schema


def test_gemini_usage_and_google_api_key_fallback(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key-4242")
    provider_env.queue(
        "gemini",
        Reply(200, gemini_response("ok", prompt_tokens=300, candidate_tokens=9, cached_tokens=200)),
    )
    response = complete_once(gemini.create(), LlmRequest("gemini", "gemini-2.5-pro", "x"))
    assert provider_env.requests[0].headers["x-goog-api-key"] == "google-key-4242"
    assert (response.input_tokens, response.output_tokens, response.cached_input_tokens) == (
        300,
        9,
        200,
    )


@pytest.mark.parametrize(
    "make, provider, env",
    [
        (lambda: openai_compat.create("openai", None), "openai", "OPENAI_API_KEY"),
        (anthropic.create, "anthropic", "ANTHROPIC_API_KEY"),
        (gemini.create, "gemini", "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_missing_key_is_a_config_error_naming_the_variable(
    provider_env: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    provider: str,
    env: str,
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=env) as caught:
        complete_once(make(), LlmRequest(provider, "m", "hi"))
    assert caught.value.kind == "config"
    assert provider_env.requests == []  # nothing was sent


def pool_count() -> int:
    """How many clients (connection pools) the running event loop holds."""
    pools = _http._POOLS.get(asyncio.get_running_loop())
    return len(pools.clients) if pools is not None else 0


def test_one_pool_per_provider_reused_across_calls_and_closed(
    provider_env: LoopbackServer,
) -> None:
    async def go() -> tuple[int, int, int]:
        openai_p = openai_compat.create("openai", None)
        claude = anthropic.create()
        await asyncio.gather(
            *(openai_p.complete(LlmRequest("openai", "gpt-4o", f"q{i}")) for i in range(5)),
            claude.complete(LlmRequest("anthropic", "claude-3-haiku", "q")),
        )
        during = pool_count()
        await openai_p.aclose()
        after_one = pool_count()
        await claude.aclose()
        return during, after_one, pool_count()

    assert asyncio.run(go()) == (2, 1, 0)
    # A second event loop (a second asyncio.run) gets its own pool and works.
    again = LlmRequest("openai", "m", "again")
    assert complete_once(openai_compat.create("openai", None), again).text


def test_step_timeout_caps_the_read_timeout(provider_env: LoopbackServer) -> None:
    provider_env.queue("openai", Reply(stall=True))
    with pytest.raises(LlmError) as caught:
        complete_once(
            openai_compat.create("openai", None),
            LlmRequest("openai", "gpt-4o", "slow", timeout=0.1),
        )
    assert caught.value.kind == "timeout"


def test_clients_close_when_the_loop_shuts_down_without_aclose(
    provider_env: LoopbackServer,
) -> None:
    from mmoc_runtime.providers import _http

    seen: list[Any] = []

    async def go() -> None:
        provider = openai_compat.create("openai", None)
        await provider.complete(LlmRequest("openai", "gpt-4o", "q"))
        await provider.complete(LlmRequest("openai", "gpt-4o", "q2"))
        pools = _http._POOLS[asyncio.get_running_loop()]
        seen.extend(pools.clients.values())

    asyncio.run(go())  # never calls aclose
    assert len(seen) == 1  # both calls shared one client
    assert seen[0].is_closed


def test_registry_builds_these_adapters_and_they_satisfy_the_protocol(
    provider_env: LoopbackServer,
) -> None:
    from mmoc_runtime.catalog import parse_model_id
    from mmoc_runtime.providers import ProviderRegistry
    from mmoc_runtime.providers.base import Provider

    registry = ProviderRegistry()
    local = EndpointSpec("local", provider_env.url + "/v1")
    built = {
        model: registry.get(parse_model_id(model), (local,))
        for model in ("gpt-4", "ollama/llama3", "claude-3-haiku", "gemini-2.5-flash", "local/x")
    }
    assert isinstance(built["gpt-4"], openai_compat.OpenAICompatProvider)
    assert built["ollama/llama3"].name == "ollama"
    assert isinstance(built["claude-3-haiku"], anthropic.AnthropicProvider)
    assert isinstance(built["gemini-2.5-flash"], gemini.GeminiProvider)
    assert built["local/x"].name == "local"
    assert all(isinstance(p, Provider) for p in built.values())
    for provider in built.values():
        assert all(key not in repr(provider) for key in (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY))
