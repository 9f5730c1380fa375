"""The loopback server's bodies are the real formats: the official SDKs parse them.

Each SDK (test-only dependency) is pointed at the loopback server. It must parse the server's
success and error bodies into its own types, and the request it sends must match ours in
path, auth headers and body, so neither the fixtures nor the adapters can drift.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import anthropic as anthropic_sdk
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest
from support.loopback import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    LoopbackServer,
    Recorded,
    Reply,
    anthropic_error,
    anthropic_message,
    complete_once,
    gemini_blocked,
    gemini_error,
    gemini_response,
    openai_completion,
    openai_error,
    rate_limited,
)

# Every agreement test asks for "cats" with these settings; `sdk_twin` is our request for it.
SDK_SETTINGS: dict[str, Any] = {
    "system": "Be brief.",
    "temperature": 0.5,
    "max_tokens": 20,
    "stop": ("END",),
}

# Request headers that carry meaning: auth, API version, body type. The rest differ by client
# (user-agent, x-stainless-*, x-goog-api-client, accept, content-length) and are left out.
HEADERS_THAT_MATTER = ("authorization", "x-api-key", "x-goog-api-key", "anthropic-version",
                       "content-type")

# A schema every provider decodes against natively (closed, every property required).
CLOSED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "the cat's name"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["big", "small"]}},
    },
    "required": ["name", "tags"],
    "additionalProperties": False,
}


def sdk_twin(provider: str, model: str, **changes: Any) -> LlmRequest:
    """Our request for what the SDK was asked (`changes` where that SDK was asked otherwise)."""
    return LlmRequest(provider, model, "cats", **{**SDK_SETTINGS, **changes})


def sent_by_sdk_and_ours(
    server: LoopbackServer, adapter: Any, request: LlmRequest
) -> tuple[Recorded, Recorded]:
    """(the SDK's first request, the one our adapter sends for `request` on a fresh log)."""
    sdk_request = server.requests[0]
    server.reset()
    complete_once(adapter, request)
    return sdk_request, server.requests[0]


def wire(request: Recorded) -> dict[str, Any]:
    """What must be equal between the SDK's request and ours."""
    headers = {k: v for k, v in request.headers.items() if k in HEADERS_THAT_MATTER}
    return {"method": request.method, "path": request.path, "headers": headers,
            "body": request.body}


def test_fixture_bodies_validate_as_sdk_types() -> None:
    openai.types.chat.ChatCompletion.model_validate(openai_completion("hi", cached_tokens=3))
    openai.types.chat.ChatCompletion.model_validate(openai_completion("hi", usage=False))
    anthropic_sdk.types.Message.model_validate(anthropic_message("hi", cache_read=2))
    anthropic_sdk.types.ErrorResponse.model_validate(anthropic_error("overloaded_error", "x"))
    anthropic_sdk.types.ErrorResponse.model_validate(
        anthropic_error("rate_limit_error", "x", "enforced_spend_limit_reached")
    )
    parsed = genai_types.GenerateContentResponse.model_validate(
        gemini_response("hi", cached_tokens=4)
    )
    assert parsed.text == "hi" and parsed.usage_metadata.cached_content_token_count == 4
    blocked = genai_types.GenerateContentResponse.model_validate(gemini_blocked())
    assert blocked.prompt_feedback.block_reason == genai_types.BlockedReason.SAFETY
    openai.types.shared.ErrorObject.model_validate(
        openai_error("m", "insufficient_quota", "q")["error"]
    )


def test_openai_sdk_and_adapter_agree(provider_env: LoopbackServer) -> None:
    async def sdk_call() -> Any:
        client = openai.AsyncOpenAI(
            api_key=OPENAI_KEY, base_url=provider_env.url + "/v1", max_retries=0
        )
        async with client:
            result = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "cats"},
                ],
                temperature=0.5,
                max_completion_tokens=20,
                stop=["END"],
            )
            provider_env.queue("openai", rate_limited("openai", "3"))
            with pytest.raises(openai.RateLimitError) as rate:
                await client.chat.completions.create(model="m", messages=[])
            quota = openai_error(
                "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
            )
            provider_env.queue("openai", Reply(429, quota))
            with pytest.raises(openai.RateLimitError) as exhausted:
                await client.chat.completions.create(model="m", messages=[])
            return result, rate.value, exhausted.value

    result, rate, exhausted = asyncio.run(sdk_call())
    assert result.choices[0].message.content == "[openai] cats"
    assert result.usage.prompt_tokens == 1
    assert rate.status_code == 429 and rate.response.headers["retry-after"] == "3"
    assert exhausted.code == "insufficient_quota"
    sdk_request, our_request = sent_by_sdk_and_ours(
        provider_env, openai_compat.create("openai", None), sdk_twin("openai", "gpt-4o-mini")
    )
    assert our_request.path == "/v1/chat/completions"
    assert wire(our_request) == wire(sdk_request)


def test_anthropic_sdk_and_adapter_agree(provider_env: LoopbackServer) -> None:
    async def sdk_call() -> Any:
        client = anthropic_sdk.AsyncAnthropic(
            api_key=ANTHROPIC_KEY, base_url=provider_env.url, max_retries=0
        )
        async with client:
            result = await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=1024,
                system="Be brief.",
                messages=[{"role": "user", "content": "cats"}],
                stop_sequences=["END"],
            )
            provider_env.queue(
                "anthropic", Reply(529, anthropic_error("overloaded_error", "Overloaded"))
            )
            with pytest.raises(anthropic_sdk.APIStatusError) as overloaded:
                await client.messages.create(model="m", max_tokens=1, messages=[])
            spend = anthropic_error("rate_limit_error", "limit", "enforced_spend_limit_reached")
            provider_env.queue("anthropic", Reply(429, spend))
            with pytest.raises(anthropic_sdk.RateLimitError) as limited:
                await client.messages.create(model="m", max_tokens=1, messages=[])
            return result, overloaded.value, limited.value

    result, overloaded, limited = asyncio.run(sdk_call())
    assert result.content[0].text == "[anthropic] cats"
    assert result.usage.input_tokens == 1
    assert overloaded.status_code == 529 and overloaded.body["error"]["type"] == "overloaded_error"
    assert limited.error_code == "enforced_spend_limit_reached"
    # The SDK was told max_tokens=1024: our request sets none and the adapter's default fills in.
    # The SDK has no temperature (API version 2026-10-21 rejects it): neither has our request.
    sdk_request, our_request = sent_by_sdk_and_ours(
        provider_env,
        anthropic.create(),
        sdk_twin("anthropic", "claude-haiku-4-5", max_tokens=None, temperature=None),
    )
    assert our_request.path == "/v1/messages"
    assert sdk_request.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"
    assert wire(our_request) == wire(sdk_request)


def test_gemini_sdk_and_adapter_agree(provider_env: LoopbackServer) -> None:
    async def sdk_call() -> Any:
        client = genai.Client(
            api_key=GEMINI_KEY,
            http_options=genai_types.HttpOptions(base_url=provider_env.url, api_version="v1beta"),
        )
        config = genai_types.GenerateContentConfig(
            system_instruction="Be brief.",
            temperature=0.5,
            max_output_tokens=20,
            stop_sequences=["END"],
        )
        result = await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="cats", config=config
        )
        provider_env.queue(
            "gemini", Reply(429, gemini_error(429, "RESOURCE_EXHAUSTED", "slow down", "7s"))
        )
        with pytest.raises(genai_errors.ClientError) as limited:
            await client.aio.models.generate_content(model="gemini-2.5-flash", contents="x")
        await client.aio.aclose()
        client.close()
        return result, limited.value

    result, limited = asyncio.run(sdk_call())
    assert result.text == "[gemini] cats"
    assert result.usage_metadata.prompt_token_count == 1
    assert limited.code == 429 and limited.status == "RESOURCE_EXHAUSTED"
    assert limited.details["error"]["details"][0]["retryDelay"] == "7s"
    sdk_request, our_request = sent_by_sdk_and_ours(
        provider_env, gemini.create(), sdk_twin("gemini", "gemini-2.5-flash")
    )
    assert our_request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert wire(our_request) == wire(sdk_request)


# -- the same call, plain and structured, with and without a system prompt, per provider ------

VARIANTS = {
    "plain": (None, None),
    "plain+system": ("Be brief.", None),
    "structured": (None, CLOSED_SCHEMA),
    "structured+system": ("Be brief.", CLOSED_SCHEMA),
}


def run_sdk(server: LoopbackServer, call: Any) -> Recorded:
    """Run the SDK coroutine function `call` once; the request it sent."""
    server.reset()
    asyncio.run(call())
    (sent,) = server.requests
    return sent


def ours(server: LoopbackServer, adapter: Any, request: LlmRequest) -> Recorded:
    server.reset()
    complete_once(adapter, request)
    (sent,) = server.requests
    return sent


def our_request(provider: str, model: str, system: str | None,
                schema: dict[str, Any] | None) -> LlmRequest:
    return sdk_twin(provider, model, system=system, json_output=schema is not None,
                    json_schema=schema)


@pytest.mark.parametrize("variant", VARIANTS)
def test_openai_request_equals_the_sdks(provider_env: LoopbackServer, variant: str) -> None:
    system, schema = VARIANTS[variant]

    async def sdk_call() -> None:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": "cats"})
        extra: dict[str, Any] = {}
        if schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": True},
            }
        client = openai.AsyncOpenAI(
            api_key=OPENAI_KEY, base_url=provider_env.url + "/v1", max_retries=0
        )
        async with client:
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=messages,  # type: ignore[arg-type]
                temperature=0.5, max_completion_tokens=20, stop=["END"], **extra,
            )

    sdk = run_sdk(provider_env, sdk_call)
    mine = ours(provider_env, openai_compat.create("openai", None),
                our_request("openai", "gpt-4o-mini", system, schema))
    assert wire(mine) == wire(sdk)


def test_openai_open_schema_is_sent_non_strict(provider_env: LoopbackServer) -> None:
    """Strict mode needs every object closed and fully required: an open schema goes non-strict
    (the SDK sends what it is given, so this pins what we chose to send)."""
    open_schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []}

    async def sdk_call() -> None:
        client = openai.AsyncOpenAI(
            api_key=OPENAI_KEY, base_url=provider_env.url + "/v1", max_retries=0
        )
        async with client:
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "cats"}],
                max_completion_tokens=20,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": open_schema, "strict": False},
                },
            )

    sdk = run_sdk(provider_env, sdk_call)
    mine = ours(provider_env, openai_compat.create("openai", None),
                LlmRequest("openai", "gpt-4o-mini", "cats", max_tokens=20, json_output=True,
                           json_schema=open_schema))
    assert wire(mine) == wire(sdk)


@pytest.mark.parametrize("variant", VARIANTS)
def test_anthropic_request_equals_the_sdks(provider_env: LoopbackServer, variant: str) -> None:
    system, schema = VARIANTS[variant]

    async def sdk_call() -> None:
        extra: dict[str, Any] = {}
        if system:
            extra["system"] = system
        if schema is not None:
            extra["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        client = anthropic_sdk.AsyncAnthropic(
            api_key=ANTHROPIC_KEY, base_url=provider_env.url, max_retries=0
        )
        async with client:
            await client.messages.create(
                model="claude-haiku-4-5", max_tokens=20,
                messages=[{"role": "user", "content": "cats"}], stop_sequences=["END"], **extra,
            )

    sdk = run_sdk(provider_env, sdk_call)
    request = replace(our_request("anthropic", "claude-haiku-4-5", system, schema),
                      temperature=None)  # the SDK has none (see test_wire_requests)
    mine = ours(provider_env, anthropic.create(), request)
    assert wire(mine) == wire(sdk)


@pytest.mark.parametrize("variant", VARIANTS)
def test_gemini_request_equals_the_sdks(provider_env: LoopbackServer, variant: str) -> None:
    system, schema = VARIANTS[variant]

    async def sdk_call() -> None:
        client = genai.Client(
            api_key=GEMINI_KEY,
            http_options=genai_types.HttpOptions(base_url=provider_env.url, api_version="v1beta"),
        )
        structured: dict[str, Any] = {}
        if schema is not None:
            structured = {"response_mime_type": "application/json",
                          "response_json_schema": schema}
        config = genai_types.GenerateContentConfig(
            system_instruction=system, temperature=0.5, max_output_tokens=20,
            stop_sequences=["END"], **structured,
        )
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="cats", config=config
        )
        await client.aio.aclose()
        client.close()

    sdk = run_sdk(provider_env, sdk_call)
    mine = ours(provider_env, gemini.create(),
                our_request("gemini", "gemini-2.5-flash", system, schema))
    assert wire(mine) == wire(sdk)
