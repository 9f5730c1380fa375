"""Every failure the loopback server can produce maps onto the kind the runtime acts on."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from mmoc_runtime.errors import CLIENT_KINDS, RETRYABLE_KINDS, LlmError
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers._http import kind_for_status, parse_retry_after
from mmoc_runtime.providers.base import LlmRequest
from support.loopback import (
    PLANTED,
    LoopbackServer,
    Reply,
    anthropic_error,
    complete_once,
    gemini_blocked,
    gemini_error,
    openai_error,
    rate_limited,
    server_error,
)

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}


def make(provider: str, **kwargs: Any) -> Any:
    if provider == "openai":
        return openai_compat.OpenAICompatProvider(
            "openai", base_url_env="OPENAI_BASE_URL", api_key_env="OPENAI_API_KEY", **kwargs
        )
    if provider == "anthropic":
        return anthropic.AnthropicProvider(**kwargs)
    return gemini.GeminiProvider(**kwargs)


def fail(provider: str, **kwargs: Any) -> LlmError:
    """Run one call that must fail; return its error."""
    with pytest.raises(LlmError) as caught:
        complete_once(make(provider, **kwargs), LlmRequest(provider, MODELS[provider], "hello"))
    error = caught.value
    for key in PLANTED:
        assert key not in str(error) and key not in repr(error)
    return error


ALL = ("openai", "anthropic", "gemini")


@pytest.mark.parametrize("provider", ALL)
def test_429_is_rate_limit_with_retry_after_floor(
    provider_env: LoopbackServer, provider: str
) -> None:
    provider_env.queue(provider, rate_limited(provider, retry_after="2"))
    error = fail(provider)
    assert (error.kind, error.status, error.retry_after) == ("rate_limit", 429, 2.0)
    assert error.provider == provider and error.model == MODELS[provider]
    assert f"{provider}/{MODELS[provider]}" in str(error) and "429" in str(error)


@pytest.mark.parametrize("provider", ALL)
def test_retry_after_ms_wins_over_seconds(provider_env: LoopbackServer, provider: str) -> None:
    provider_env.queue(provider, rate_limited(provider, retry_after="30", ms="1500"))
    assert fail(provider).retry_after == 1.5


def test_gemini_retry_info_in_body_is_the_retry_after(provider_env: LoopbackServer) -> None:
    body = gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for requests", "7s")
    provider_env.queue("gemini", Reply(429, body))
    error = fail("gemini")
    assert (error.kind, error.retry_after) == ("rate_limit", 7.0)


def test_openai_insufficient_quota_is_quota_not_rate_limit(provider_env: LoopbackServer) -> None:
    body = openai_error(
        "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
    )
    provider_env.queue("openai", Reply(429, body))
    error = fail("openai")
    assert error.kind == "quota" and "quota" in CLIENT_KINDS
    assert "You exceeded your current quota" in str(error)


@pytest.mark.parametrize(
    "status, body",
    [
        (
            400,
            anthropic_error(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
        ),
        (402, anthropic_error("billing_error", "Payment required")),
        (
            429,
            anthropic_error(
                "rate_limit_error",
                "Monthly usage threshold crossed",
                "enforced_spend_limit_reached",
            ),
        ),
    ],
)
def test_anthropic_spend_limit_is_quota(
    provider_env: LoopbackServer, status: int, body: Any
) -> None:
    provider_env.queue("anthropic", Reply(status, body))
    assert fail("anthropic").kind == "quota"


def test_anthropic_529_is_overloaded(provider_env: LoopbackServer) -> None:
    provider_env.queue("anthropic", Reply(529, anthropic_error("overloaded_error", "Overloaded")))
    error = fail("anthropic")
    assert (error.kind, error.status) == ("overloaded", 529)
    assert "Overloaded" in str(error) and error.kind in RETRYABLE_KINDS


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize(
    "status, kind",
    [
        (500, "server_error"),
        (502, "server_error"),
        (503, "server_error"),
        (408, "server_error"),
        (409, "server_error"),
        (400, "bad_request"),
        (422, "bad_request"),
        (401, "auth"),
        (403, "auth"),
        (404, "not_found"),
    ],
)
def test_status_codes_map_to_kinds(
    provider_env: LoopbackServer, provider: str, status: int, kind: str
) -> None:
    reply = server_error(provider, status)
    provider_env.queue(provider, reply)
    error = fail(provider)
    assert (error.kind, error.status) == (kind, status)


@pytest.mark.parametrize("provider", ALL)
def test_non_json_success_body_is_bad_response(provider_env: LoopbackServer, provider: str) -> None:
    provider_env.queue(provider, Reply(200, "<html>gateway hiccup</html>"))
    error = fail(provider)
    assert error.kind == "bad_response" and "not JSON" in str(error)


@pytest.mark.parametrize(
    "provider, body",
    [
        ("openai", {"id": "x", "object": "chat.completion", "choices": []}),
        ("anthropic", {"type": "message", "role": "assistant"}),
        ("gemini", {"candidates": []}),
    ],
)
def test_success_without_content_is_bad_response(
    provider_env: LoopbackServer, provider: str, body: Any
) -> None:
    provider_env.queue(provider, Reply(200, body))
    assert fail(provider).kind == "bad_response"


def test_gemini_blocked_prompt_is_blocked_and_not_retryable(
    provider_env: LoopbackServer,
) -> None:
    provider_env.queue("gemini", Reply(200, gemini_blocked("SAFETY")))
    error = fail("gemini")
    assert error.kind == "blocked" and "SAFETY" in str(error)
    assert "blocked" in CLIENT_KINDS


@pytest.mark.parametrize("provider", ALL)
def test_slow_reply_past_read_timeout_is_timeout(
    provider_env: LoopbackServer, provider: str
) -> None:
    provider_env.queue(provider, Reply(stall=True))
    assert fail(provider, read_timeout=0.05).kind == "timeout"


@pytest.mark.parametrize("provider", ALL)
def test_dropped_connection_is_connection(provider_env: LoopbackServer, provider: str) -> None:
    provider_env.queue(provider, Reply(drop=True))
    error = fail(provider)
    assert error.kind == "connection" and error.status is None


def test_refused_connection_is_connection(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    assert fail("anthropic").kind == "connection"


def test_timeout_env_variable_is_read_at_call_time(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMOC_HTTP_READ_TIMEOUT", "0.05")
    provider_env.queue("openai", Reply(stall=True))
    assert fail("openai").kind == "timeout"


def test_adapters_never_retry(provider_env: LoopbackServer) -> None:
    provider_env.queue("openai", server_error("openai", 500))
    fail("openai")
    assert len(provider_env.requests) == 1


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    # An HTTP date: the wait is measured from an injected "now".
    date = "Wed, 21 Oct 2015 07:28:30 GMT"
    assert parse_retry_after({"retry-after": date}, now=1445412500.0) == 10.0
    assert parse_retry_after({"retry-after": date}, now=1445412600.0) == 0.0


def test_kind_for_status_table() -> None:
    assert [
        kind_for_status(s) for s in (429, 529, 500, 599, 408, 409, 401, 403, 404, 402, 418)
    ] == [
        "rate_limit",
        "overloaded",
        "server_error",
        "server_error",
        "server_error",
        "server_error",
        "auth",
        "auth",
        "not_found",
        "quota",
        "bad_request",
    ]


def test_compatible_server_error_object_in_a_200_is_bad_response(
    provider_env: LoopbackServer,
) -> None:
    provider_env.queue("openai", Reply(200, {"error": {"message": "model 'x' not loaded"}}))
    error = fail("openai")
    assert error.kind == "bad_response" and "model 'x' not loaded" in str(error)


def test_importing_the_adapters_loads_no_http_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mmoc_runtime, mmoc_runtime.structured, mmoc_runtime.providers.credentials, "
        "mmoc_runtime.providers.openai_compat, mmoc_runtime.providers.anthropic, "
        "mmoc_runtime.providers.gemini\n"
        "print(sorted(m for m in ('aiohttp', 'httpx', 'pydantic', 'yaml', 'mmoc', 'openai', 'anthropic', "
        "'google') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gemini_invalid_key_is_auth(provider_env: LoopbackServer) -> None:
    body = gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    body["error"]["details"] = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    ]
    provider_env.queue("gemini", Reply(400, body))
    assert fail("gemini").kind == "auth"


def test_openai_content_filter_without_text_is_blocked(provider_env: LoopbackServer) -> None:
    from support.loopback import openai_completion

    body = openai_completion("x")
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["finish_reason"] = "content_filter"
    provider_env.queue("openai", Reply(200, body))
    assert fail("openai").kind == "blocked"


def test_gemini_candidate_without_text_names_its_finish_reason(
    provider_env: LoopbackServer,
) -> None:
    from support.loopback import gemini_response

    body = gemini_response("x")
    body["candidates"][0] = {"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}
    provider_env.queue("gemini", Reply(200, body))
    error = fail("gemini")
    assert error.kind == "bad_response" and "MAX_TOKENS" in str(error)
