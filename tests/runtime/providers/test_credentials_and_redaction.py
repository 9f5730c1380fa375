"""The pre-run credentials check, and keys that never show in errors, reprs or logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc_runtime import LlmStep, PipelineSpec, execute_sync, script_main
from mmoc_runtime.errors import LlmError
from mmoc_runtime.providers import anthropic, gemini, openai_compat
from mmoc_runtime.providers.base import LlmRequest
from mmoc_runtime.providers.credentials import key_envs, missing_credentials
from mmoc_runtime.redaction import REDACTED, redact
from mmoc_runtime.spec import EndpointSpec
from support.loopback import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    KEY_VAR,
    OPENAI_KEY,
    PLANTED,
    PROBE_KEY,
    PROVIDERS,
    SHAPELESS_KEY,
    LoopbackServer,
    Reply,
    anthropic_error,
    anthropic_message,
    complete_once,
    echoed_forms,
    gemini_error,
    gemini_response,
    key_pieces,
    openai_completion,
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


# ---- keys echoed cut short, masked, upper-cased or escaped --------------------------------

ADAPTERS = {
    "openai": lambda: openai_compat.create("openai", None),
    "anthropic": anthropic.create,
    "gemini": gemini.create,
}
MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "gemini": "gemini/gemini-2.5-flash-lite",
}
# A 2xx body that is not JSON is quoted up to this many characters; other bodies up to 500.
BODY_QUOTE = 200


def error_of(provider: str, reply: Reply, server: LoopbackServer) -> str:
    server.queue(provider, reply)
    with pytest.raises(LlmError) as caught:
        complete_once(ADAPTERS[provider](), LlmRequest(provider, "m", "hi"))
    return str(caught.value)


def cut_body(key: str, shown: int, before: str = "") -> str:
    """An HTML page saying `before`, then echoing `key` where a cut at `BODY_QUOTE` keeps its
    first `shown` characters."""
    head = "<html>" + before
    page = head + "x" * (BODY_QUOTE - shown - len(head)) + key + " is not a valid key</html>"
    assert page.index(key) == BODY_QUOTE - shown
    return page


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("key", [PROBE_KEY, SHAPELESS_KEY])
def test_a_key_echoed_at_the_cut_of_a_body_is_hidden_whole(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch, provider: str, key: str
) -> None:
    monkeypatch.setenv(KEY_VAR[provider], key)
    # A cut at 8-10 characters of PROBE_KEY leaves too little for its `sk-` shape to match;
    # the shapeless key has no shape to match at any length.
    for shown in [n for n in (8, 9, 10, 11, 16, 24, 29, 30) if n <= len(key)]:
        for status in (200, 502):  # the 2xx body is quoted up to 200 characters, others 500
            message = error_of(provider, Reply(status, cut_body(key, shown)), provider_env)
            assert key_pieces(key, message) == set(), (shown, status, message)
            assert REDACTED in message
            if status != 200:  # quoted whole: the cut is the 2xx body's alone
                assert "is not a valid key" in message


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("form", ["masked", "upper", "escaped"])
def test_a_key_echoed_masked_upper_cased_or_escaped_is_hidden(
    provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch, provider: str, form: str
) -> None:
    monkeypatch.setenv(KEY_VAR[provider], PROBE_KEY)
    echoed = echoed_forms(PROBE_KEY)[form]
    for status in (200, 401, 502):
        body = f"<html><body>Invalid API key: {echoed}</body></html>"
        message = error_of(provider, Reply(status, body), provider_env)
        assert key_pieces(PROBE_KEY, message) == set(), (status, message)
        assert REDACTED in message and "Invalid API key: " in message


def leaky_pipeline(tmp_path: Path, provider: str) -> Path:
    source = tmp_path / f"leaky_{provider}.yaml"
    source.write_text(
        f"name: leaky\nsteps:\n  - name: ask\n    model: {MODELS[provider]}\n"
        '    prompt: "Say hi"\n    output_key: answer\n',
        encoding="utf-8",
    )
    return source


def mmoc_run(source: Path, tmp_path: Path, *options: str) -> tuple[Result, str, str]:
    """`mmoc run SOURCE` in process: its result, and its JSON and Markdown traces."""
    trace, trace_md = tmp_path / "t.json", tmp_path / "t.md"
    args = ["run", str(source), "--trace", str(trace), "--trace-md", str(trace_md), *options]
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.stdout + result.stderr
    return result, trace.read_text(encoding="utf-8"), trace_md.read_text(encoding="utf-8")


def assert_no_piece(key: str, **texts: str) -> None:
    for name, text in texts.items():
        # Rich may wrap a long line: look at the text with its line breaks removed too.
        for view in (text, text.replace("\n", "")):
            assert key_pieces(key, view) == set(), f"{name}: {text}"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [200, 502])
def test_mmoc_run_shows_no_piece_of_an_echoed_key(
    provider_env: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    provider: str,
    status: int,
) -> None:
    monkeypatch.setenv(KEY_VAR[provider], PROBE_KEY)
    echoes = " ".join(f"{name}={text}" for name, text in echoed_forms(PROBE_KEY).items())
    provider_env.always(provider, Reply(status, cut_body(PROBE_KEY, 8, before=echoes + " ")))

    result, trace, trace_md = mmoc_run(leaky_pipeline(tmp_path, provider), tmp_path)
    assert result.exit_code == 1, result.stderr
    assert_no_piece(PROBE_KEY, stderr=result.stderr, stdout=result.stdout, trace=trace,
                    trace_md=trace_md)
    assert "run failed" in result.stderr
    assert REDACTED in result.stderr and REDACTED in trace and REDACTED in trace_md


# ---- a model that repeats a key -----------------------------------------------------------


def reply_with_key(provider: str) -> Reply:
    forms = echoed_forms(PROBE_KEY)
    text = (
        f"Your key is {PROBE_KEY}; masked {forms['masked']}; loud {forms['upper']}; "
        f"escaped {forms['escaped']}."
    )
    body = {
        "openai": openai_completion,
        "anthropic": anthropic_message,
        "gemini": gemini_response,
    }[provider](text)
    return Reply(200, body)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("as_json", [False, True])
def test_mmoc_run_never_prints_a_key_a_model_repeated(
    provider_env: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    provider: str,
    as_json: bool,
) -> None:
    monkeypatch.setenv(KEY_VAR[provider], PROBE_KEY)
    provider_env.always(provider, reply_with_key(provider))
    options = ["--capture-content", "-q"] + (["--json"] if as_json else [])
    result, trace, trace_md = mmoc_run(leaky_pipeline(tmp_path, provider), tmp_path, *options)
    assert result.exit_code == 0, result.stderr
    assert_no_piece(PROBE_KEY, stdout=result.stdout, stderr=result.stderr, trace=trace,
                    trace_md=trace_md)
    assert "Your key is [REDACTED]; masked [REDACTED]****" in result.stdout
    if as_json:  # still exactly one JSON object
        assert json.loads(result.stdout)["answer"].startswith("Your key is [REDACTED];")
    # The trace captured the (scrubbed) output under the same rule.
    captured = json.loads(trace)["steps"][0]["output"]
    assert captured.startswith("Your key is [REDACTED]; masked [REDACTED]****")


def test_a_generated_script_never_prints_a_key_but_run_returns_it(
    provider_env: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PROBE_KEY)
    provider_env.always("openai", reply_with_key("openai"))
    spec = PipelineSpec("leaky", steps=(LlmStep("ask", MODELS["openai"], "Say hi", "answer"),))

    assert script_main(spec, []) == 0
    out, err = capsys.readouterr()
    assert_no_piece(PROBE_KEY, stdout=out, stderr=err)
    assert json.loads(out)["answer"].startswith("Your key is [REDACTED];")
    # The value handed back to Python is the app's own data: untouched.
    result = execute_sync(spec, {})
    assert result.outputs["answer"].startswith(f"Your key is {PROBE_KEY};")
