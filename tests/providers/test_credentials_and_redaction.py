"""The pre-run credentials check, and keys that never show in errors, reprs or logs."""

from __future__ import annotations

import logging

import pytest
from mmoc_runtime.errors import LlmError
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest
from mmoc_runtime.providers.credentials import key_envs, missing_credentials
from mmoc_runtime.redaction import REDACTED, redact
from mmoc_runtime.spec import EndpointSpec
from provider_loopback import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    PLANTED,
    LoopbackServer,
    Reply,
    anthropic_error,
    complete_once,
    gemini_error,
    openai_error,
)

KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "VLLM_KEY")


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_missing_credentials_names_each_model_and_variable(no_keys: pytest.MonkeyPatch) -> None:
    vllm = EndpointSpec("vllm", "http://127.0.0.1:9/v1", api_key_env="VLLM_KEY")
    local = EndpointSpec("local", "http://127.0.0.1:9/v1")
    models = [
        "gpt-4",  # bare catalog name
        "anthropic/claude-haiku-4-5",
        "gemini-2.5-flash-lite",
        "mock/echo?fail_first=1",
        "ollama/llama3.2",
        "vllm/qwen",
        "local/phi",
        "gpt-4",  # repeated: reported once
        "nonsense-model",  # unknown: the compiler's checks report it, not this
    ]
    assert missing_credentials(models, [vllm, local]) == [
        ("gpt-4", "OPENAI_API_KEY"),
        ("anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY"),
        ("gemini-2.5-flash-lite", "GEMINI_API_KEY"),
        ("vllm/qwen", "VLLM_KEY"),
    ]
    no_keys.setenv("GOOGLE_API_KEY", "g")
    no_keys.setenv("OPENAI_API_KEY", "o")
    no_keys.setenv("VLLM_KEY", "v")
    assert missing_credentials(models, [vllm, local]) == [
        ("anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY")
    ]
    no_keys.setenv("ANTHROPIC_API_KEY", "   ")  # blank counts as unset
    assert missing_credentials(["claude-3-haiku"]) == [("claude-3-haiku", "ANTHROPIC_API_KEY")]


def test_key_envs_table() -> None:
    assert key_envs("gemini") == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert key_envs("mock") == () and key_envs("ollama") == ()
    assert key_envs("x", [EndpointSpec("x", "http://h", api_key_env="X_KEY")]) == ("X_KEY",)


def test_redact_scrubs_values_headers_and_query_keys() -> None:
    text = (
        f"Incorrect API key provided: {OPENAI_KEY}. headers={{'Authorization': 'Bearer {OPENAI_KEY}', "
        f"'x-api-key': '{ANTHROPIC_KEY}'}} url=https://h/v1/models?key={GEMINI_KEY}&alt=json "
        f"x-goog-api-key: {GEMINI_KEY}"
    )
    clean = redact(text, PLANTED)
    for key in PLANTED:
        assert key not in clean
    assert "key=[REDACTED]&alt=json" in clean
    assert "Incorrect API key provided" in clean
    # Even without being told the key, header- and query-shaped values are hidden.
    assert OPENAI_KEY not in redact(f"Authorization: Bearer {OPENAI_KEY}")
    assert GEMINI_KEY not in redact(f"?key={GEMINI_KEY}")
    # A headers dict quoted in a message (its repr) hides the key header, keeps the others.
    assert redact(repr({"X-Api-Key": "s", "Accept": "json"})) == (
        f"{{'X-Api-Key': '{REDACTED}', 'Accept': 'json'}}"
    )


@pytest.mark.parametrize(
    "provider, reply",
    [
        (
            "openai",
            Reply(
                401,
                openai_error(
                    f"Incorrect API key provided: {OPENAI_KEY}.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            ),
        ),
        (
            "anthropic",
            Reply(
                401, anthropic_error("authentication_error", f"invalid x-api-key {ANTHROPIC_KEY}")
            ),
        ),
        (
            "gemini",
            Reply(
                400, gemini_error(400, "INVALID_ARGUMENT", f"API key not valid: key={GEMINI_KEY}")
            ),
        ),
    ],
)
def test_echoed_key_never_reaches_errors_reprs_or_logs(
    provider_env: LoopbackServer, caplog: pytest.LogCaptureFixture, provider: str, reply: Reply
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log at debug
    provider_env.queue(provider, reply)
    adapter = {
        "openai": lambda: openai_compat.create("openai", None),
        "anthropic": anthropic.create,
        "gemini": gemini.create,
    }[provider]()

    with pytest.raises(LlmError) as caught:
        complete_once(adapter, LlmRequest(provider, "m", "hi"))
    error = caught.value
    shown = " ".join(
        [
            str(error),
            repr(error),
            repr(adapter),
            repr(error.__cause__),
            repr(error.__context__),
            caplog.text,
            repr(vars(error)),
        ]
    )
    for key in PLANTED:
        assert key not in shown
    assert REDACTED in str(error)
    assert error.kind in ("auth", "bad_request")


def test_a_short_key_value_does_not_shred_ordinary_words() -> None:
    # `OPENAI_API_KEY=test` against a test server: "test" must not be cut out of words.
    text = "the latest test request failed; Authorization: Bearer test; url ?key=test&x=1"
    clean = redact(text, ("test",))
    assert clean.startswith("the latest test request failed; ")
    # Header- and query-shaped values are still hidden, whatever their length.
    assert "Authorization: [REDACTED];" in clean and "?key=[REDACTED]&x=1" in clean
    assert redact("sent Bearer abc") == "sent Bearer [REDACTED]"
    assert redact("x-api-key: abc", ("abc",)) == "x-api-key: [REDACTED]"


def test_key_values_of_eight_characters_or_more_are_scrubbed_longest_first() -> None:
    assert redact("code 12345678 here", ("12345678",)) == f"code {REDACTED} here"
    assert redact("code 1234567 here", ("1234567",)) == "code 1234567 here"
    # A key that contains another key is replaced whole, not left half-shown.
    assert redact("k=abcdefgh-XYZ!", ("abcdefgh", "abcdefgh-XYZ!")) == f"k={REDACTED}"
    assert redact("v abcdefgh-XYZ!", ("abcdefgh", "abcdefgh-XYZ!")) == f"v {REDACTED}"


def test_a_short_test_key_leaves_the_provider_message_readable(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    message = "the latest test request is malformed"
    provider_env.queue("openai", Reply(400, openai_error(message, "invalid_request_error")))
    with pytest.raises(LlmError) as caught:
        complete_once(openai_compat.create("openai", None), LlmRequest("openai", "m", "hi"))
    assert message in str(caught.value)
    assert provider_env.requests[0].headers["authorization"] == "Bearer test"


def test_a_key_cut_by_truncation_is_still_hidden(provider_env: LoopbackServer) -> None:
    # The key straddles the 500-character cut of a long provider message.
    message = "x" * 490 + f" {OPENAI_KEY} " + "y" * 100
    provider_env.queue("openai", Reply(400, openai_error(message, "invalid_request_error")))
    adapter = openai_compat.create("openai", None)

    with pytest.raises(LlmError) as caught:
        complete_once(adapter, LlmRequest("openai", "m", "hi"))
    assert OPENAI_KEY[:8] not in str(caught.value)


def test_base_url_without_scheme_is_a_config_error(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmoc_runtime.errors import ConfigError

    monkeypatch.setenv("OLLAMA_BASE_URL", "localhost:11434/v1")
    adapter = openai_compat.create("ollama", None)

    with pytest.raises(ConfigError, match="bad base URL"):
        complete_once(adapter, LlmRequest("ollama", "llama3", "hi"))
