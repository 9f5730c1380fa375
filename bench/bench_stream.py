"""Streaming overhead: time to first token of a streamed step vs bare httpx reading the stream.

A loopback server (a subprocess, plain asyncio, keep-alive) answers every POST with the same
OpenAI `chat.completion.chunk` event stream (chunked, each event its own write: the role, the
text in `--pieces` pieces, the finish reason, the usage chunk, `[DONE]`). In one run, taking
turns, we time from the start of the call to the first piece of text:

- bare:   `httpx.AsyncClient.stream("POST", ...)`, lines read and decoded until the first
          `data:` event whose delta has content (the least a client must do);
- stream: `mmoc_runtime.stream(spec, {})` of a one-step pipeline (`openai/<model>`, a retry
          policy), to its first `TextDelta`: input checks, the trace, the prompt, the
          provider's SSE decoding and the event queue included.

Both read their stream to the end (the connection goes back to the pool). The figure is the
median overhead, stream - bare, in milliseconds (target: under 1 ms); p90 beside it.

On a loaded machine that figure is mostly scheduling noise, so the runtime's own share is
measured apart too, with a provider that needs no network (one loop turn stands for it): the
time from `stream(...)` to the provider's `stream` (everything before the request) and from
the provider's first piece to the caller's `TextDelta`.

    python -m bench.bench_stream [--calls N] [--pieces P]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from contextlib import AbstractContextManager
from typing import Any

from bench import loopback_server

SERVER = r"""
import asyncio, json, sys
pieces = int(sys.argv[1])

def event(data):
    text = data if isinstance(data, str) else json.dumps(data)
    payload = f"data: {text}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(payload), payload)

def chunk(delta, finish=None):
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

EVENTS = [event(chunk({"role": "assistant", "content": ""}))]
EVENTS += [event(chunk({"content": f"tok{i} "})) for i in range(pieces)]
EVENTS += [event(chunk({}, "stop")),
           event({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
                  "model": "gpt-4o-mini", "choices": [],
                  "usage": {"prompt_tokens": 5, "completion_tokens": pieces,
                            "total_tokens": 5 + pieces}}),
           event("[DONE]"), b"0\r\n\r\n"]
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"transfer-encoding: chunked\r\n\r\n")

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(HEAD)
            for data in EVENTS:
                writer.write(data)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def start_server(pieces: int) -> AbstractContextManager[str]:
    return loopback_server(SERVER, str(pieces))


async def bare_ttft(client: Any, base: str) -> float:
    """Seconds to the first text piece, reading the stream with httpx alone."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}],
            "stream": True, "stream_options": {"include_usage": True}}
    headers = {"Authorization": "Bearer bench-key", "Accept": "text/event-stream"}
    first: float | None = None
    started = time.perf_counter()
    async with client.stream("POST", base + "/v1/chat/completions", json=body,
                             headers=headers) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:])["choices"]
                if choices and choices[0]["delta"].get("content"):
                    first = time.perf_counter()
    assert first is not None
    return first - started


async def stream_ttft(spec: Any, providers: Any) -> float:
    """Seconds to the first `TextDelta` of a streamed one-step run."""
    from mmoc_runtime import RunFinished, TextDelta, stream

    first: float | None = None
    started = time.perf_counter()
    async for event in stream(spec, {}, providers=providers):
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter()
        elif isinstance(event, RunFinished):
            assert event.success, event.error
    assert first is not None
    return first - started


async def measure(base: str, calls: int) -> tuple[list[float], list[float]]:
    """TTFTs (seconds) of `calls` bare and `calls` streamed calls, taking turns, warm pools."""
    import httpx
    from mmoc_runtime import LlmStep, PipelineSpec, RetryStrategy
    from mmoc_runtime.providers import ProviderRegistry

    spec = PipelineSpec("bench_stream", steps=(
        LlmStep("ask", "openai/gpt-4o-mini", "ping", "answer",
                retry=RetryStrategy(max_retries=2)),))
    providers = ProviderRegistry()
    bare: list[float] = []
    streamed: list[float] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(20):  # warm both: connections, imports, caches
            await bare_ttft(client, base)
            await stream_ttft(spec, providers)
        for _ in range(calls):
            bare.append(await bare_ttft(client, base))
            streamed.append(await stream_ttft(spec, providers))
    await providers.aclose_all()
    return bare, streamed


class _Marks:
    """A provider without HTTP that notes when it is called and when its text is ready."""

    name = "marks"

    def __init__(self) -> None:
        self.entered = self.ready = 0.0

    async def complete(self, request: Any) -> Any:  # pragma: no cover - streamed only
        raise NotImplementedError

    async def stream(self, request: Any) -> Any:
        from mmoc_runtime import LlmResponse

        self.entered = time.perf_counter()
        await asyncio.sleep(0)  # where the network would be: one turn of the loop
        self.ready = time.perf_counter()
        yield "pong"
        yield LlmResponse("pong", 1, 1)

    async def aclose(self) -> None:
        return None


async def runtime_share(calls: int) -> tuple[float, float]:
    """Median seconds (before the request, from the first piece to its `TextDelta`)."""
    from mmoc_runtime import LlmStep, PipelineSpec, RetryStrategy, TextDelta, stream
    from mmoc_runtime.providers import ProviderRegistry

    marks = _Marks()
    providers = ProviderRegistry()
    providers.register("marks", marks)
    spec = PipelineSpec("bench_share", steps=(
        LlmStep("ask", "marks/m", "ping", "answer", retry=RetryStrategy(max_retries=2)),))
    before: list[float] = []
    after: list[float] = []
    for turn in range(calls + 50):
        started, first = time.perf_counter(), 0.0
        async for event in stream(spec, {}, providers=providers):
            if not first and isinstance(event, TextDelta):
                first = time.perf_counter()
        if turn >= 50:  # the first turns warm caches
            before.append(marks.entered - started)
            after.append(first - marks.ready)
    return statistics.median(before), statistics.median(after)


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000.0 if q != 50 else (
        statistics.median(values) * 1000.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per side")
    parser.add_argument("--pieces", type=int, default=20, help="text pieces per reply")
    args = parser.parse_args(argv if argv is not None else [])
    with start_server(args.pieces) as base:
        bare, streamed = asyncio.run(measure(base, args.calls))
        print(f"{'':>8} {'bare httpx':>11} {'mmoc stream':>12} {'overhead':>9}")
        for label, q in (("median", 50), ("p90", 90)):
            b, s = _ms(bare, q), _ms(streamed, q)
            print(f"{label:>8} {b:>9.3f}ms {s:>10.3f}ms {s - b:>7.3f}ms", flush=True)
        paired = statistics.median(s - b for s, b in zip(streamed, bare, strict=True)) * 1000
        print(f"{'paired':>8} {'':>11} {'':>12} {paired:>7.3f}ms  (median of per-turn "
              "differences)")
        print("time to first token from the call's start; overhead = stream - bare "
              "(target: median under 1 ms)")
        before, after = asyncio.run(runtime_share(args.calls * 4))
        print(f"runtime's own share (no network): {before * 1e6:.0f} us before the request, "
              f"{after * 1e6:.0f} us from the first piece to its TextDelta", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
