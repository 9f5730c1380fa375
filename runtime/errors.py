"""Error kinds and exceptions shared by the executor, retry, breaker and providers.

Every failure the runtime acts on carries a *kind*: a short string the retry policy, the
fallback chain, the breaker and the trace all understand. Providers map their wire errors onto
these kinds; anything else is classified by `error_kind`.
"""

from __future__ import annotations

from typing import Any

# Kinds retried by default: transient failures that a later attempt may survive.
RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate_limit", "overloaded", "server_error", "timeout", "connection", "bad_response",
     "stream_interrupted"}
)
# `stream_interrupted`: a streamed reply that broke off after it began (the connection dropped,
# the provider sent an error event, or the stream ended without its closing event).
# Kinds never retried, whatever `retry_on` says: another attempt cannot succeed.
# `budget_exceeded`: not called, the run's budget would be passed; `cassette_miss`: a replayed
# run asked what its cassette does not hold (`cassette`).
CLIENT_KINDS: frozenset[str] = frozenset(
    {"bad_request", "auth", "not_found", "quota", "blocked", "budget_exceeded", "cassette_miss"}
)
# The one marker that replaces a secret in any text the runtime shows or stores (errors, logs,
# traces, captured content).
REDACTED = "[REDACTED]"

# Every kind the runtime knows; `invalid_output` is retried only when `retry_on` names it.
ALL_KINDS: frozenset[str] = RETRYABLE_KINDS | CLIENT_KINDS | {"invalid_output", "circuit_open"}


class MmocRuntimeError(Exception):
    """Base class of every error the runtime raises on purpose."""

    kind: str = "error"


class LlmError(MmocRuntimeError):
    """A model call failed. `kind` drives retry, fallback and the breaker."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after = retry_after
        # Filled by the retry loop on exhaustion: one dict per attempt.
        self.attempts: list[dict[str, Any]] = []

    def __str__(self) -> str:
        return self.message


class CircuitOpenError(LlmError, RuntimeError):
    """The model's breaker is open: rejected without a call.

    Also a `RuntimeError`, as the earlier library's rejection was, so its users' handlers
    still catch it.
    """

    def __init__(self, model: str, message: str | None = None) -> None:
        super().__init__(
            "circuit_open", message or f"Circuit breaker is OPEN for {model}", model=model
        )


class InputError(MmocRuntimeError):
    """Run inputs are missing or of the wrong type; raised before any model call."""

    kind = "input"

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class TemplateError(MmocRuntimeError):
    """A prompt template cannot be rendered; names every missing key at once."""

    kind = "template"

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class ConfigError(MmocRuntimeError):
    """The environment cannot serve a model: no API key, unknown provider, bad model id."""

    kind = "config"


class AbiMismatchError(ImportError):
    """A generated module was made for another runtime ABI than the one installed."""


def error_kind(exc: BaseException) -> str:
    """The kind of any exception, for retry decisions and the trace."""
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str) and kind != "error":
        return kind
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError since 3.11
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection"
    return "error"


def retry_after_of(exc: BaseException) -> float | None:
    """The server's requested wait carried by an error, if any."""
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, (int, float)) else None


class FallbackExhaustedError(LlmError, RuntimeError):
    """Every option of a fallback chain failed. `errors` holds (option name, error) in order.

    Its kind is the last option's kind, so an outer retry or breaker judges the chain by the
    failure it ended on (all options rejected as bad requests stays a client error). Like the
    earlier library's, it is a `RuntimeError` whose message starts `All fallback options
    failed`.
    """

    def __init__(self, errors: list[tuple[str, BaseException]]) -> None:
        last = errors[-1][1] if errors else None
        tried = "; ".join(f"{name}: {_describe(exc)}" for name, exc in errors)
        super().__init__(
            error_kind(last) if last is not None else "fallback_exhausted",
            f"All fallback options failed ({len(errors)} tried): {tried}",
            retry_after=retry_after_of(last) if last is not None else None,
        )
        self.errors = errors


def _describe(exc: BaseException) -> str:
    """`kind: message`, naming the exception type when the error has no known kind."""
    kind = error_kind(exc)
    label = type(exc).__name__ if kind == "error" else kind
    text = str(exc)
    return f"{label}: {text}" if text else label
