"""Anthropic specifics: catalog names sent as real API ids, and replies without any text."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mmoc_runtime import BreakerRegistry, LlmStep, PipelineSpec, RetryStrategy, execute
from mmoc_runtime.catalog import CATALOG
from mmoc_runtime.errors import LlmError
from mmoc_runtime.pricing import price_for
from mmoc_runtime.providers import ProviderRegistry, anthropic
from mmoc_runtime.providers.base import LlmRequest
from support.loopback import LoopbackServer, Reply, anthropic_message, complete_once

# The catalog's Claude family names and the ids the Messages API accepts for them.
EXPECTED_API_IDS = {
    "claude-3-haiku": "claude-3-haiku-20240307",
    "claude-3-opus": "claude-3-opus-20240229",
    "claude-3-sonnet": "claude-3-sonnet-20240229",
    "claude-3-5-haiku": "claude-3-5-haiku-latest",
    "claude-3-5-sonnet": "claude-3-5-sonnet-latest",
    "claude-3-7-sonnet": "claude-3-7-sonnet-latest",
    "claude-sonnet-4": "claude-sonnet-4-0",
    "claude-opus-4": "claude-opus-4-0",
}


async def _no_sleep(_seconds: float) -> None:
    return None


# -- bare catalog names ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "api_id"), sorted(EXPECTED_API_IDS.items()))
def test_catalog_name_is_sent_as_its_api_id(
    provider_env: LoopbackServer, name: str, api_id: str
) -> None:
    assert CATALOG[name] == "anthropic"
    complete_once(anthropic.create(), LlmRequest("anthropic", name, "hi"))
    (sent,) = provider_env.requests
    assert sent.path == "/v1/messages"
    assert sent.body["model"] == api_id


@pytest.mark.parametrize(
    "model", ["claude-haiku-4-5", "claude-3-haiku-20240307", "claude-sonnet-4-5-20250929"]
)
def test_ids_outside_the_map_are_sent_as_written(
    provider_env: LoopbackServer, model: str
) -> None:
    complete_once(anthropic.create(), LlmRequest("anthropic", model, "hi"))
    assert provider_env.requests[0].body["model"] == model


def test_every_claude_name_in_the_catalog_is_sendable() -> None:
    # A catalog family name without a mapping would be sent as an id the API rejects (404);
    # the names the API already accepts as written (the 4.x aliases) need no entry.
    accepted_as_written = {"claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"}
    claude = {name for name, provider in CATALOG.items() if provider == "anthropic"}
    assert claude - accepted_as_written == set(anthropic.API_MODEL_IDS) == set(EXPECTED_API_IDS)


@pytest.mark.parametrize(("name", "api_id"), sorted(EXPECTED_API_IDS.items()))
def test_pricing_finds_both_the_catalog_name_and_its_api_id(name: str, api_id: str) -> None:
    by_name, name_estimated = price_for(name)
    by_id, id_estimated = price_for(f"anthropic/{api_id}")
    assert not name_estimated and not id_estimated
    assert by_name == by_id == price_for(f"anthropic/{name}")[0]


def test_a_bare_name_step_runs_over_http_and_is_priced(provider_env: LoopbackServer) -> None:
    step = LlmStep("ask", "claude-3-haiku", "Say hi", "answer")
    spec = PipelineSpec("bare_claude", inputs=(), steps=(step,))
    result = asyncio.run(
        execute(
            spec,
            {},
            providers=ProviderRegistry(),
            breakers=BreakerRegistry(time_fn=lambda: 0.0),
            sleep=_no_sleep,
        )
    )
    assert result.success, result.error
    assert provider_env.requests[0].body["model"] == "claude-3-haiku-20240307"
    traced = result.trace.step("ask")
    assert traced.model_used == "claude-3-haiku"
    assert traced.cost_usd > 0 and not traced.cost_estimated


# -- replies without text -------------------------------------------------------------------


def _reply(content: list[dict[str, Any]], stop: str | None) -> Reply:
    body = anthropic_message("")
    body["content"] = content
    body["stop_reason"] = stop
    return Reply(200, body)


@pytest.mark.parametrize("stop", ["end_turn", None, "pause_turn"])
def test_empty_content_is_a_bad_response(provider_env: LoopbackServer, stop: str | None) -> None:
    provider_env.queue("anthropic", _reply([], stop))
    with pytest.raises(LlmError) as caught:
        complete_once(anthropic.create(), LlmRequest("anthropic", "claude-haiku-4-5", "hi"))
    assert caught.value.kind == "bad_response"
    assert "no text" in str(caught.value) and str(stop) in str(caught.value)


def test_content_with_only_non_text_blocks_is_a_bad_response(
    provider_env: LoopbackServer,
) -> None:
    blocks = [{"type": "thinking", "thinking": "hmm", "signature": "s"}]
    provider_env.queue("anthropic", _reply(blocks, "end_turn"))
    with pytest.raises(LlmError) as caught:
        complete_once(anthropic.create(), LlmRequest("anthropic", "claude-haiku-4-5", "hi"))
    assert caught.value.kind == "bad_response"


@pytest.mark.parametrize("stop", ["max_tokens", "stop_sequence"])
def test_an_empty_reply_the_request_explains_is_empty_text(
    provider_env: LoopbackServer, stop: str
) -> None:
    provider_env.queue("anthropic", _reply([], stop))
    response = complete_once(
        anthropic.create(), LlmRequest("anthropic", "claude-haiku-4-5", "hi", stop=("hi",))
    )
    assert response.text == ""
    assert response.finish_reason == stop


def test_an_empty_refusal_stays_blocked(provider_env: LoopbackServer) -> None:
    provider_env.queue("anthropic", _reply([], "refusal"))
    with pytest.raises(LlmError) as caught:
        complete_once(anthropic.create(), LlmRequest("anthropic", "claude-haiku-4-5", "hi"))
    assert caught.value.kind == "blocked"


def test_an_empty_reply_is_retried_by_the_runtime(provider_env: LoopbackServer) -> None:
    provider_env.queue("anthropic", _reply([], "end_turn"))
    step = LlmStep(
        "ask",
        "anthropic/claude-haiku-4-5",
        "Say hi",
        "answer",
        retry=RetryStrategy(max_retries=1, base_delay_seconds=0.0),
    )
    spec = PipelineSpec("empty_then_ok", inputs=(), steps=(step,))
    result = asyncio.run(
        execute(
            spec,
            {},
            providers=ProviderRegistry(),
            breakers=BreakerRegistry(time_fn=lambda: 0.0),
            sleep=_no_sleep,
        )
    )
    assert result.success, result.error
    assert result.outputs == {"answer": "[anthropic] Say hi"}
    kinds = [a.error_kind for a in result.trace.step("ask").attempts]
    assert kinds == ["bad_response", None]
