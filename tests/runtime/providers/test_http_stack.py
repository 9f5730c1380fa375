"""The HTTP stack's pool and streaming primitive, against a raw asyncio server in the test's loop.

- A map or batch of hundreds of concurrent calls is never throttled by the pool, and keeps a
  keep-alive connection for every call that was in flight (the next burst opens none).
- `MMOC_HTTP_MAX_CONNECTIONS` bounds the pool; a bad value is a clear `ConfigError`.
- `stream_post` yields a reply's bytes as they come, and maps a broken stream, an idle gap and
  an error status onto the runtime's error kinds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mmoc_runtime.errors import ConfigError, LlmError
from mmoc_runtime.providers import _http

REPLY = json.dumps({"ok": True}).encode()
OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Counting:
    """Counts connections and requests in flight; holds every reply until `release` is set."""

    def __init__(self) -> None:
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.release = asyncio.Event()
        self.wanted = 0  # set `release` once this many requests are in flight at once

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await read_request(reader)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                if self.in_flight >= self.wanted:
                    self.release.set()
                await self.release.wait()
                self.in_flight -= 1
                writer.write(OK_HEAD % len(REPLY) + REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line[15:]) for line in head.split(b"\r\n")
                   if line[:15].lower() == b"content-length:"), 0)
    return await reader.readexactly(length)


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


CALL = _http.Call("openai", "m", "sk-secret-http-stack-0001")
TIMEOUTS = _http.Timeouts(connect=30.0, read=60.0)


async def post(base: str) -> Any:
    return await _http.post_json(CALL, base, "/v1/x", {}, {"q": 1}, TIMEOUTS)


def test_hundreds_of_concurrent_calls_are_not_throttled_and_stay_connected() -> None:
    calls = 300  # over the old pool's 100: with it, the server never sees them all at once

    async def go() -> Counting:
        counting = Counting()
        counting.wanted = calls
        server, base = await serve(counting.handle)
        try:
            first = await asyncio.wait_for(
                asyncio.gather(*(post(base) for _ in range(calls))), timeout=60)
            assert all(reply == {"ok": True} for reply in first)
            opened = counting.connections
            counting.release.clear()
            await asyncio.wait_for(asyncio.gather(*(post(base) for _ in range(calls))), timeout=60)
            assert counting.connections == opened  # every connection was kept alive, reused
        finally:
            await _http.close_pools()
            server.close()
        return counting

    counting = asyncio.run(go())
    assert counting.most_in_flight == calls
    assert counting.connections == calls


def test_the_connection_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_http.MAX_CONNECTIONS_ENV, "4")

    async def go() -> Counting:
        counting = Counting()
        counting.wanted = 4  # the most the pool may have in flight: then answer everything
        server, base = await serve(counting.handle)
        try:
            await asyncio.wait_for(asyncio.gather(*(post(base) for _ in range(20))), timeout=60)
        finally:
            await _http.close_pools()
            server.close()
        return counting

    counting = asyncio.run(go())
    assert counting.most_in_flight == 4 and counting.connections == 4


@pytest.mark.parametrize(("raw", "expected"), [("0", None), ("250", 250), (" ", 1000)])
def test_max_connections_reads_zero_as_no_limit(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int | None
) -> None:
    monkeypatch.setenv(_http.MAX_CONNECTIONS_ENV, raw)
    assert _http.max_connections() == expected


@pytest.mark.parametrize("raw", ["-1", "many", "2.5"])
def test_a_bad_connection_limit_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(_http.MAX_CONNECTIONS_ENV, raw)
    with pytest.raises(ConfigError, match=_http.MAX_CONNECTIONS_ENV):
        _http.max_connections()


# --------------------------------------------------------------------------- stream_post


def chunked(*pieces: bytes, end: bool = True) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return head + body + (b"0\r\n\r\n" if end else b"")


async def collect(base: str, read: float = 60.0) -> list[bytes]:
    timeouts = _http.Timeouts(connect=30.0, read=read)
    got: list[bytes] = []
    try:
        async for chunk in _http.stream_post(CALL, base, "/v1/s", {}, {"q": 1}, timeouts):
            got.append(chunk)
    finally:
        await _http.close_pools()
    return got


def stream_with(reply: bytes, then: str = "close") -> list[bytes] | LlmError:
    """The chunks `stream_post` yields from a server that sends `reply`, then closes or stalls."""
    stall = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()
        if then == "stall":
            await stall.wait()
        writer.close()

    async def go() -> list[bytes] | LlmError:
        server, base = await serve(handle)
        try:
            return await collect(base, read=0.2 if then == "stall" else 60.0)
        except LlmError as exc:
            return exc
        finally:
            stall.set()
            server.close()

    return asyncio.run(go())


def test_stream_post_yields_the_reply_as_it_comes() -> None:
    got = stream_with(chunked(b"data: 1\n\n", b"data: 2\n\n"))
    assert isinstance(got, list) and b"".join(got) == b"data: 1\n\ndata: 2\n\n"


def test_a_stream_that_breaks_off_is_stream_interrupted() -> None:
    got = stream_with(chunked(b"data: 1\n\n", end=False))
    assert isinstance(got, LlmError) and got.kind == "stream_interrupted"


def test_a_stream_that_goes_quiet_is_a_timeout() -> None:
    got = stream_with(chunked(b"data: 1\n\n", end=False), then="stall")
    assert isinstance(got, LlmError) and got.kind == "timeout"


def test_a_streamed_error_status_is_mapped_like_a_plain_call() -> None:
    body = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()
    reply = (b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
             b"retry-after: 7\r\ncontent-length: %d\r\n\r\n" % len(body)) + body
    got = stream_with(reply)
    assert isinstance(got, LlmError)
    assert (got.kind, got.status, got.retry_after) == ("rate_limit", 429, 7.0)
    assert "slow down" in str(got)
