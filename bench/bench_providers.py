"""Real-provider overhead: requests/s through the runtime's llm-step path vs bare httpx.

A loopback server (a subprocess, plain asyncio, zero delay, keep-alive) answers every POST
with the same Chat Completions body. In one run, at concurrency 1 and 64, we time:

- bare:    `httpx.AsyncClient.post` + `response.json()`, N requests from C workers;
- runtime: N one-step pipeline runs (`mmoc_runtime.execute`, `openai/<model>`, with a retry
           policy, a breaker policy and an observer) from C concurrent workers, through the
           OpenAI-compatible adapter and its shared connection pool.

The figure is the ratio bare/runtime in requests per second (1.0 = no overhead; the target
is at most 1.3). Each configuration is measured `ROUNDS` times, alternating, best kept.
Bounded request counts: it stops by itself.

    python -m bench.bench_providers [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import AbstractContextManager
from typing import Any

from bench import loopback_server

REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "pong", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}

# The server runs in its own process so its work does not share our event loop or GIL.
SERVER = r"""
import asyncio, sys
BODY = sys.argv[1].encode()
DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0  # seconds before each reply
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(BODY)).encode() + b"\r\n\r\n")

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
            if DELAY:
                await asyncio.sleep(DELAY)
            writer.write(HEAD + BODY)
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


def start_server(latency: float = 0.0) -> AbstractContextManager[str]:
    """The loopback server (answering each request `latency` seconds after it came), the
    OpenAI provider pointed at it: its base URL, while the block runs."""
    return loopback_server(SERVER, json.dumps(REPLY), str(latency))


async def _workers(total: int, concurrency: int, one: Any) -> float:
    """Seconds to make `total` calls of `one()` from `concurrency` workers."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bare_httpx(base: str, total: int, concurrency: int) -> float:
    import httpx

    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
    headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one() -> None:
            response = await client.post(base + "/v1/chat/completions", json=body, headers=headers)
            data = response.json()
            assert data["choices"][0]["message"]["content"] == "pong"

        await one()  # connect outside the timed part, as the runtime's pool is warm too
        return await _workers(total, concurrency, one)


async def through_runtime(total: int, concurrency: int) -> float:
    from mmoc_runtime import (
        BreakerPolicy,
        BreakerRegistry,
        LlmStep,
        PipelineObserver,
        PipelineSpec,
        RetryStrategy,
        execute,
    )
    from mmoc_runtime.providers import ProviderRegistry

    spec = PipelineSpec(
        "bench",
        steps=(
            LlmStep(
                "ask",
                "openai/gpt-4o-mini",
                "ping",
                "answer",
                retry=RetryStrategy(max_retries=2),
                breaker=BreakerPolicy(failure_threshold=1000),
            ),
        ),
    )
    providers = ProviderRegistry()
    breakers = BreakerRegistry()

    async def one() -> None:
        observer = PipelineObserver()
        result = await execute(spec, {}, providers=providers, breakers=breakers, observer=observer)
        assert result.success and result.outputs["answer"] == "pong", result.error

    await one()
    try:
        return await _workers(total, concurrency, one)
    finally:
        await providers.aclose_all()


def measure(base: str, total: int, concurrency: int, rounds: int) -> tuple[float, float]:
    """Best requests/s of (bare, runtime) over `rounds` alternating rounds."""
    bare_best = runtime_best = 0.0
    for _ in range(rounds):
        bare_best = max(bare_best, total / asyncio.run(bare_httpx(base, total, concurrency)))
        runtime_best = max(runtime_best, total / asyncio.run(through_runtime(total, concurrency)))
    return bare_best, runtime_best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv if argv is not None else [])
    with start_server() as base:
        print(f"{'concurrency':>11} {'bare req/s':>11} {'runtime req/s':>14} {'ratio':>6}")
        for concurrency in (1, 64):
            bare, runtime = measure(base, args.requests, concurrency, args.rounds)
            print(
                f"{concurrency:>11} {bare:>11.0f} {runtime:>14.0f} {bare / runtime:>6.2f}x",
                flush=True,
            )
        print("ratio = bare httpx req/s / runtime req/s (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
