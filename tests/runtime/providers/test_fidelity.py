"""The loopback server's bodies are the real formats: the official SDKs parse them.

Each SDK (test-only dependency) is pointed at the loopback server. It must parse the server's
success and error bodies into its own types, and the request it sends must match ours in
path, auth headers and body, so neither the fixtures nor the adapters can drift.
"""

from __future__ import annotations

import asyncio
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

# What each agreement test asks its SDK for ("cats" with these settings), as our request.
SDK_SETTINGS: dict[str, Any] = {
    "system": "Be brief.",
    "temperature": 0.5,
    "max_tokens": 20,
    "stop": ("END",),
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
                max_tokens=20,
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
    assert our_request.path == sdk_request.path == "/v1/chat/completions"
    assert our_request.headers["authorization"] == sdk_request.headers["authorization"]
    assert our_request.body == sdk_request.body


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
                # This SDK release dropped the `temperature` argument; the API field remains.
                extra_body={"temperature": 0.5},
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
    sdk_request, our_request = sent_by_sdk_and_ours(
        provider_env, anthropic.create(), sdk_twin("anthropic", "claude-haiku-4-5", max_tokens=None)
    )
    assert our_request.path == sdk_request.path == "/v1/messages"
    # This SDK release authenticates with a bearer token and pins a newer API version; we keep
    # the documented `x-api-key` and pin `2023-06-01`, which the API keeps serving.
    assert our_request.headers["x-api-key"] == ANTHROPIC_KEY
    assert sdk_request.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"
    assert our_request.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-version" in sdk_request.headers
    assert our_request.body == sdk_request.body


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
    assert our_request.path == sdk_request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert our_request.headers["x-goog-api-key"] == sdk_request.headers["x-goog-api-key"]
    sdk_body, our_body = sdk_request.body, our_request.body
    assert our_body["contents"] == sdk_body["contents"]
    assert our_body["generationConfig"] == sdk_body["generationConfig"]
    assert our_body["systemInstruction"]["parts"] == sdk_body["systemInstruction"]["parts"]
