"""A real HTTP server on 127.0.0.1 that speaks the OpenAI, Anthropic and Gemini wire formats.

Each test scripts it: queue replies per provider (a 429 with Retry-After, a 500, a 529, a
quota error, a malformed body, a slow reply, a dropped connection), then read back every
request it received (path, headers, JSON body). Without a script it answers a documented
success body that echoes the prompt, with usage figures derived from the text.

The body builders below follow each provider's API reference; `test_fidelity.py` feeds them to
the official SDKs so they cannot drift from the real formats.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mmoc_runtime.providers.base import LlmRequest, LlmResponse

PROVIDERS = ("openai", "anthropic", "gemini")

# Planted keys: tests grep every error, repr, log and trace for them.
OPENAI_KEY = "sk-planted-openai-5f3e9a1c"
ANTHROPIC_KEY = "sk-ant-planted-77b2d4e0"
GEMINI_KEY = "AIzaPlantedGemini0c41b8"
PLANTED = (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY)

# A key for the echo tests, and the environment variable each provider reads its key from.
PROBE_KEY = "sk-PROBE-5f3e9a1c77b2d4e0jd8s"
SHAPELESS_KEY = "PROBE-5f3e9a1c77b2d4e0cafe0042jd8s"  # no `sk-`/`AIza` shape to catch it by
KEY_VAR = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}


def key_pieces(key: str, text: str) -> set[str]:
    """The 8-character pieces of `key` that `text` shows, in any case: none may show."""
    shown = text.lower()
    return {key[i : i + 8] for i in range(len(key) - 7) if key[i : i + 8].lower() in shown}


def echoed_forms(key: str) -> dict[str, str]:
    """How servers echo a key other than whole: masked, upper-cased, with `-` JSON-escaped."""
    return {
        "masked": key[:8] + "*" * 12 + key[-4:],
        "upper": key.upper(),
        "escaped": key.replace("-", "\\u002d"),
    }


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; str/bytes → sent as is; None → the provider's success body
    headers: dict[str, str] = field(default_factory=dict)
    # A server that never answers: the handler waits until the test ends (the fixture's reset
    # or stop releases it), so a client timeout of any length is the only way out. No sleeps:
    # a timeout test takes its own timeout, however loaded the machine.
    stall: bool = False
    drop: bool = False  # close the connection without any response
    # Streamed replies (a request with `"stream": true`, or Gemini's `:streamGenerateContent`):
    # `events` replaces the default events, as (event name or None, data: dict or str);
    # `break_after=n` sends n events, then closes the connection mid-body; `stall_after=n`
    # sends n events, then waits like `stall` (for idle timeouts). A non-200 status is sent
    # as a plain JSON error, as the providers do.
    events: list[tuple[str | None, Any]] | None = None
    break_after: int | None = None
    stall_after: int | None = None


@dataclass
class Recorded:
    provider: str
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any

    @property
    def text(self) -> str:
        return json.dumps(self.body)


def provider_of(path: str) -> str:
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    return "unknown"


def model_of(provider: str, path: str, body: Any) -> str:
    if provider == "gemini":
        return path.split("/models/")[-1].split(":")[0]
    return str(body.get("model", "")) if isinstance(body, dict) else ""


# --------------------------------------------------------------------------- success bodies


def openai_completion(
    text: str,
    model: str = "gpt-4o-mini",
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    cached_tokens: int = 0,
    usage: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        }
    return body


def anthropic_message(
    text: str,
    model: str = "claude-haiku-4-5",
    input_tokens: int = 11,
    output_tokens: int = 7,
    cache_read: int = 0,
) -> dict[str, Any]:
    return {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cache_read,
        },
    }


def gemini_response(
    text: str,
    model: str = "gemini-2.5-flash-lite",
    prompt_tokens: int = 11,
    candidate_tokens: int = 7,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidate_tokens,
        "totalTokenCount": prompt_tokens + candidate_tokens,
    }
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "loopback",
    }


def gemini_blocked(reason: str = "SAFETY") -> dict[str, Any]:
    return {
        "promptFeedback": {"blockReason": reason},
        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
        "modelVersion": "gemini-2.5-flash-lite",
    }


# --------------------------------------------------------------------------- error bodies


def openai_error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def anthropic_error(type_: str, message: str, error_code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type_, "message": message}
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    return {"type": "error", "error": error, "request_id": "req_loopback"}


def gemini_error(code: int, status: str, message: str, retry_delay: str | None = None) -> Any:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if retry_delay is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    return {"error": error}


def rate_limited(provider: str, retry_after: str | None = "2", ms: str | None = None) -> Reply:
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if ms is not None:
        headers["retry-after-ms"] = ms
    bodies = {
        "openai": openai_error(
            "Rate limit reached for requests", "requests", "rate_limit_exceeded"
        ),
        "anthropic": anthropic_error(
            "rate_limit_error", "Number of requests has exceeded your rate limit"
        ),
        "gemini": gemini_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted"),
    }
    return Reply(429, bodies[provider], headers)


def server_error(provider: str, status: int = 500) -> Reply:
    bodies = {
        "openai": openai_error(
            "The server had an error while processing your request.", "server_error"
        ),
        "anthropic": anthropic_error("api_error", "Internal server error"),
        "gemini": gemini_error(status, "INTERNAL", "An internal error has occurred."),
    }
    return Reply(status, bodies[provider])


# --------------------------------------------------------------------------- streamed bodies

# A streamed reply is a list of server-sent events: (event name or None, data).
SseEvents = list[tuple["str | None", Any]]


def wants_stream(provider: str, path: str, body: Any) -> bool:
    """Whether the request asks for a streamed reply, as each provider spells it."""
    if provider == "gemini":
        return ":streamGenerateContent" in path
    return isinstance(body, dict) and body.get("stream") is True


def pieces(text: str, size: int = 3) -> list[str]:
    """`text` cut into pieces of `size` characters (the last may be shorter)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def openai_stream(
    text: str, model: str = "gpt-4o-mini", prompt_tokens: int = 11, completion_tokens: int = 7,
    usage: bool = True, size: int = 3,
) -> SseEvents:
    """`chat.completion.chunk` events: the role, the text in pieces, the finish reason, the
    usage chunk (`stream_options.include_usage`: no choices), then `[DONE]`."""
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-loopback", "object": "chat.completion.chunk",
                "created": 1_700_000_000, "model": model, "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]}

    events: SseEvents = [(None, chunk({"role": "assistant", "content": "", "refusal": None}))]
    events += [(None, chunk({"content": piece})) for piece in pieces(text, size)]
    events.append((None, chunk({}, "stop")))
    if usage:
        events.append((None, {
            "id": "chatcmpl-loopback", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}))
    events.append((None, "[DONE]"))
    return events


def anthropic_stream(
    text: str, model: str = "claude-haiku-4-5", input_tokens: int = 11, output_tokens: int = 7,
    size: int = 3,
) -> SseEvents:
    """The Messages stream: message_start (input usage), a text block's start, deltas and
    stop, a ping, message_delta (stop reason, output usage), message_stop."""
    message = anthropic_message("", model, input_tokens, 1)
    message["content"], message["stop_reason"] = [], None
    events: SseEvents = [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": piece}})
               for piece in pieces(text, size)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def anthropic_stream_error(type_: str = "overloaded_error", message: str = "Overloaded") -> Any:
    """The `error` event Anthropic sends mid-stream."""
    return ("error", {"type": "error", "error": {"type": type_, "message": message}})


def gemini_stream(
    text: str, model: str = "gemini-2.5-flash-lite", prompt_tokens: int = 11,
    candidate_tokens: int = 7, size: int = 3,
) -> SseEvents:
    """`streamGenerateContent?alt=sse`: one `GenerateContentResponse` per piece; the last
    carries the finish reason and the usage."""
    parts = pieces(text, size)
    events: SseEvents = []
    for index, piece in enumerate(parts):
        last = index == len(parts) - 1
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]},
                                     "index": 0}
        chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model,
                                 "responseId": "loopback"}
        if last:
            candidate["finishReason"] = "STOP"
            chunk["usageMetadata"] = {"promptTokenCount": prompt_tokens,
                                      "candidatesTokenCount": candidate_tokens,
                                      "totalTokenCount": prompt_tokens + candidate_tokens}
        events.append((None, chunk))
    return events


def default_stream(provider: str, path: str, body: Any) -> SseEvents:
    """The streamed twin of `default_reply`: the same text and usage, in pieces."""
    reply = default_reply(provider, path, body).body
    if provider == "openai":
        text = reply["choices"][0]["message"]["content"]
        usage = reply["usage"]
        return openai_stream(text, reply["model"], usage["prompt_tokens"],
                             usage["completion_tokens"])
    if provider == "anthropic":
        usage = reply["usage"]
        return anthropic_stream(reply["content"][0]["text"], reply["model"],
                                usage["input_tokens"], usage["output_tokens"])
    usage = reply["usageMetadata"]
    return gemini_stream(reply["candidates"][0]["content"]["parts"][0]["text"],
                         reply["modelVersion"], usage["promptTokenCount"],
                         usage["candidatesTokenCount"])


def sse_bytes(name: str | None, data: Any) -> bytes:
    """One event as sent on the wire."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


# --------------------------------------------------------------------------- the server


def _prompt_of(provider: str, body: Any) -> str:
    try:
        if provider == "openai":
            return str(body["messages"][-1]["content"])
        if provider == "anthropic":
            return str(body["messages"][-1]["content"])
        if provider == "gemini":
            return str(body["contents"][-1]["parts"][0]["text"])
    except (KeyError, IndexError, TypeError):
        pass
    return ""


def default_reply(provider: str, path: str, body: Any) -> Reply:
    """A success whose text echoes the prompt, with token counts derived from the text."""
    prompt = _prompt_of(provider, body)
    text = f"[{provider}] {prompt}"
    tokens_in = max(1, len(prompt.split()))
    tokens_out = max(1, len(text.split()))
    if provider == "openai":
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        return Reply(200, openai_completion(text, model, tokens_in, tokens_out))
    if provider == "anthropic":
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        return Reply(200, anthropic_message(text, model, tokens_in, tokens_out))
    if provider == "gemini":
        model = path.split("/models/")[-1].split(":")[0]
        return Reply(200, gemini_response(text, model, tokens_in, tokens_out))
    return Reply(404, {"error": {"message": f"no route {path}", "type": "not_found"}})


class LoopbackServer:
    """Start with `start()`; `url` is `http://127.0.0.1:<port>`; stop with `stop()`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.connections = 0  # TCP connections accepted since the last reset
        self._queues: dict[str, deque[Reply]] = {p: deque() for p in (*PROVIDERS, "unknown")}
        self._always: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()  # set at reset/stop: stalled handlers give up
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting
    def queue(self, provider: str, *replies: Reply) -> None:
        with self._lock:
            self._queues[provider].extend(replies)

    def always(self, provider: str, reply: Reply | None) -> None:
        """Answer every request to `provider` (or to one model, by name) with `reply`.

        None: back to the script."""
        with self._lock:
            if reply is None:
                self._always.pop(provider, None)
            else:
                self._always[provider] = reply

    def calls(self, provider: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.provider == provider]

    def release_stalled(self) -> None:
        """Let every stalled handler go (they close their connection without a reply)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def reset(self) -> None:
        self.release_stalled()
        with self._lock:
            self.requests.clear()
            self.connections = 0
            self._always.clear()
            for q in self._queues.values():
                q.clear()

    def calls_to_model(self, model: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if model_of(r.provider, r.path, r.body) == model]

    def _next(self, provider: str, path: str, body: Any) -> Reply:
        model = model_of(provider, path, body)
        with self._lock:
            if model in self._always:
                return self._always[model]
            if provider in self._always:
                return self._always[provider]
            queue = self._queues[provider]
            if queue:
                return queue.popleft()
        return default_reply(provider, path, body)

    # lifecycle
    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:  # once per connection
                super().setup()
                with server._lock:
                    server.connections += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                path = self.path.split("?")[0]
                provider = provider_of(path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Recorded(provider, "POST", self.path, headers, body))
                reply = server._next(provider, path, body)
                if reply.stall:
                    with server._lock:
                        release = server._release
                    # The cap only guards against a test that forgets to reset: never reached.
                    release.wait(timeout=60.0)
                    self.close_connection = True
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.status == 200 and wants_stream(provider, path, body):
                    self._stream(reply, reply.events or default_stream(provider, path, body))
                    return
                if reply.status == 200 and reply.body is None:
                    reply = Reply(200, default_reply(provider, path, body).body, reply.headers)
                if isinstance(reply.body, (dict, list)):
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                elif isinstance(reply.body, bytes):
                    payload, ctype = reply.body, "application/json"
                else:
                    payload, ctype = str(reply.body or "").encode(), "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _stream(self, reply: Reply, events: SseEvents) -> None:
                """Send `events` as a chunked `text/event-stream` body; break off or stall
                where the reply says."""
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream; charset=utf-8")
                    self.send_header("transfer-encoding", "chunked")
                    for header, value in reply.headers.items():
                        self.send_header(header, value)
                    self.end_headers()
                    for index, (name, data) in enumerate(events):
                        if index == reply.break_after:
                            self.wfile.flush()
                            self.close_connection = True
                            return  # no closing chunk: the body is cut short
                        if index == reply.stall_after:
                            self.wfile.flush()
                            with server._lock:
                                release = server._release
                            release.wait(timeout=60.0)
                            self.close_connection = True
                            return
                        payload = sse_bytes(name, data)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_stalled()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


# --------------------------------------------------------------------------- calling an adapter


def complete_once(adapter: Any, request: LlmRequest) -> LlmResponse:
    """One `adapter.complete(request)` in a fresh event loop, the adapter's pools closed after.

    An error the call raises propagates unchanged (tests catch it with `pytest.raises`).
    """

    async def go() -> LlmResponse:
        try:
            result: LlmResponse = await adapter.complete(request)
            return result
        finally:
            await adapter.aclose()

    return asyncio.run(go())
