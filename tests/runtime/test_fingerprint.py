"""The request fingerprint: what changes the answer changes it, nothing else does."""

from __future__ import annotations

from dataclasses import replace

import pytest
from mmoc_runtime.fingerprint import canonical_json, fingerprint
from mmoc_runtime.providers.base import LlmRequest

BASE = LlmRequest(provider="openai", model="gpt-4o-mini", prompt="Hello\nthere", system="Be brief",
                  temperature=0.2, max_tokens=100, stop=("END",), options={"reasoning": "low"},
                  step="draft", run_id="r1", timeout=5.0)


def test_canonical_request_holds_what_decides_the_answer() -> None:
    assert dict(fingerprint(BASE).request) == {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief"},
                     {"role": "user", "content": "Hello\nthere"}],
        "params": {"temperature": 0.2, "max_tokens": 100, "stop": ["END"],
                   "options": {"reasoning": "low"}},
    }


def test_the_digest_is_stable_across_runs_and_processes() -> None:
    # A fixed value: a change to the canonical form would silently orphan every cassette.
    plain = LlmRequest(provider="mock", model="m", prompt="hi")
    assert fingerprint(plain).digest == (
        "1cd4edf8df41667d4c95d798204d56ec4f3802d3cbc331d044463a53a9664fd8"
    )
    assert fingerprint(plain) == fingerprint(replace(plain))


@pytest.mark.parametrize("change", [
    {"provider": "anthropic"}, {"model": "gpt-4o"}, {"prompt": "Hello\nthere!"},
    {"system": None}, {"temperature": 0.3}, {"max_tokens": 101}, {"stop": ()},
    {"options": {}}, {"json_output": True},
])
def test_every_part_that_decides_the_answer_changes_the_digest(change: dict[str, object]) -> None:
    assert fingerprint(replace(BASE, **change)).digest != fingerprint(BASE).digest  # type: ignore[arg-type]


def test_step_run_id_and_timeout_do_not_change_it() -> None:
    other = replace(BASE, step="other", run_id="r2", timeout=None)
    assert fingerprint(other).digest == fingerprint(BASE).digest


def test_the_response_schema_is_part_of_it() -> None:
    a = replace(BASE, json_output=True, json_schema={"type": "object"})
    b = replace(BASE, json_output=True, json_schema={"type": "array"})
    assert fingerprint(a).request["response"] == {"format": "json", "schema": {"type": "object"}}
    assert fingerprint(a).digest != fingerprint(b).digest


def test_equal_values_written_differently_ask_the_same() -> None:
    assert fingerprint(replace(BASE, temperature=1)).digest == fingerprint(
        replace(BASE, temperature=1.0)).digest
    assert fingerprint(replace(BASE, options={"a": "1", "b": "2"})).digest == fingerprint(
        replace(BASE, options={"b": "2", "a": "1"})).digest


def test_canonical_json_is_sorted_compact_and_keeps_text_as_written() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
