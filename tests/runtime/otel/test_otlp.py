"""`--otel` on a generated module and on `mmoc run`: the spans arrive over OTLP/HTTP at a
receiver on loopback (decoded with opentelemetry-proto), and without the exporter installed
the command says what to install and exits 2."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

ROOT = Path(__file__).resolve().parents[3]
MODULE = ROOT / "pipelines" / "research_and_summarize_gen.py"
SOURCE = ROOT / "pipelines" / "research_and_summarize.mmo"
PIPELINE = "research_and_summarize"


class OtlpReceiver:
    """An OTLP/HTTP trace receiver: keeps every span of every export, with its resource."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.spans: list[tuple[dict[str, Any], ProtoSpan]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                request = ExportTraceServiceRequest()
                request.ParseFromString(raw)
                receiver.paths.append(self.path)
                for resource_spans in request.resource_spans:
                    resource = attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans += [(resource, span) for span in scope_spans.spans]
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        out[pair.key] = getattr(pair.value, kind) if kind else None
    return out


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    yield server
    server.stop()


def environment(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL_") and k != "MMOC_DEBUG"}
    env.update(changes)
    return env


COMMANDS = {
    "generated module": [sys.executable, str(MODULE), "--mock", "--otel", "-i", "topic=tides"],
    "mmoc run": [sys.executable, "-m", "mmoc", "run", str(SOURCE), "--mock", "--otel", "-q",
                 "-i", "topic=tides"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_otel_exports_the_run_over_otlp_http(receiver: OtlpReceiver, command: str) -> None:
    done = subprocess.run(COMMANDS[command], check=False, capture_output=True, text=True,
                          timeout=120, cwd=ROOT,
                          env=environment(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url))
    assert done.returncode == 0, done.stderr
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    spans = [span for _, span in receiver.spans]
    assert {resource["service.name"] for resource, _ in receiver.spans} == {"mmoc"}
    (root,) = [s for s in spans if not s.parent_span_id]
    assert root.name == f"invoke_workflow {PIPELINE}"
    by_id = {s.span_id: s for s in spans}
    assert all(s.parent_span_id in by_id for s in spans if s is not root)
    assert len({s.trace_id for s in spans}) == 1
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert chats and all(s.kind == ProtoSpan.SPAN_KIND_CLIENT for s in chats)
    assert all(by_id[s.parent_span_id].name.startswith("step ") for s in chats)
    for chat in chats:
        chat_attributes = attributes(chat.attributes)
        assert chat_attributes["gen_ai.operation.name"] == "chat"
        assert chat_attributes["gen_ai.provider.name"] == "mock"
        assert [e.name for e in chat.events] == ["mmoc.attempt"]


MISSING_EXPORTER = {
    "generated module": f"""
        import runpy, sys
        sys.modules["opentelemetry.exporter"] = None  # as if the extra were not installed
        sys.argv = [{str(MODULE)!r}, "--mock", "--otel", "-i", "topic=tides"]
        runpy.run_path({str(MODULE)!r}, run_name="__main__")
        """,
    "mmoc run": f"""
        import sys
        sys.modules["opentelemetry.exporter"] = None
        from mmoc.cli import main
        sys.argv = ["mmoc", "run", {str(SOURCE)!r}, "--mock", "--otel", "-i", "topic=tides"]
        main()
        """,
}


@pytest.mark.parametrize("command", MISSING_EXPORTER)
def test_without_the_exporter_otel_says_what_to_install(command: str) -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(MISSING_EXPORTER[command])],
                          check=False, capture_output=True, text=True, timeout=120,
                          env=environment(), cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "--otel" in done.stderr and 'pip install "mmoc[otel]"' in done.stderr
    assert "Traceback" not in done.stderr
