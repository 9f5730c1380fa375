"""The mock provider: deterministic answers, no keys, failures on demand.

`mock/<name>` answers with text that contains the rendered prompt, and token counts derived
from the text. Options in the model id configure it for tests and demos:

    latency_ms=50        wait this long before answering (`asyncio.sleep`, or the sleep given
                         to `MockProvider(sleep=...)`; never the run's backoff sleep)
    fail_first=2         the first 2 calls of each step in a run fail
    fail=always          every call fails
    error=rate_limit     the kind of the failure: rate_limit, server_error, timeout, bad_request,
                         or any other runtime error kind (default server_error)
    retry_after=1.5      the failure carries a Retry-After of 1.5 s
    reply=text           answer with this fixed text
    chunk_ms=20          streamed (`stream`): wait this long before each piece after the first
    interrupt_first=1    streamed: the first call of each step in a run breaks off halfway
                         (`stream_interrupted`, after half its pieces); counted like fail_first

A streamed call (`stream`) makes the same call as `complete`, then sends its text a word at a
time (each word with the spaces after it) and the response last.

Any other option, or a bad value (`fail=sometimes`, `error=bogus`, `latency_ms=soon`), fails
the call with a `ConfigError` (kind `config`, never retried) naming the allowed ones.

`fail_first` counts calls per (run id, step), across every mock model the step tries.
When the request asks for JSON, the answer is JSON (an instance of the schema, if one is given).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ..errors import ALL_KINDS, ConfigError, LlmError
from .base import LlmRequest, LlmResponse, estimate_tokens

_PIECES = re.compile(r"\s*\S+\s*|\s+")

OPTIONS: tuple[str, ...] = ("latency_ms", "fail_first", "fail", "error", "retry_after", "reply",
                            "chunk_ms", "interrupt_first")

_STATUS = {"rate_limit": 429, "server_error": 500, "overloaded": 529, "bad_request": 400,
           "auth": 401, "not_found": 404, "quota": 429}
_MAX_TRACKED_STEPS = 10_000  # call counters kept; the oldest are dropped beyond this


class MockProvider:
    name = "mock"

    def __init__(self, *, sleep: Callable[[float], Awaitable[Any]] | None = None) -> None:
        self._calls: OrderedDict[tuple[str, str], int] = OrderedDict()
        self.total_calls = 0  # every call ever made, for tests that count calls
        # How `latency_ms` waits: a test passes a fake to stay instant and deterministic.
        self._sleep = sleep or asyncio.sleep
        # Option sets already checked (model ids are few; each is validated once).
        self._valid: set[tuple[tuple[str, str], ...]] = set()

    def calls(self, run_id: str, step: str) -> int:
        """How many calls the step made in that run."""
        return self._calls.get((run_id, step), 0)

    def reset(self) -> None:
        self._calls.clear()
        self.total_calls = 0

    async def complete(self, request: LlmRequest) -> LlmResponse:
        options = request.options
        self.total_calls += 1
        count = self._count(request.run_id, request.step) if options else 0
        if options:
            self._check(options)
            latency = _number(options, "latency_ms")
            if latency:
                await self._sleep(latency / 1000.0)
            fail_first = int(_number(options, "fail_first"))
            if options.get("fail") == "always" or count <= fail_first:
                raise _failure(request, options, count)
            reply = options.get("reply")
        else:
            reply = None
        text = reply if reply is not None else _answer(request)
        return LlmResponse(
            text=text,
            input_tokens=estimate_tokens(request.prompt) + estimate_tokens(request.system or ""),
            output_tokens=estimate_tokens(text),
            finish_reason="stop",
            model=f"mock/{request.model}",
        )

    async def stream(self, request: LlmRequest) -> AsyncIterator[str | LlmResponse]:
        """`complete`'s reply, sent a word at a time (see the module doc), then the response."""
        response = await self.complete(request)
        options = request.options
        delay = _number(options, "chunk_ms") / 1000.0 if options else 0.0
        pieces = _PIECES.findall(response.text)
        cut = -1
        if options and self.calls(request.run_id, request.step) <= int(
                _number(options, "interrupt_first")):
            cut = len(pieces) // 2
        for index, piece in enumerate(pieces):
            if index == cut:
                raise LlmError(
                    "stream_interrupted",
                    f"mock/{request.model}: simulated broken stream after {index} pieces",
                    provider="mock", model=request.model, status=200,
                )
            if index and delay:
                await self._sleep(delay)
            yield piece
        yield response

    async def aclose(self) -> None:
        return None

    def _check(self, options: Mapping[str, str]) -> None:
        key = tuple(sorted(options.items()))
        if key in self._valid:
            return
        check_options(options)
        self._valid.add(key)

    def _count(self, run_id: str, step: str) -> int:
        key = (run_id, step)
        count = self._calls.get(key, 0) + 1
        self._calls[key] = count
        if len(self._calls) > _MAX_TRACKED_STEPS:
            self._calls.popitem(last=False)
        return count


def check_options(options: Mapping[str, str]) -> None:
    """Raise `ConfigError` for an unknown mock option or a value it cannot take."""
    for name, raw in options.items():
        if name not in OPTIONS:
            raise ConfigError(
                f"unknown mock option {name!r}: the options are {', '.join(OPTIONS)}"
            )
        if name in ("latency_ms", "retry_after", "chunk_ms") and not _number(options, name) >= 0:
            raise ConfigError(f"mock option {name}={raw!r} must be >= 0")
        if name in ("fail_first", "interrupt_first") and not raw.isdigit():
            raise ConfigError(f"mock option {name}={raw!r} must be a whole number >= 0")
        if name == "fail" and raw != "always":
            raise ConfigError(f"mock option fail={raw!r}: the only value is 'always'")
        if name == "error" and raw not in ALL_KINDS:
            raise ConfigError(
                f"mock option error={raw!r} is not an error kind: use one of "
                f"{', '.join(sorted(ALL_KINDS))}"
            )


def _number(options: Mapping[str, str], name: str) -> float:
    raw = options.get(name)
    if raw is None or raw == "":
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"mock option {name}={raw!r} is not a number") from None


def _failure(request: LlmRequest, options: Mapping[str, str], count: int) -> LlmError:
    kind = options.get("error") or "server_error"
    retry_after = _number(options, "retry_after") if "retry_after" in options else None
    return LlmError(
        kind,
        f"mock/{request.model}: simulated {kind} (call {count} of step {request.step!r})",
        provider="mock",
        model=request.model,
        status=_STATUS.get(kind),
        retry_after=retry_after,
    )


def _answer(request: LlmRequest) -> str:
    echo = f"[mock/{request.model}] {request.prompt}"
    if not request.json_output:
        return echo
    if request.json_schema:
        return json.dumps(sample_of(request.json_schema, echo), ensure_ascii=False)
    return json.dumps({"response": echo}, ensure_ascii=False)


def sample_of(schema: Mapping[str, Any], text: str) -> Any:
    """A small deterministic instance of a JSON schema (the subset structured output uses)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample_of(sub, text) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [sample_of(items, text)] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text
