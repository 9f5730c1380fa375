"""One set of redaction rules: which values are secrets, and that a run reads them once."""

from __future__ import annotations

import pytest
from mmoc_runtime import (
    InputSpec,
    LlmError,
    LlmStep,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    TransformStep,
    execute_sync,
)
from mmoc_runtime import llm_call as llm_call_module
from mmoc_runtime.redaction import MIN_SECRET_LENGTH, REDACTED, redact, scrub, secret_values
from mmoc_runtime.spec import EndpointSpec
from runtime_fakes import FakeTime, ScriptedProvider


def test_secret_values_cover_provider_endpoint_and_key_like_variables() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-openai-0123456789",
        "LOCAL_LLM_CREDENTIAL": "endpoint-credential",  # named by an endpoint only
        "CI_JOB_TOKEN": "token-value-abc",  # key-like name
        "my_secret_thing": "lowercase-secret",  # the name check ignores case
        "GEMINI_API_KEY": "short",  # under MIN_SECRET_LENGTH: ordinary words stay readable
        "HOME": "/home/someone/far/away",  # not a key variable
        "ANTHROPIC_API_KEY": "  padded-anthropic-key \n",  # sent stripped, so echoed stripped
    }
    endpoints = (EndpointSpec("local", "http://127.0.0.1:9", api_key_env="LOCAL_LLM_CREDENTIAL"),)
    found = secret_values(endpoints, environ)
    assert set(found) == {
        "sk-openai-0123456789", "endpoint-credential", "token-value-abc", "lowercase-secret",
        "padded-anthropic-key",
    }
    assert [len(v) for v in found] == sorted((len(v) for v in found), reverse=True)
    assert all(len(v) >= MIN_SECRET_LENGTH for v in found)
    # Without the endpoint, its variable's name says nothing: it is not a secret.
    assert "endpoint-credential" not in secret_values((), environ)


def test_key_shapes_are_hidden_without_being_told_the_value() -> None:
    text = "used sk-abcdefghijklmnop and AIza" + "B" * 24 + " with api_key=zzz"
    clean = redact(text)
    assert clean == f"used {REDACTED} and {REDACTED} with api_key={REDACTED}"
    # A word that merely contains `sk-` is not a key.
    assert redact("the task-scheduler-module failed") == "the task-scheduler-module failed"


def test_scrub_hides_only_literal_values_inside_nested_data() -> None:
    secrets = ("endpoint-credential",)
    value = {"endpoint-credential": ["a endpoint-credential b", 3], "k": ("key=visible",)}
    assert scrub(value, secrets) == {REDACTED: [f"a {REDACTED} b", 3], "k": ["key=visible"]}
    assert scrub(value, ()) is value  # nothing to hide: no copy


def test_a_run_reads_the_secrets_once_however_many_attempts_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "tok-planted-0123456789"
    monkeypatch.setenv("MY_SERVICE_TOKEN", token)
    reads: list[int] = []

    def counting(endpoints: object, environ: object = None) -> tuple[str, ...]:
        reads.append(1)
        return secret_values(endpoints, environ)  # type: ignore[arg-type]

    monkeypatch.setattr(llm_call_module, "secret_values", counting)
    registry = ProviderRegistry()
    failing = ScriptedProvider(script=[LlmError("server_error", f"upstream echoed {token}")] * 4)
    registry.register("openai", failing)

    def leak(answer: str) -> str:
        raise ValueError(f"transform saw {token}")

    spec = PipelineSpec("leaky", inputs=(InputSpec("topic", default="x"),), steps=(
        LlmStep("ask", "openai/gpt-4o", "About {topic}", "answer",
                retry=RetryStrategy(max_retries=3, base_delay_seconds=1.0)),
        TransformStep("other", lambda topic: topic, "copy", reads=("topic",)),
        TransformStep("boom", lambda copy: leak(copy), "never", reads=("copy",)),
    ))
    fake = FakeTime()
    result = execute_sync(spec, {}, providers=registry, sleep=fake.sleep, clock=fake.clock)
    ask = result.trace.step("ask")
    assert len(ask.attempts) == 4 and all(a.status == "failed" for a in ask.attempts)
    assert all(a.error == f"upstream echoed {REDACTED}" for a in ask.attempts)
    assert result.trace.step("boom").error == f"transform saw {REDACTED}"
    assert token not in result.trace.to_json()
    assert len(reads) == 1  # five failures, one read of the environment


def test_a_run_where_nothing_fails_never_reads_the_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []
    monkeypatch.setattr(llm_call_module, "secret_values", lambda *a: reads.append(1) or ())
    spec = PipelineSpec("fine", inputs=(InputSpec("topic", default="x"),), steps=(
        LlmStep("ask", "mock/m", "About {topic}", "answer"),
    ))
    assert execute_sync(spec, {}, mock=True).success
    assert reads == []
