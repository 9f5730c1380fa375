"""The HTTP stack, chosen by measurement: bare clients, the openai SDK and mmoc, side by side.

A loopback server (a subprocess, plain asyncio, keep-alive) answers every POST with the same
Chat Completions body; under `/slow/` it waits 50 ms first, under `/fast/` it answers at once.
In one run, every client below is measured the same way:

- fan-out: a 1 -> 50 -> 1 pipeline of calls to `/slow/` (one call, 50 at once, one call;
  ideal 150 ms), each round on a fresh client in a fresh event loop, so it opens its
  connections as a new process would; best wall time of `--rounds`;
- req/s c=1 and c=64: `--requests` calls to `/fast/` from 1 and 64 concurrent workers on a warm
  client (the server adds no delay: this is the client's own cost); best of `--rounds`;
- req/s c=64 50ms: the same 64 workers against `/slow/` (what a real batch looks like).

Clients: bare `httpx.AsyncClient` (default limits, and limits tuned to never queue), bare
`httpx2.AsyncClient` (the same two), `aiohttp.ClientSession`, the openai SDK, and mmoc's
llm-step path (`mmoc_runtime.execute` of a one-step pipeline, with retry, breaker and observer;
the fan-out as a 52-step pipeline). Clients that are not installed are skipped.

Then `import` of each shipped generated module in a venv holding the mmoc-runtime wheel
alone, over `import asyncio` (target < 20 ms; `--no-imports` skips it).

    python -m bench.bench_http [--requests N] [--rounds R] [--only NAME ...] [--no-imports]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

from bench import installed_env, loopback_server
from bench.bench_providers import REPLY, _workers

FAN_OUT = 50
SLOW_SECONDS = 0.05
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
HEADERS = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}

# Like bench_providers' server, but a path under /slow/ waits before it answers.
SERVER = r"""
import asyncio, json, sys
BODY = sys.argv[1].encode()
DELAY = float(sys.argv[2])
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
            if b" /slow/" in head[:64]:
                await asyncio.sleep(DELAY)
            writer.write(HEAD + BODY)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""

# A client: an async context manager factory yielding `post(url) -> content`.
Post = Callable[[str], Awaitable[str]]
Client = Callable[[], AbstractAsyncContextManager[Post]]


def _content(data: Any) -> str:
    return str(data["choices"][0]["message"]["content"])


class _HttpxLike:
    """httpx or httpx2 (the same API), with default or never-queueing limits."""

    def __init__(self, module: str, tuned: bool) -> None:
        self.module = module
        self.tuned = tuned

    async def __aenter__(self) -> Post:
        http = __import__(self.module)
        kwargs: dict[str, Any] = {"trust_env": False}
        if self.tuned:
            kwargs["limits"] = http.Limits(max_connections=None, max_keepalive_connections=1000)
        self.client = http.AsyncClient(**kwargs)

        async def post(url: str) -> str:
            response = await self.client.post(url, json=BODY, headers=HEADERS)
            return _content(response.json())

        return post

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


class _Aiohttp:
    async def __aenter__(self) -> Post:
        import aiohttp

        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def post(url: str) -> str:
            async with self.session.post(url, json=BODY, headers=HEADERS) as response:
                return _content(await response.json())

        return post

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()


class _OpenAI:
    async def __aenter__(self) -> Post:
        import openai

        self.clients: dict[str, Any] = {}

        async def post(url: str) -> str:
            base = url.removesuffix("/chat/completions")
            client = self.clients.get(base)
            if client is None:
                client = self.clients[base] = openai.AsyncOpenAI(
                    base_url=base, api_key="bench-key", max_retries=0
                )
            reply = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}]
            )
            return str(reply.choices[0].message.content)

        return post

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients.values():
            await client.close()


# --------------------------------------------------------------------------- mmoc


def _mmoc_one_step() -> Any:
    from mmoc_runtime import BreakerPolicy, LlmStep, PipelineSpec, RetryStrategy

    step = LlmStep("ask", "openai/gpt-4o-mini", "ping", "answer",
                   retry=RetryStrategy(max_retries=2), breaker=BreakerPolicy(failure_threshold=1000))
    return PipelineSpec("bench_one", steps=(step,))


def _mmoc_fan_out() -> Any:
    from mmoc_runtime import BreakerPolicy, LlmStep, PipelineSpec, RetryStrategy

    policies: dict[str, Any] = {"retry": RetryStrategy(max_retries=2),
                                "breaker": BreakerPolicy(failure_threshold=1000)}
    steps = [LlmStep("first", "openai/gpt-4o-mini", "ping", "first", **policies)]
    steps += [LlmStep(f"b{i}", "openai/gpt-4o-mini", "ping {first}", f"b{i}", **policies)
              for i in range(FAN_OUT)]
    joined = " ".join(f"{{b{i}}}" for i in range(FAN_OUT))
    steps.append(LlmStep("last", "openai/gpt-4o-mini", joined, "last", **policies))
    return PipelineSpec("bench_fan_out", steps=tuple(steps))


class _Mmoc:
    """mmoc's llm-step path; `url` picks the server path through OPENAI_BASE_URL."""

    def __init__(self, spec: Callable[[], Any]) -> None:
        self.spec = spec()

    async def __aenter__(self) -> Post:
        from mmoc_runtime import BreakerRegistry, PipelineObserver, ProviderRegistry, execute

        self.providers = ProviderRegistry()
        breakers = BreakerRegistry()

        async def post(url: str) -> str:
            os.environ["OPENAI_BASE_URL"] = url.removesuffix("/chat/completions")
            result = await execute(self.spec, {}, providers=self.providers, breakers=breakers,
                                   observer=PipelineObserver())
            assert result.success, result.error
            return str(next(iter(result.outputs.values())))

        return post

    async def __aexit__(self, *exc: object) -> None:
        await self.providers.aclose_all()


def mmoc_stack() -> str:
    from mmoc_runtime.providers import _http

    return getattr(_http, "STACK", "httpx")


# --------------------------------------------------------------------------- measurements


async def fan_out_seconds(client: Client, base: str, is_mmoc: bool) -> float:
    url = base + "/slow/v1/chat/completions"
    async with client() as post:
        started = time.perf_counter()
        if is_mmoc:  # the whole 1 -> 50 -> 1 pipeline is one run
            await post(url)
        else:
            await post(url)
            replies = await asyncio.gather(*(post(url) for _ in range(FAN_OUT)))
            assert all(r == "pong" for r in replies)
            await post(url)
        return time.perf_counter() - started


async def requests_per_second(client: Client, url: str, total: int, concurrency: int) -> float:
    async with client() as post:
        # Warm: as many connections as workers, as a long-running app's pool would be.
        await asyncio.gather(*(post(url) for _ in range(concurrency)))

        async def one() -> None:
            assert await post(url) == "pong"

        return total / await _workers(total, concurrency, one)


def clients() -> dict[str, tuple[Client, Client]]:
    """name -> (client for single calls, client for the fan-out)."""
    found: dict[str, tuple[Client, Client]] = {}
    for module in ("httpx", "httpx2"):
        if importlib.util.find_spec(module) is not None:
            for tuned in (False, True):
                name = f"{module} {'tuned' if tuned else 'default'}"
                make = (lambda m=module, t=tuned: _HttpxLike(m, t))
                found[name] = (make, make)
    if importlib.util.find_spec("aiohttp") is not None:
        found["aiohttp"] = (_Aiohttp, _Aiohttp)
    if importlib.util.find_spec("openai") is not None:
        found["openai SDK"] = (_OpenAI, _OpenAI)
    found[f"mmoc ({mmoc_stack()})"] = (lambda: _Mmoc(_mmoc_one_step),
                                       lambda: _Mmoc(_mmoc_fan_out))
    return found


def measure_round(name: str, pair: tuple[Client, Client], base: str, total: int,
                  best: dict[str, float]) -> None:
    """One round of every figure for one client, kept in `best` if better."""
    single, fan = pair
    fast = base + "/fast/v1/chat/completions"
    slow = base + "/slow/v1/chat/completions"
    figures = {
        "fan": asyncio.run(fan_out_seconds(fan, base, name.startswith("mmoc"))),
        "c1": asyncio.run(requests_per_second(single, fast, total, 1)),
        "c64": asyncio.run(requests_per_second(single, fast, total, 64)),
        "c64slow": asyncio.run(requests_per_second(single, slow, total, 64)),
    }
    for key, value in figures.items():
        if key not in best:
            best[key] = value
        else:
            best[key] = min(best[key], value) if key == "fan" else max(best[key], value)


# In one fresh interpreter: CPU time of `import asyncio`, then of the module over it. CPU time,
# not wall time: on a loaded machine it is the figure that a scheduler's delays leave alone.
IMPORT_PROBE = """
import sys, time
started = time.process_time()
import asyncio
between = time.process_time()
__import__(sys.argv[1])
ended = time.process_time()
print((between - started) * 1e3, (ended - between) * 1e3)
"""


def import_overhead_in_runtime_venv(runs: int = 20) -> list[tuple[str, float, float]]:
    """(module, ms for `import asyncio`, ms more for the module), the minimum over `runs` fresh
    interpreters, for each shipped module in a venv holding the mmoc-runtime wheel alone
    (built for the occasion, ~30 s)."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests"))
    from support.runtime_venv import runtime_only_venv  # type: ignore[import-not-found]

    figures = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        python = runtime_only_venv(tmp)
        app = tmp / "app"
        app.mkdir()
        for module in (root / "pipelines").glob("*.py"):
            shutil.copy(module, app / module.name)
        for module in sorted(app.glob("*_gen.py")):
            samples = []
            for _ in range(runs + 1):  # the first writes the bytecode caches
                out = subprocess.run([str(python), "-c", IMPORT_PROBE, module.stem], cwd=app,
                                     check=True, capture_output=True, text=True,
                                     env=installed_env()).stdout
                samples.append(tuple(float(x) for x in out.split()))
            base = min(s[0] for s in samples[1:])
            extra = min(s[1] for s in samples[1:])
            figures.append((module.stem, base, extra))
    return figures


def report_ratios(best: dict[str, dict[str, float]]) -> None:
    """mmoc against the bare client of its own stack, and the fan-out against the openai SDK."""
    mmoc = next((n for n in best if n.startswith("mmoc")), None)
    bare = next((n for n in best if mmoc and n.startswith(mmoc_stack())), None)
    if mmoc is None or bare is None:
        return
    m, b = best[mmoc], best[bare]
    print(f"\n{mmoc} vs bare {bare} (targets: <= 1.1x): "
          f"c=1 {b['c1'] / m['c1']:.2f}x, c=64 {b['c64'] / m['c64']:.2f}x, "
          f"c=64 50ms {b['c64slow'] / m['c64slow']:.2f}x, fan-out {m['fan'] / b['fan']:.2f}x")
    sdk = best.get("openai SDK")
    if sdk:
        print(f"fan-out: {mmoc} {m['fan'] * 1000:.0f} ms vs openai SDK {sdk['fan'] * 1000:.0f} ms "
              "(target: ahead)")


def start_server() -> AbstractContextManager[str]:
    import json

    return loopback_server(SERVER, json.dumps(REPLY), str(SLOW_SECONDS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="calls per req/s figure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="clients whose name starts with one of these")
    parser.add_argument("--no-imports", dest="imports", action="store_false",
                        help="skip the import time in a runtime-only venv (it builds one)")
    args = parser.parse_args(argv if argv is not None else [])
    with start_server() as base:
        chosen = {name: pair for name, pair in clients().items()
                  if not args.only or any(name.startswith(o) for o in args.only)}
        best: dict[str, dict[str, float]] = {name: {} for name in chosen}
        for _ in range(args.rounds):  # rounds interleave the clients: noise hits all alike
            for name, pair in chosen.items():
                measure_round(name, pair, base, args.requests, best[name])
        print(f"{'client':<18} {'fan-out ms':>10} {'req/s c=1':>10} {'req/s c=64':>11} "
              f"{'c=64 50ms':>10}")
        for name, got in best.items():
            print(f"{name:<18} {got['fan'] * 1000:>10.0f} {got['c1']:>10.0f} {got['c64']:>11.0f} "
                  f"{got['c64slow']:>10.0f}")
        print(f"fan-out: 1 -> {FAN_OUT} -> 1 calls of {SLOW_SECONDS * 1000:.0f} ms each "
              f"(ideal {3 * SLOW_SECONDS * 1000:.0f} ms), fresh client; req/s: "
              f"{args.requests} calls, warm client; best of {args.rounds}")
        report_ratios(best)
        if args.imports:
            print("\nimport of a generated module in a runtime-only venv (CPU ms, min of 20):")
            for module, base_ms, extra_ms in import_overhead_in_runtime_venv():
                print(f"  {module:<28} import asyncio {base_ms:5.1f} ms, the module over it "
                      f"+{extra_ms:.1f} ms (target < 20 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
