"""The loopback server's streams are the real formats: the official SDKs read them, and read
the same text and usage from them as mmoc's adapters do; the SDKs' streamed requests ask for
a stream as ours do.

Each SDK (a test-only dependency) is pointed at the loopback server and asked to stream; then
mmoc's adapter streams the same reply from it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic as anthropic_sdk
import openai
from google import genai
from google.genai import types as genai_types
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest, LlmResponse
from support.loopback import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, LoopbackServer


async def ours(adapter: Any, request: LlmRequest) -> tuple[list[str], LlmResponse]:
    pieces: list[str] = []
    try:
        async for part in adapter.stream(request):
            if isinstance(part, str):
                pieces.append(part)
            else:
                return pieces, part
    finally:
        await adapter.aclose()
    raise AssertionError("the stream gave no response")


def test_openai_sdk_reads_the_stream_as_we_do(provider_env: LoopbackServer) -> None:
    async def sdk() -> tuple[list[str], Any]:
        client = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=provider_env.url + "/v1",
                                    max_retries=0)
        pieces, usage = [], None
        async with client:
            chunks = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "cats"}],
                stream=True, stream_options={"include_usage": True})
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                usage = chunk.usage or usage
        return pieces, usage

    sdk_pieces, usage = asyncio.run(sdk())
    sdk_body = provider_env.requests[0].body
    provider_env.reset()
    request = LlmRequest("openai", "gpt-4o-mini", "cats")
    pieces, response = asyncio.run(ours(openai_compat.create("openai"), request))
    assert pieces == sdk_pieces and len(pieces) > 1
    assert response.text == "".join(sdk_pieces)
    assert (response.input_tokens, response.output_tokens) == (usage.prompt_tokens,
                                                               usage.completion_tokens)
    assert provider_env.requests[0].body == sdk_body  # stream flags included


def test_anthropic_sdk_reads_the_stream_as_we_do(provider_env: LoopbackServer) -> None:
    async def sdk() -> tuple[list[str], Any]:
        client = anthropic_sdk.AsyncAnthropic(api_key=ANTHROPIC_KEY, base_url=provider_env.url,
                                              max_retries=0)
        async with client, client.messages.stream(
                model="claude-haiku-4-5", max_tokens=100,
                messages=[{"role": "user", "content": "cats"}]) as stream:
            pieces = [text async for text in stream.text_stream]
            return pieces, await stream.get_final_message()

    sdk_pieces, message = asyncio.run(sdk())
    sdk_sent = provider_env.requests[0]
    provider_env.reset()
    request = LlmRequest("anthropic", "claude-haiku-4-5", "cats", max_tokens=100)
    pieces, response = asyncio.run(ours(anthropic.create(), request))
    sent = provider_env.requests[0]
    assert sent.body == sdk_sent.body and sent.body["stream"] is True
    for header in ("anthropic-version", "authorization"):
        assert sent.headers.get(header) == sdk_sent.headers.get(header)
    assert pieces == sdk_pieces and len(pieces) > 1
    assert response.text == message.content[0].text
    assert (response.input_tokens, response.output_tokens) == (message.usage.input_tokens,
                                                               message.usage.output_tokens)
    assert response.finish_reason == message.stop_reason


def test_gemini_sdk_reads_the_stream_as_we_do(provider_env: LoopbackServer) -> None:
    async def sdk() -> tuple[list[str], Any]:
        client = genai.Client(
            api_key=GEMINI_KEY,
            http_options=genai_types.HttpOptions(base_url=provider_env.url, api_version="v1beta"),
        )
        pieces, usage = [], None
        async for chunk in await client.aio.models.generate_content_stream(
                model="gemini-2.5-flash-lite", contents="cats"):
            if chunk.text:
                pieces.append(chunk.text)
            usage = chunk.usage_metadata or usage
        return pieces, usage

    sdk_pieces, usage = asyncio.run(sdk())
    sdk_sent = provider_env.requests[0]
    provider_env.reset()
    request = LlmRequest("gemini", "gemini-2.5-flash-lite", "cats")
    pieces, response = asyncio.run(ours(gemini.create(), request))
    sent = provider_env.requests[0]
    assert (sent.path, sent.body) == (sdk_sent.path, sdk_sent.body)
    assert pieces == sdk_pieces and len(pieces) > 1
    assert (response.input_tokens, response.output_tokens) == (usage.prompt_token_count,
                                                               usage.candidates_token_count)


def test_streamed_calls_reuse_one_connection(provider_env: LoopbackServer) -> None:
    """After its closing event a stream is read to its end, so the next call reuses the
    connection (an unread HTTP/1.1 body would close it)."""
    adapters = {"openai": openai_compat.create("openai"), "anthropic": anthropic.create()}
    models = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}

    async def three_each() -> None:
        for name, adapter in adapters.items():
            for _ in range(3):
                async for _part in adapter.stream(LlmRequest(name, models[name], "cats")):
                    pass
        for adapter in adapters.values():
            await adapter.aclose()

    asyncio.run(three_each())
    assert len(provider_env.requests) == 6
    assert provider_env.connections == 2  # one per provider (each has its own pool)
