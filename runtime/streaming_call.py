"""One streamed model call: the llm path's `reply` when the run streams.

The provider's `stream(request)` gives the reply's text in pieces, then the `LlmResponse`;
each piece goes to the run's `on_text(step, text)` as it arrives, and the first one dates the
attempt's time to first token. A provider without `stream` is called with `complete`, and its
whole text is one piece.

The step's `timeout` bounds the wait for the first piece and every gap between two pieces
(a stream that keeps sending may run longer): an expired wait is an error of kind `timeout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from .errors import LlmError
from .providers.base import LlmRequest, LlmResponse, Provider
from .trace import AttemptTrace


async def streamed_reply(
    provider: Provider,
    request: LlmRequest,
    timeout: float | None,
    limit: asyncio.Semaphore | None,
    attempt: AttemptTrace,
    on_text: Callable[[str, str], Any],
    clock: Callable[[], float],
    started: float,
) -> LlmResponse:
    """Stream one reply (see the module doc); its `LlmResponse`."""
    if limit is None:
        return await _stream(provider, request, timeout, attempt, on_text, clock, started)
    async with limit:
        return await _stream(provider, request, timeout, attempt, on_text, clock, started)


async def _stream(
    provider: Provider,
    request: LlmRequest,
    timeout: float | None,
    attempt: AttemptTrace,
    on_text: Callable[[str, str], Any],
    clock: Callable[[], float],
    started: float,
) -> LlmResponse:
    stream = getattr(provider, "stream", None)
    if stream is None:
        parts: AsyncIterator[str | LlmResponse] = _whole(provider, request)
    else:
        parts = stream(request)
    step = request.step
    try:
        while True:
            if timeout is None:
                part = await anext(parts)
            else:
                part = await _next_within(parts, timeout, request)
            if type(part) is str:
                if attempt.ttft_ms is None:
                    attempt.ttft_ms = (clock() - started) * 1000.0
                on_text(step, part)
            elif isinstance(part, LlmResponse):
                return part
    except StopAsyncIteration:
        raise LlmError(
            "stream_interrupted", f"{request.provider}/{request.model}: the stream ended "
            "without its reply", provider=request.provider, model=request.model,
        ) from None
    finally:
        aclose = getattr(parts, "aclose", None)
        if aclose is not None:
            await aclose()


async def _next_within(
    parts: AsyncIterator[str | LlmResponse], timeout: float, request: LlmRequest
) -> str | LlmResponse:
    try:
        async with asyncio.timeout(timeout) as scope:
            return await anext(parts)
    except TimeoutError:
        if not scope.expired():
            raise  # the provider's own timeout error, with its own message
        raise LlmError(
            "timeout", f"{request.provider}/{request.model}: no data within {timeout:g}s",
            provider=request.provider, model=request.model,
        ) from None


async def _whole(provider: Provider, request: LlmRequest) -> AsyncIterator[str | LlmResponse]:
    """A provider without `stream`: its whole reply as one piece."""
    response = await provider.complete(request)
    if response.text:
        yield response.text
    yield response
