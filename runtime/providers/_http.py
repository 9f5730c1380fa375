"""What every HTTP provider shares: the connection pools, timeouts and error mapping.

Adapters build a wire request, call `post_json`, and turn the decoded body into an
`LlmResponse`. Everything that can go wrong on the way (a status code, a timeout, a dropped
connection, a body that is not JSON) comes back as an `LlmError` whose kind the runtime's
retry, fallback and breaker understand. Nothing here retries: only the runtime does.

Secrets: the key is read from the environment at call time, sent only in a header, and
scrubbed (every piece of it, in any case or escaped, with every `Authorization`, `x-api-key`,
`x-goog-api-key` and `key=` value) from any text that ends up in an error, since providers echo
keys back in their error messages (`mmoc_runtime.redaction` holds the rules). A text is always
redacted whole before it is cut short, so a cut never leaves a key's first characters behind.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LlmError
from ..redaction import cut_redacted, redact

if TYPE_CHECKING:  # aiohttp is imported lazily: `import mmoc_runtime` must not load it
    import aiohttp

# The HTTP client underneath, chosen by measurement (docs/http.md, bench/bench_http.py).
STACK = "aiohttp"

# refine(status, decoded body, message, error type, error code) -> a sharper kind, or None.
Refine = Callable[[int, Any, str, str, str], "str | None"]

# Seconds. Overridable per provider object (constructor) or per process (environment).
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0
# Connections per (provider, base URL) and event loop: enough that a map or batch of hundreds
# of concurrent calls never queues for one; 0 means no limit. Every connection a finished call
# releases stays open (keep-alive) for the next call, for DEFAULT_KEEPALIVE seconds idle.
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_KEEPALIVE = 30.0
CONNECT_TIMEOUT_ENV = "MMOC_HTTP_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "MMOC_HTTP_READ_TIMEOUT"
MAX_CONNECTIONS_ENV = "MMOC_HTTP_MAX_CONNECTIONS"
KEEPALIVE_ENV = "MMOC_HTTP_KEEPALIVE"

# The longest provider message quoted in an error; bodies can be whole HTML pages.
_MAX_MESSAGE = 500
# The longest piece of a 2xx body that is not JSON quoted in its error.
_MAX_BODY_QUOTE = 200

# --------------------------------------------------------------------------- settings


def env_value(name: str) -> str | None:
    """An environment variable, or None when unset or blank."""
    value = os.environ.get(name)
    return value if value and value.strip() else None


def require_key(env_names: tuple[str, ...], provider: str) -> str:
    """The first of `env_names` that is set, or a `ConfigError` naming the variable to set."""
    for name in env_names:
        value = env_value(name)
        if value is not None:
            return value.strip()
    raise ConfigError(f"{provider}: no API key: set {' or '.join(env_names)} in the environment")


def _float_env(name: str, default: float) -> float:
    raw = env_value(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than zero")
    return value


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float


def resolve_timeouts(
    connect: float | None, read: float | None, step_budget: float | None
) -> Timeouts:
    """Constructor values win over the environment; a step's budget caps the read timeout."""
    connect_s = (
        connect if connect is not None else _float_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT)
    )
    read_s = read if read is not None else _float_env(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT)
    if step_budget is not None and step_budget > 0:
        read_s = min(read_s, step_budget)
    return Timeouts(connect_s, read_s)


def max_connections() -> int | None:
    """The pool's connection limit from the environment; None means no limit (0)."""
    raw = env_value(MAX_CONNECTIONS_ENV)
    if raw is None:
        return DEFAULT_MAX_CONNECTIONS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{MAX_CONNECTIONS_ENV}={raw!r} is not a whole number") from None
    if value < 0:
        raise ConfigError(f"{MAX_CONNECTIONS_ENV}={raw!r} must be 0 (no limit) or more")
    return value or None


# --------------------------------------------------------------------------- pools

# One session (one connection pool) per (provider, base URL) per event loop: a session is bound
# to the loop it was made in, and generated modules may be run by several `asyncio.run`s.
# Weak keys: a finished loop takes its pools with it.
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = (
    weakref.WeakKeyDictionary()
)


class _LoopPools:
    """The sessions of one event loop, closed when the loop shuts down."""

    __slots__ = ("clients", "closer")

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], aiohttp.ClientSession] = {}
        self.closer: AsyncGenerator[None, None] | None = None


async def _close_at_shutdown(pools: _LoopPools) -> AsyncGenerator[None, None]:
    # `asyncio.run` (and any loop that calls `shutdown_asyncgens`) closes every live async
    # generator before the loop closes: this one then closes the loop's sessions, so a run that
    # never calls `aclose` still ends with its connections closed cleanly.
    try:
        yield
    finally:
        clients = list(pools.clients.values())
        pools.clients.clear()
        for client in clients:
            await client.close()


def _new_session() -> aiohttp.ClientSession:
    import aiohttp

    limit = max_connections()
    connector = aiohttp.TCPConnector(
        limit=limit or 0,
        limit_per_host=0,  # the session serves one base URL: `limit` is the per-host limit
        keepalive_timeout=_float_env(KEEPALIVE_ENV, DEFAULT_KEEPALIVE),
    )
    # No proxies or netrc from the environment (trust_env=False), as before; the key travels
    # in headers only, and redirects are refused per request (allow_redirects=False).
    return aiohttp.ClientSession(connector=connector, trust_env=False, raise_for_status=False)


async def client_for(provider: str, base_url: str) -> aiohttp.ClientSession:
    """The shared session of this (provider, base URL) in the running event loop."""
    loop = asyncio.get_running_loop()
    pools = _POOLS.get(loop)
    if pools is None:
        pools = _POOLS[loop] = _LoopPools()
    if pools.closer is None:
        pools.closer = _close_at_shutdown(pools)
        await pools.closer.__anext__()
    client = pools.clients.get((provider, base_url))
    if client is None or client.closed:
        client = pools.clients[(provider, base_url)] = _new_session()
    return client


async def close_pools(provider: str | None = None) -> None:
    """Close the running loop's sessions (of one provider, or all of them)."""
    pools = _POOLS.get(asyncio.get_running_loop())
    if pools is None:
        return
    for key in [k for k in pools.clients if provider is None or k[0] == provider]:
        await pools.clients.pop(key).close()


# --------------------------------------------------------------------------- errors


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def kind_for_status(status: int) -> str:
    """The error kind of an HTTP status, before any provider-specific refinement."""
    if status == 429:
        return "rate_limit"
    if status == 529:
        return "overloaded"
    if status in (408, 409) or status >= 500:
        return "server_error"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 402:
        return "quota"
    return "bad_request"  # 400, 422 and any other client error


def error_fields(body: Any) -> tuple[str, str, str]:
    """(message, type, code) from the common `{"error": {...}}` shapes; empty when absent."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, str):
        return err, "", ""
    if not isinstance(err, dict):
        return "", "", ""
    message = err.get("message")
    kind = err.get("type") or err.get("status")
    code = err.get("code")
    return (
        str(message) if message is not None else "",
        str(kind) if kind is not None else "",
        str(code) if code is not None else "",
    )


class Call:
    """One request's context: who is calling, and what must never be shown."""

    __slots__ = ("model", "provider", "secret")

    def __init__(self, provider: str, model: str, secret: str | None) -> None:
        self.provider = provider
        self.model = model
        self.secret = secret

    def __repr__(self) -> str:  # never the secret
        return f"Call(provider={self.provider!r}, model={self.model!r})"

    def quote(self, text: str, limit: int) -> str:
        """`text` redacted whole, then cut to `limit` characters, as a repr. In that order:
        cut first, a key's first characters could be left where the cut fell."""
        return repr(cut_redacted(redact(text, (self.secret,)), limit))

    def error(
        self,
        kind: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> LlmError:
        """An `LlmError` whose message names provider, model and status, scrubbed of secrets."""
        # Redact the whole text, then cut it: cut first, a key's first characters could stay.
        detail = redact(detail.strip(), (self.secret,))
        shortened = cut_redacted(detail, _MAX_MESSAGE)
        if len(shortened) < len(detail):
            detail = shortened + "..."
        where = f"{self.provider}/{self.model}"
        head = f"{where}: HTTP {status} ({kind})" if status is not None else f"{where}: {kind}"
        message = redact(f"{head}: {detail}" if detail else head, (self.secret,))
        return LlmError(
            kind,
            message,
            provider=self.provider,
            model=self.model,
            status=status,
            retry_after=retry_after,
        )


def transport_error(call: Call, exc: BaseException) -> LlmError:
    """Map a transport failure (no reply, or a reply cut short) onto `timeout` or `connection`."""
    name = type(exc).__name__
    text = str(exc) or name
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return call.error("timeout", f"{name}: {text}")
    return call.error("connection", f"{name}: {text}")


@lru_cache(maxsize=64)
def _client_timeout(connect: float, read: float) -> aiohttp.ClientTimeout:
    """`connect` bounds the wait for a pooled or new connection; `read`, the wait for the reply
    to start and every gap between two reads of it, never the whole reply."""
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    # Compact UTF-8, no NaN: what the providers' own SDKs send.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _with_json_type(headers: Mapping[str, str]) -> dict[str, str]:
    sent = dict(headers)
    if not any(k.lower() == "content-type" for k in sent):
        sent["Content-Type"] = "application/json"
    return sent


def _bad_base_url(call: Call, base_url: str, exc: Exception) -> ConfigError:
    # A base URL without http:// or https://: a configuration mistake, not a network blip.
    message = f"{call.provider}: bad base URL {base_url!r}: {type(exc).__name__}: {exc}"
    return ConfigError(redact(message, (call.secret,)))


def _status_error(
    call: Call,
    status: int,
    headers: Mapping[str, str],
    text: str,
    refine: Refine | None,
    body_retry_after: Callable[[Any], float | None] | None,
) -> LlmError:
    """The `LlmError` of a non-2xx reply: its kind, the provider's message, its wait."""
    try:
        decoded: Any = json.loads(text) if text else None
    except ValueError:
        decoded = None
    message, err_type, code = error_fields(decoded)
    if not message:
        message = text if decoded is None else json.dumps(decoded)
    kind = kind_for_status(status)
    if refine is not None:
        kind = refine(status, decoded, message, err_type, code) or kind
    retry_after = parse_retry_after(headers)
    if retry_after is None and body_retry_after is not None:
        retry_after = body_retry_after(decoded)
    return call.error(kind, message, status=status, retry_after=retry_after)


async def _send(call: Call, base_url: str, path: str, headers: Mapping[str, str],
                body: Mapping[str, Any], timeouts: Timeouts) -> Any:
    """POST `body` as JSON on the provider's pool; the response, its body not yet read (the
    caller releases it). A bad base URL is a `ConfigError`, a failure to get a reply a mapped
    `LlmError` (`timeout`/`connection`)."""
    import aiohttp

    client = await client_for(call.provider, base_url)
    try:
        return await client.post(
            base_url.rstrip("/") + path,
            data=_json_bytes(body),
            headers=_with_json_type(headers),
            timeout=_client_timeout(timeouts.connect, timeouts.read),
            allow_redirects=False,
        )
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise _bad_base_url(call, base_url, exc) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise transport_error(call, exc) from None


async def post_json(
    call: Call,
    base_url: str,
    path: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeouts: Timeouts,
    refine: Refine | None = None,
    body_retry_after: Callable[[Any], float | None] | None = None,
) -> Any:
    """POST `body` as JSON; return the decoded 2xx body or raise a mapped `LlmError`.

    `refine(status, body, message, type, code) -> kind | None` lets an adapter sharpen the
    kind of an error response (OpenAI's `insufficient_quota` on a 429, say);
    `body_retry_after(body)` reads a wait the provider puts in the body instead of a header.
    """
    import aiohttp

    response = await _send(call, base_url, path, headers, body, timeouts)
    try:
        async with response:
            status = response.status
            raw = await response.read()
            reply_headers = response.headers
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise transport_error(call, exc) from None

    text = raw.decode("utf-8", "replace")
    if not 200 <= status < 300:
        raise _status_error(call, status, reply_headers, text, refine, body_retry_after)
    try:
        return json.loads(text)
    except ValueError:
        quoted = call.quote(text, _MAX_BODY_QUOTE)
        raise call.error("bad_response", f"body is not JSON: {quoted}", status=status) from None


async def stream_post(
    call: Call,
    base_url: str,
    path: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeouts: Timeouts,
    refine: Refine | None = None,
    body_retry_after: Callable[[Any], float | None] | None = None,
) -> AsyncIterator[bytes]:
    """POST `body` as JSON and yield the 2xx reply's bytes as they arrive (for server-sent
    events). An error status is read whole and raised as `post_json` raises it; a transport
    failure before the reply began is `timeout`/`connection`; after it began, an idle gap longer
    than the read timeout is `timeout` and anything else is `stream_interrupted`."""
    import aiohttp

    response = await _send(call, base_url, path, headers, body, timeouts)
    try:
        if not 200 <= response.status < 300:
            try:
                text = (await response.read()).decode("utf-8", "replace")
            except (aiohttp.ClientError, TimeoutError):
                text = ""
            raise _status_error(call, response.status, response.headers, text, refine,
                                body_retry_after)
        while True:
            try:
                chunk = await response.content.readany()
            except TimeoutError as exc:
                raise call.error("timeout", f"{type(exc).__name__}: no data within the read "
                                 "timeout") from None
            except aiohttp.ClientError as exc:
                raise call.error("stream_interrupted", f"the stream broke off: "
                                 f"{type(exc).__name__}: {exc}") from None
            if not chunk:
                return
            yield chunk
    finally:
        response.release()
