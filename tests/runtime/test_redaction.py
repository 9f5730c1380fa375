"""One set of redaction rules: which values are secrets, and that a run reads them once."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
from mmoc_runtime.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    cut_redacted,
    redact,
    scrub,
    secret_values,
    shown_json,
)
from mmoc_runtime.spec import EndpointSpec
from support.fakes import FakeTime, ScriptedProvider


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


# ---- pieces of a key: cut short, masked, in any case, escaped ------------------------------

KEY = "sk-PROBE-5f3e9a1c77b2d4e0jd8s"


def test_every_piece_of_eight_characters_or_more_is_hidden() -> None:
    for size in range(MIN_SECRET_LENGTH, len(KEY) + 1):
        for piece in (KEY[:size], KEY[-size:], KEY[(len(KEY) - size) // 2 :][:size]):
            assert redact(f"echo {piece}!", (KEY,)) == f"echo {REDACTED}!", piece
    # Seven characters are no piece of a key: text that happens to share them stays.
    assert redact("echo sk-PROB! 5f3e9a1 jd8s", (KEY,)) == "echo sk-PROB! 5f3e9a1 jd8s"


def test_a_masked_key_loses_its_visible_prefix() -> None:
    masked = "sk-PROBE************jd8s"
    assert redact(f"Incorrect API key: {masked}.", (KEY,)) == (
        f"Incorrect API key: {REDACTED}************jd8s."
    )


def test_a_key_in_any_case_is_hidden() -> None:
    text = f"KEY {KEY.upper()} / {KEY.swapcase()} / {KEY[3:20].upper()}"
    assert redact(text, (KEY,)) == f"KEY {REDACTED} / {REDACTED} / {REDACTED}"


@pytest.mark.parametrize(
    "echoed",
    [
        KEY.replace("-", "\\u002d"),  # JSON
        KEY.replace("-", "\\u002D"),
        "".join(f"\\u{ord(c):04x}" for c in KEY),  # every character escaped
        KEY.replace("-", "\\\\u002d"),  # a JSON body quoted in a JSON string
        KEY.replace("-", "\\x2d"),  # Python's repr
        KEY.replace("-", "%2D"),  # a URL
    ],
)
def test_an_escaped_key_is_hidden_with_its_escapes_and_nothing_else(echoed: str) -> None:
    text = f'{{"detail": "bad key \\"{echoed}\\" \\u00e9t\\u00e9"}}'
    assert redact(text, (KEY,)) == f'{{"detail": "bad key \\"{REDACTED}\\" \\u00e9t\\u00e9"}}'


def test_escaped_slashes_in_a_key_are_decoded() -> None:
    key = "Zm9vYmFy/YmF6+cXV4/eA=="  # base64-like keys hold `/`, JSON may write it `\/`
    assert redact(json.dumps({"k": key}).replace("/", "\\/"), (key,)) == f'{{"k": "{REDACTED}"}}'


def test_a_cut_after_redaction_keeps_the_marker_whole() -> None:
    text = redact("x" * 195 + KEY + " tail", (KEY,))
    assert text == "x" * 195 + REDACTED + " tail"
    assert cut_redacted(text, 200) == "x" * 195 + REDACTED  # not `[REDAC`
    assert cut_redacted(text, 195) == "x" * 195
    assert cut_redacted(text, 500) == text


def test_scrub_follows_the_same_rule_for_values_but_not_key_shapes() -> None:
    value = {
        "out": [f"a {KEY.upper()} b", f"masked {KEY[:8]}****{KEY[-4:]}"],
        "n": 3,
        "k": "key=visible sk-other-0123456789",
    }
    assert scrub(value, (KEY,)) == {
        "out": [f"a {REDACTED} b", f"masked {REDACTED}****jd8s"],
        "n": 3,
        "k": "key=visible sk-other-0123456789",
    }


def test_shown_json_hides_keys_and_stays_valid_json() -> None:
    class Opaque:
        def __str__(self) -> str:
            return f"opaque {KEY}"

    value = {"a": f'a quote " then {KEY}', "b": [KEY.upper(), 2], "c": Opaque()}
    text = shown_json(value, (KEY,), indent=2)
    assert json.loads(text) == {
        "a": f'a quote " then {REDACTED}',
        "b": [REDACTED, 2],
        "c": f"opaque {REDACTED}",
    }


# The property: whatever the key and the text around it, and however the key is echoed, no
# piece of it (`MIN_SECRET_LENGTH` characters, any case, escapes decoded) is left.

KEY_CHARS = string.ascii_letters + string.digits + "-_"
ECHOES: dict[str, Callable[[str], str]] = {
    "as is": lambda piece: piece,
    "upper": str.upper,
    "swapcase": str.swapcase,
    "dash escaped": lambda piece: piece.replace("-", "\\u002d"),
    "all escaped": lambda piece: "".join(f"\\u{ord(c):04X}" for c in piece),
    "escaped twice": lambda piece: piece.replace("-", "\\\\u002d").replace("_", "\\\\u005f"),
}


def _unescaped(text: str) -> str:
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def pieces_left(key: str, text: str) -> set[str]:
    """The `MIN_SECRET_LENGTH`-character pieces of `key` that `text` still shows."""
    views = (text.lower(), _unescaped(text).lower())
    size = MIN_SECRET_LENGTH
    pieces = {key[i : i + size].lower() for i in range(len(key) - size + 1)}
    return {p for p in pieces if any(p in view for view in views)}


@settings(max_examples=200, deadline=None)
@given(
    key=st.text(KEY_CHARS, min_size=MIN_SECRET_LENGTH, max_size=60),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    echo=st.sampled_from(sorted(ECHOES)),
    data=st.data(),
)
def test_no_piece_of_a_key_survives(
    key: str, before: str, after: str, echo: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(key) - MIN_SECRET_LENGTH))
    end = data.draw(st.integers(start + MIN_SECRET_LENGTH, len(key)))
    text = before + ECHOES[echo](key[start:end]) + after
    assert pieces_left(key, redact(text, (key,))) == set()
    assert pieces_left(key, scrub(text, (key,))) == set()
