"""What the HTTP adapters share above the wire: settings, the POST, closing, usage fallbacks.

`_http` knows how to talk HTTP; this module knows what an adapter object is. Each adapter
subclasses `HttpProvider`, names where it sends (`base_url_env`, `default_base_url`) and
builds its own headers, body and response; the base class resolves the base URL and timeouts
per call (so a changed environment takes effect without rebuilding the provider), posts, and
closes its connection pools.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._http import Call, Refine, close_pools, env_value, post_json, resolve_timeouts
from .base import LlmRequest, LlmResponse, estimate_tokens

JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json", "Accept": "application/json"}


def json_headers(own: Mapping[str, str] | None = None) -> dict[str, str]:
    """The JSON content headers, then an adapter's own (auth, version) headers."""
    return {**JSON_HEADERS, **(own or {})}


def int_or_zero(value: Any) -> int:
    """A usage count from a decoded body; anything but an int counts as none."""
    return value if isinstance(value, int) else 0


def str_or_none(value: Any) -> str | None:
    """A finish reason or model name from a decoded body, when it is text."""
    return value if isinstance(value, str) else None


def estimated_response(
    text: str, prompt_text: str, finish: Any, model: Any, response_id: Any = None
) -> LlmResponse:
    """A response whose provider reported no usage: counts estimated, and marked so."""
    return LlmResponse(
        text=text,
        input_tokens=estimate_tokens(prompt_text),
        output_tokens=estimate_tokens(text),
        tokens_estimated=True,
        finish_reason=str_or_none(finish),
        model=str_or_none(model),
        response_id=str_or_none(response_id),
    )


class HttpProvider:
    """An adapter that POSTs JSON to one base URL. Subclasses set the class attributes."""

    name: str
    base_url_env: str | None = None  # read per call; None: only the constructor or default
    default_base_url: str = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def __repr__(self) -> str:  # never a key: only where the provider sends
        return f"{type(self).__name__}(base_url={self.current_base_url()!r})"

    def current_base_url(self) -> str:
        """The constructor's base URL, else the environment's, else the default."""
        if self.base_url:
            return self.base_url
        from_env = env_value(self.base_url_env) if self.base_url_env else None
        return from_env or self.default_base_url

    async def post(
        self,
        call: Call,
        request: LlmRequest,
        path: str,
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        refine: Refine | None = None,
        body_retry_after: Callable[[Any], float | None] | None = None,
    ) -> Any:
        """POST `body` to `path` with this provider's timeouts capped by the step's budget."""
        timeouts = resolve_timeouts(self.connect_timeout, self.read_timeout, request.timeout)
        return await post_json(
            call,
            self.current_base_url(),
            path,
            headers,
            body,
            timeouts,
            refine,
            body_retry_after=body_retry_after,
        )

    async def aclose(self) -> None:
        await close_pools(self.name)
