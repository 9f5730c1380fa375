"""Record against the loopback server for every provider, then replay with no network, no keys.

The recording run talks HTTP to the loopback server (`provider_env`); the replay run has no key
in its environment and every provider's base URL on a closed port, so any call it made would
fail, and the server counts that it received none.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mmoc_runtime import LlmStep, OutputFormat, PipelineSpec, RunResult, execute
from mmoc_runtime.cassette import Cassette
from mmoc_runtime.providers import ProviderRegistry
from support.loopback import KEY_VAR, PLANTED, LoopbackServer, Reply, gemini_response

SCHEMA = {"type": "object"}


def spec(prompt: str = "Say hi") -> PipelineSpec:
    return PipelineSpec("tape_http", steps=(
        LlmStep("via_openai", "openai/gpt-4o-mini", prompt, "a", temperature=0.2),
        LlmStep("via_anthropic", "anthropic/claude-3-5-haiku", f"{prompt}, then {{a}}", "b",
                system="Be brief", max_tokens=64),
        LlmStep("via_gemini", "gemini/gemini-2.5-flash-lite", f"{prompt} in JSON: {{b}}", "c",
                output_format=OutputFormat("json", SCHEMA)),
    ))


def run(pipeline: PipelineSpec, cassette: Cassette | Path) -> RunResult:
    return asyncio.run(execute(pipeline, {}, providers=ProviderRegistry(), cassette=cassette))


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*KEY_VAR.values(), "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing listens


def test_record_every_provider_then_replay_offline(
        provider_env: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Gemini's default success body echoes the prompt; a structured step needs JSON back.
    provider_env.always("gemini", Reply(body=gemini_response('{"ok": true}')))
    tape = tmp_path / "http.jsonl"
    recorded = run(spec(), Cassette(tape, "record"))
    assert recorded.success, recorded.error
    assert len(provider_env.requests) == 3
    text = tape.read_text()
    for key in PLANTED:  # no key or auth header is ever recorded
        assert key not in text
    assert "authorization" not in text.lower() and "x-api-key" not in text.lower()
    providers = [json.loads(line)["request"]["provider"] for line in text.splitlines()[1:]]
    assert sorted(providers) == ["anthropic", "gemini", "openai"]

    offline(monkeypatch)
    replayed = run(spec(), tape)
    assert replayed.success, replayed.error
    assert replayed.outputs == recorded.outputs
    assert len(provider_env.requests) == 3  # the replay sent nothing
    for name in ("via_openai", "via_anthropic", "via_gemini"):
        step, was = replayed.trace.step(name), recorded.trace.step(name)
        assert step.reply_source == "cassette"
        assert (step.input_tokens, step.output_tokens, step.cost_usd) == (
            was.input_tokens, was.output_tokens, was.cost_usd)

    changed = run(spec("Say hello"), tape)
    assert not changed.success
    error = changed.trace.step("via_openai").error or ""
    assert changed.trace.step("via_openai").error_kind == "cassette_miss"
    assert "openai/gpt-4o-mini" in error and "-  Say hi\n+  Say hello" in error
    assert len(provider_env.requests) == 3
