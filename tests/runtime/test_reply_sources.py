"""Reply sources on the llm path: fixed replies (`replies=`) and cassettes (`cassette=`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmoc_runtime import (
    ConfigError,
    InputSpec,
    LlmStep,
    MockProvider,
    OutputFormat,
    PipelineSpec,
    ProviderRegistry,
    RetryStrategy,
    TransformStep,
    execute_sync,
)
from mmoc_runtime.cassette import Cassette
from mmoc_runtime.providers.base import LlmResponse
from support.fakes import ScriptedProvider

PROMPT = "Write about {topic}.\nUse two lines.\nEnd with a {ending}."


def two_steps(model: str = "mock/m", **options: object) -> PipelineSpec:
    return PipelineSpec(
        "tape",
        inputs=(InputSpec("topic", default="tides"), InputSpec("ending", default="question")),
        steps=(
            LlmStep("draft", model, PROMPT, "text", **options),  # type: ignore[arg-type]
            LlmStep("polish", model, "Polish: {text}", "final"),
        ),
    )


def counting_mock() -> tuple[ProviderRegistry, MockProvider]:
    registry = ProviderRegistry()
    mock = MockProvider()
    registry.register("mock", mock)
    return registry, mock


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider key, and every provider's URL on a closed port: any call would fail."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")


# -- fixed replies ------------------------------------------------------------------------


def test_a_fixed_reply_answers_its_step_without_a_call() -> None:
    registry, mock = counting_mock()
    result = execute_sync(two_steps(), {}, providers=registry, replies={"draft": "Fixed text"})
    assert result.success, result.error
    assert result.values["text"] == "Fixed text"
    assert result.values["final"] == "[mock/m] Polish: Fixed text"
    assert mock.total_calls == 1  # only `polish` called the provider
    draft, polish = result.trace.step("draft"), result.trace.step("polish")
    assert draft.reply_source == "fixed" and draft.attempts[0].reply_source == "fixed"
    assert draft.cost_usd == 0.0 and draft.tokens_estimated
    assert polish.reply_source is None
    assert result.trace.to_dict()["steps"][0]["reply_source"] == "fixed"


def test_a_fixed_reply_needs_no_key(no_keys: None) -> None:
    result = execute_sync(two_steps("openai/gpt-4o-mini"), {},
                          replies={"draft": "a", "polish": "b"})
    assert result.success, result.error
    assert result.outputs == {"text": "a", "final": "b"}


def test_a_structured_step_takes_json_data_and_it_is_validated() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    spec = PipelineSpec("s", steps=(LlmStep("count", "mock/m", "Count", "c",
                                            output_format=OutputFormat("json", schema)),))
    assert execute_sync(spec, {}, replies={"count": {"n": 3}}).values["c"] == {"n": 3}
    bad = execute_sync(spec, {}, replies={"count": {"n": "three"}})
    assert not bad.success and bad.trace.step("count").error_kind == "invalid_output"


def test_fixed_replies_for_steps_that_cannot_take_one_fail_before_the_run() -> None:
    spec = PipelineSpec("t", steps=(
        LlmStep("ask", "mock/m", "Hi", "a"),
        TransformStep("shout", str.upper, "b", reads=("a",)),
    ))
    with pytest.raises(ConfigError) as info:
        execute_sync(spec, {}, replies={"nope": "x", "shout": "y", "ask": "z"})
    assert str(info.value) == ("fixed replies for steps that cannot take one: 'nope' does not "
                               "exist; 'shout' is not an llm step")


# -- cassettes: record and replay ---------------------------------------------------------


def test_record_then_replay_serves_every_exchange_without_the_provider(
        tmp_path: Path) -> None:
    tape = tmp_path / "run.jsonl"
    registry, mock = counting_mock()
    recorded = execute_sync(two_steps(), {}, providers=registry,
                            cassette=Cassette(tape, "record"))
    assert recorded.success and mock.total_calls == 2
    assert recorded.trace.step("draft").reply_source is None  # recording asks the provider

    replay_registry, replay_mock = counting_mock()
    replayed = execute_sync(two_steps(), {}, providers=replay_registry, cassette=tape)
    assert replayed.success, replayed.error
    assert replayed.outputs == recorded.outputs
    assert replay_mock.total_calls == 0
    step = replayed.trace.step("draft")
    assert step.reply_source == "cassette"
    # Replayed usage is the recorded usage, priced as the call was.
    assert (step.input_tokens, step.output_tokens) == (
        recorded.trace.step("draft").input_tokens, recorded.trace.step("draft").output_tokens)
    assert replayed.trace.total_cost_usd == recorded.trace.total_cost_usd


def test_the_cassette_is_sorted_deterministic_jsonl(tmp_path: Path) -> None:
    tape = tmp_path / "run.jsonl"
    execute_sync(two_steps(), {}, cassette=Cassette(tape, "record"))
    first = tape.read_bytes()
    tape.unlink()
    execute_sync(two_steps(), {}, cassette=Cassette(tape, "record"))
    assert tape.read_bytes() == first  # same run, same bytes
    lines = first.decode().splitlines()
    assert lines[0] == '{"mmoc_cassette":1}'
    exchanges = [json.loads(line) for line in lines[1:]]
    assert [e["step"] for e in exchanges] == ["draft", "polish"]
    assert all(line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False) for line in lines)
    draft = exchanges[0]
    assert draft["request"]["messages"] == [
        {"role": "user", "content": "Write about tides.\nUse two lines.\nEnd with a question."}]
    assert draft["response"]["text"].startswith("[mock/m] Write about tides.")
    assert draft["chunks"] is None and len(draft["fingerprint"]) == 64


def test_recording_again_adds_new_exchanges_and_keeps_the_others(tmp_path: Path) -> None:
    tape = tmp_path / "run.jsonl"
    execute_sync(two_steps(), {"topic": "tides"}, cassette=Cassette(tape, "record"))
    execute_sync(two_steps(), {"topic": "waves"}, cassette=Cassette(tape, "record"))
    exchanges = [json.loads(line) for line in tape.read_text().splitlines()[1:]]
    assert len(exchanges) == 4
    assert [e["step"] for e in exchanges] == ["draft", "draft", "polish", "polish"]
    for topic in ("tides", "waves"):
        assert execute_sync(two_steps(), {"topic": topic}, cassette=tape).success


def test_a_changed_prompt_fails_replay_naming_step_model_and_the_changed_line(
        tmp_path: Path) -> None:
    tape = tmp_path / "run.jsonl"
    execute_sync(two_steps(), {}, cassette=Cassette(tape, "record"))
    retry = RetryStrategy(max_retries=3, base_delay_seconds=0.0)
    result = execute_sync(two_steps(retry=retry), {"ending": "joke"}, cassette=tape)
    assert not result.success
    step = result.trace.step("draft")
    assert step.error_kind == "cassette_miss"
    assert len(step.attempts) == 1  # a miss is never retried: the next would miss too
    error = step.error or ""
    assert "step 'draft'" in error and "mock/m" in error and str(tape) in error
    assert "-  End with a question." in error and "+  End with a joke." in error
    assert "\n   Use two lines.\n-" in error  # the line before the change, as context
    assert result.trace.step("polish").status == "not_run"


def test_a_miss_in_an_empty_cassette_says_so(tmp_path: Path) -> None:
    tape = tmp_path / "empty.jsonl"
    tape.write_text('{"mmoc_cassette":1}\n')
    result = execute_sync(two_steps(), {}, cassette=tape)
    assert "the cassette is empty" in (result.trace.step("draft").error or "")


def test_replay_needs_no_key_and_never_reaches_the_network(
        tmp_path: Path, no_keys: None) -> None:
    tape = tmp_path / "run.jsonl"
    registry = ProviderRegistry()
    registry.register("openai", ScriptedProvider(
        "openai", default=LlmResponse("recorded answer", 12, 3)))
    spec = two_steps("openai/gpt-4o-mini")
    assert execute_sync(spec, {}, providers=registry, cassette=Cassette(tape, "record")).success
    result = execute_sync(spec, {}, cassette=tape)  # the default registry: real providers
    assert result.success, result.error
    assert result.outputs == {"text": "recorded answer", "final": "recorded answer"}
    assert result.trace.step("draft").input_tokens == 12


def test_failures_are_never_recorded(tmp_path: Path) -> None:
    tape = tmp_path / "run.jsonl"
    spec = two_steps("mock/m?fail=always&error=server_error")
    result = execute_sync(spec, {}, cassette=Cassette(tape, "record"))
    assert not result.success
    assert not tape.exists()  # nothing succeeded: nothing to write


def test_recorded_text_hides_the_runs_secrets(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "tok-5f3e9a1c77b2d4e0cafe"
    monkeypatch.setenv("MY_SERVICE_TOKEN", secret)
    tape = tmp_path / "run.jsonl"
    result = execute_sync(two_steps(), {"topic": f"the key {secret}"},
                          cassette=Cassette(tape, "record"))
    assert result.success
    text = tape.read_text()
    assert secret not in text and secret[:8] not in text
    assert "[REDACTED]" in text


@pytest.mark.parametrize(("content", "expected"), [
    ("not json\n", ":1: not a cassette line (invalid JSON"),
    ('{"mmoc_cassette":1}\n{"step":"a"}\n', ":2: not a cassette line (an exchange has step, "),
    ('{"mmoc_cassette":9}\n', ":1: cassette format 9 is not 1"),
])
def test_a_broken_cassette_is_a_config_error_naming_the_line(
        tmp_path: Path, content: str, expected: str) -> None:
    tape = tmp_path / "bad.jsonl"
    tape.write_text(content)
    with pytest.raises(ConfigError, match="bad.jsonl" + expected.replace("(", r"\(")):
        execute_sync(two_steps(), {}, cassette=tape)


def test_replaying_a_missing_cassette_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        execute_sync(two_steps(), {}, cassette=tmp_path / "none.jsonl")


def test_a_bad_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="cassette mode"):
        Cassette("x.jsonl", "rewind")
