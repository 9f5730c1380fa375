"""Server-sent events over HTTP: what the streaming adapters read their replies from.

Two parts with a small surface, so the HTTP client underneath can change:
- `SseDecoder`: bytes in (as they arrive, cut anywhere), complete events out. It follows the
  WHATWG rules the providers' SDKs follow: lines end in LF, CRLF or CR; `event:` names the
  event, `data:` lines are joined by newlines, a blank line dispatches; comments (`: ping`)
  and other fields are ignored, and one space after the colon is dropped.
- `open_sse`: POST a JSON body and yield the reply's events. An error status is read whole and
  mapped like a non-streamed call's (`_http.post_json`); a transport failure before the reply
  began is `timeout`/`connection`; after it began, `stream_interrupted` (an idle gap longer
  than the read timeout stays `timeout`). The read timeout bounds the wait for the first byte
  and every gap between two reads, never the whole reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ._http import Call, Refine, Timeouts, resolve_timeouts, stream_post

if TYPE_CHECKING:
    from ._common import HttpProvider
    from .base import LlmRequest


class SseEvent(NamedTuple):
    event: str  # "message" when the server named none
    data: str


class SseDecoder:
    """Incremental SSE parsing: `feed(chunk)` returns the events the chunk completed."""

    __slots__ = ("_buffer", "_data", "_event", "_skip_lf")

    def __init__(self) -> None:
        self._buffer = b""  # an unfinished line
        self._event = ""
        self._data: list[str] = []
        self._skip_lf = False  # the last chunk ended in CR: a LF first in the next is its pair

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if self._skip_lf:
            self._skip_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            self._skip_lf = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buffer = buffer.split(b"\n")
        events: list[SseEvent] = []
        for raw in lines:
            if raw:
                self._field(raw)
            elif self._data:
                events.append(SseEvent(self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
            else:
                self._event = ""
        return events

    def _field(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace")
        name, _, value = line.partition(":")  # no colon: the whole line names a field, empty
        if not name:  # a comment (`: ping`)
            return
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


async def drain(events: AsyncIterator[SseEvent]) -> None:
    """Read a stream to its end after its closing event, so its connection can serve the next
    call (an HTTP/1.1 body left unread would close it)."""
    async for _ in events:
        pass


def json_data(call: Call, event: SseEvent) -> Any:
    """An event's data as JSON; data that does not decode is `bad_response`."""
    try:
        return json.loads(event.data)
    except ValueError:
        quoted = call.quote(event.data, 200)
        raise call.error("bad_response", f"an event's data is not JSON: {quoted}",
                         status=200) from None


def provider_sse(
    provider: HttpProvider,
    call: Call,
    request: LlmRequest,
    path: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    refine: Refine | None = None,
    body_retry_after: Callable[[Any], float | None] | None = None,
) -> AsyncIterator[SseEvent]:
    """`open_sse` to `path` under `provider`'s base URL, with its timeouts (the read timeout
    capped by the step's budget, as `HttpProvider.post` does) and `Accept: text/event-stream`."""
    timeouts = resolve_timeouts(provider.connect_timeout, provider.read_timeout, request.timeout)
    headers = {**headers, "Accept": "text/event-stream"}
    return open_sse(call, provider.current_base_url(), path, headers, body, timeouts, refine,
                    body_retry_after)


async def open_sse(
    call: Call,
    base_url: str,
    path: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeouts: Timeouts,
    refine: Refine | None = None,
    body_retry_after: Callable[[Any], float | None] | None = None,
) -> AsyncIterator[SseEvent]:
    """POST `body` as JSON and yield the events of the streamed reply (see the module doc):
    the bytes, and every error mapping, come from `_http.stream_post`."""
    decoder = SseDecoder()
    async for chunk in stream_post(call, base_url, path, headers, body, timeouts, refine,
                                   body_retry_after):
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.feed(b"\n\n"):  # a last event the server did not end
        yield event
