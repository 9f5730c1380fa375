"""Calls to the real APIs: run with `pytest -m live`, and only for providers whose key is set.

Without `-m live` (the default suite) these never run, even when keys are set, so a plain
`pytest` makes no paid call. Each test is one small request (`max_tokens` 32). Models can be
overridden with MMOC_LIVE_OPENAI_MODEL, MMOC_LIVE_ANTHROPIC_MODEL and MMOC_LIVE_GEMINI_MODEL.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from mmoc_runtime.errors import LlmError
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest, LlmResponse
from mmoc_runtime.structured import parse_structured
from support.loopback import complete_once

pytestmark = pytest.mark.live

LIVE = {
    "openai": ("OPENAI_API_KEY", "MMOC_LIVE_OPENAI_MODEL", "gpt-4o-mini"),
    "anthropic": ("ANTHROPIC_API_KEY", "MMOC_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5"),
    "gemini": ("GEMINI_API_KEY", "MMOC_LIVE_GEMINI_MODEL", "gemini-2.5-flash-lite"),
}


def adapter(provider: str) -> Any:
    if provider == "openai":
        return openai_compat.create("openai", None)
    return anthropic.create() if provider == "anthropic" else gemini.create()


@pytest.fixture(params=sorted(LIVE))
def live(request: pytest.FixtureRequest) -> tuple[str, str]:
    if "live" not in (request.config.option.markexpr or ""):
        pytest.skip("live test: run with pytest -m live")
    provider = request.param
    key_env, model_env, default_model = LIVE[provider]
    has_key = os.environ.get(key_env) or (provider == "gemini" and os.environ.get("GOOGLE_API_KEY"))
    if not has_key:
        pytest.skip(f"{key_env} is not set")
    return provider, os.environ.get(model_env, default_model)


def call(provider: str, request: LlmRequest) -> LlmResponse:
    return complete_once(adapter(provider), request)


def test_live_plain_completion(live: tuple[str, str]) -> None:
    provider, model = live
    response = call(
        provider,
        LlmRequest(
            provider,
            model,
            "Reply with the single word: pong",
            max_tokens=32,
            system="You answer tersely.",
        ),
    )
    assert "pong" in response.text.lower()
    assert response.input_tokens > 0 and response.output_tokens > 0
    assert not response.tokens_estimated


def test_live_structured_output(live: tuple[str, str]) -> None:
    provider, model = live
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    response = call(
        provider,
        LlmRequest(
            provider,
            model,
            "What is 2 + 2? Give the answer field only.",
            max_tokens=64,
            json_output=True,
            json_schema=schema,
        ),
    )
    assert parse_structured(response.text, schema) == {"answer": 4}


def test_live_bad_key_is_auth_and_redacted(
    live: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, model = live
    fake = "sk-live-test-not-a-real-key-0000"
    monkeypatch.setenv(LIVE[provider][0], fake)
    with pytest.raises(LlmError) as caught:
        call(provider, LlmRequest(provider, model, "hi", max_tokens=8))
    assert caught.value.kind in ("auth", "bad_request")  # Gemini answers 400 for a bad key
    assert fake not in str(caught.value)
