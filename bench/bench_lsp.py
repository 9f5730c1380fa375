"""Diagnostics latency of `mmoc lsp` after a one-character edit in a 200-step file.

`python -m bench.bench_lsp`. Starts the server as an editor does (a subprocess over stdio),
opens the 200-step pipeline of `bench_check.generate`, then types one character at a time
into a prompt in the middle of the file, each edit sent only once the previous edit's
diagnostics are back, and measures wall-clock time from sending `didChange` to receiving
the `publishDiagnostics` for that version. The target is under 50 ms at p95 (issue 15).
A second series makes every edit a syntax error and its repair, the path that carries the
last good results over.

Wall-clock on a shared machine includes waiting for a core; so the same run also measures
the check alone (`load_text` of the same text in this process, what `mmoc check` does per
file), and prints it beside the server's figures: the difference is what the server adds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from bench.bench_check import generate

STEPS = 200
EDITS = 200
TARGET_P95_MS = 50.0


class _Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("bench", "0")
        self.arrived: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Future[None]] = {}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _series(client: _Client, uri: str, first_version: int, edits: list[lsp.Range],
                  texts: list[str]) -> list[float]:
    times = []
    for i, (where, text) in enumerate(zip(edits, texts, strict=True)):
        version = first_version + i
        done = asyncio.get_running_loop().create_future()
        client.waiters[version] = done
        start = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangePartial(range=where, text=text)]))
        await asyncio.wait_for(done, timeout=30)
        times.append((client.arrived[version] - start) * 1000)
    return times


async def run() -> dict[str, list[float]]:
    client = _Client()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: lsp.PublishDiagnosticsParams) -> None:
        if params.version is None:
            return
        client.arrived[params.version] = time.perf_counter()
        waiter = client.waiters.pop(params.version, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    await client.start_io(sys.executable, "-m", "mmoc", "lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    with tempfile.TemporaryDirectory() as folder:
        text = generate(STEPS)
        path = Path(folder) / "bench.mmo"
        path.write_text(text)
        uri = path.as_uri()
        opened = asyncio.get_running_loop().create_future()
        client.waiters[1] = opened
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="mmo", version=1, text=text)))
        await asyncio.wait_for(opened, timeout=60)
        line = next(i for i, t in enumerate(text.split("\n")) if "Step 100:" in t)
        column = text.split("\n")[line].index("Step 100:") + len("Step 100")
        typing = [lsp.Range(lsp.Position(line, column + i), lsp.Position(line, column + i))
                  for i in range(EDITS)]
        typed = await _series(client, uri, 2, typing, ["x"] * EDITS)
        # Break the step's closing brace and mend it, in turn: each edit one character.
        brace = next(i for i, t in enumerate(text.split("\n")) if t == "  } -> out_100")
        spot = lsp.Range(lsp.Position(brace, 2), lsp.Position(brace, 3))
        broken = await _series(client, uri, 2 + EDITS, [spot] * EDITS,
                               ["(" if i % 2 == 0 else "}" for i in range(EDITS)])
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"one-character edit": typed, "syntax error and repair": broken}


def check_alone_ms(repeats: int = 30) -> list[float]:
    """The same check without the server: parse and check the 200-step text in-process."""
    from mmoc.driver import load_text

    text = generate(STEPS)
    times = []
    for i in range(repeats):
        edited = text.replace("Step 100:", "Step 100" + "x" * (i + 1) + ":")
        start = time.perf_counter()
        load_text(edited, "bench.mmo", ".mmo")
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    alone = check_alone_ms()
    results = asyncio.run(run())
    print(f"mmoc lsp: {STEPS}-step file, {EDITS} edits per series, time to diagnostics")
    print(f"  {'the check alone (no server)':<28} p50 {statistics.median(alone):6.1f} ms   "
          f"p95 {_percentile(alone, 0.95):6.1f} ms")
    for name, times in results.items():
        p95 = _percentile(times, 0.95)
        verdict = "ok" if p95 < TARGET_P95_MS else f"over the {TARGET_P95_MS:g} ms target"
        print(f"  {name:<28} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   "
              f"max {max(times):6.1f} ms   ({verdict})")


if __name__ == "__main__":
    main()
