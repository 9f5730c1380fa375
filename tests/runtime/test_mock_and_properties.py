"""The mock provider's options, a group timeout, and random DAGs run in dependency order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmoc_runtime import (
    ConfigError,
    LlmError,
    MockProvider,
    ParallelGroup,
    PipelineSpec,
    TransformStep,
    execute_sync,
)
from mmoc_runtime.providers.base import LlmRequest


def request(model: str = "m", prompt: str = "hello there", **options: str) -> LlmRequest:
    return LlmRequest(provider="mock", model=model, prompt=prompt, options=options,
                      step="s", run_id="r1")


def test_mock_answer_is_deterministic_and_counts_tokens() -> None:
    mock = MockProvider()
    one = asyncio.run(mock.complete(request()))
    two = asyncio.run(mock.complete(request()))
    assert one == two and one.text == "[mock/m] hello there"
    assert one.input_tokens == 3 and one.output_tokens == (len(one.text) + 3) // 4


def test_mock_failure_options() -> None:
    mock = MockProvider()
    with pytest.raises(LlmError) as info:
        asyncio.run(mock.complete(request(fail="always", error="rate_limit", retry_after="2.5")))
    assert (info.value.kind, info.value.status, info.value.retry_after) == ("rate_limit", 429,
                                                                            2.5)
    assert "call 1 of step 's'" in str(info.value)
    with pytest.raises(LlmError) as default_kind:
        asyncio.run(mock.complete(request(model="n", fail="always")))
    assert default_kind.value.kind == "server_error"
    with pytest.raises(ConfigError, match="latency_ms"):
        asyncio.run(mock.complete(request(latency_ms="soon")))


def test_mock_fail_first_counts_per_run_and_step() -> None:
    mock = MockProvider()

    def call(run_id: str, step: str) -> bool:
        req = LlmRequest(provider="mock", model="m", prompt="p", options={"fail_first": "1"},
                         step=step, run_id=run_id)
        try:
            asyncio.run(mock.complete(req))
        except LlmError:
            return False
        return True

    assert [call("r1", "a"), call("r1", "a"), call("r1", "b"), call("r2", "a")] == [
        False, True, False, False]
    assert mock.calls("r1", "a") == 2


def test_mock_json_replies_follow_the_schema() -> None:
    mock = MockProvider()
    schema = {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}},
        "level": {"enum": ["low", "high"]}, "ok": {"type": "boolean"},
        "ratio": {"type": ["number", "null"]}}}
    req = LlmRequest(provider="mock", model="m", prompt="p", json_output=True,
                     json_schema=schema)
    data = json.loads(asyncio.run(mock.complete(req)).text)
    assert data == {"tags": ["[mock/m] p"], "level": "low", "ok": True, "ratio": 0.0}
    plain = LlmRequest(provider="mock", model="m", prompt="p", json_output=True)
    assert json.loads(asyncio.run(mock.complete(plain)).text) == {"response": "[mock/m] p"}
    fixed = asyncio.run(mock.complete(request(reply="exact words")))
    assert fixed.text == "exact words"


def test_group_timeout_fails_the_group_and_its_unfinished_members() -> None:
    async def quick() -> str:
        return "done"

    async def hangs() -> str:
        await asyncio.Event().wait()
        return "never"

    spec = PipelineSpec("gt", steps=(
        ParallelGroup("grp", (TransformStep("quick", quick, "q"),
                              TransformStep("slow", hangs, "s")), timeout=0.01),
        TransformStep("independent", lambda: 1, "i"),
    ))
    result = execute_sync(spec, {})
    statuses = {s.name: (s.status, s.error_kind) for s in result.trace.steps}
    assert statuses == {"grp": ("failed", "timeout"), "quick": ("success", None),
                        "slow": ("failed", "timeout"), "independent": ("success", None)}
    assert result.values["q"] == "done" and result.values["i"] == 1


@st.composite
def random_dags(draw: st.DrawFn) -> list[tuple[str, tuple[str, ...]]]:
    size = draw(st.integers(min_value=1, max_value=12))
    nodes: list[tuple[str, tuple[str, ...]]] = []
    for i in range(size):
        deps = draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3)) if i else set()
        nodes.append((f"n{i}", tuple(f"n{d}" for d in sorted(deps))))
    return draw(st.permutations(nodes))  # declaration order is random


@settings(max_examples=60, deadline=None)
@given(random_dags(), st.data())
def test_random_dags_run_every_step_after_its_dependencies(
    dag: list[tuple[str, tuple[str, ...]]], data: st.DataObject
) -> None:
    order: list[str] = []
    sleeps = data.draw(st.lists(st.integers(0, 2), min_size=len(dag), max_size=len(dag)))

    def make(name: str, deps: tuple[str, ...], yields: int) -> Any:
        async def step(**values: int) -> int:
            assert set(values) == set(deps)
            for _ in range(yields):
                await asyncio.sleep(0)
            order.append(name)
            return 1 + sum(values.values())

        return step

    spec = PipelineSpec("random", steps=tuple(
        TransformStep(name, make(name, deps, y), name, reads=deps)
        for (name, deps), y in zip(dag, sleeps)
    ))
    result = execute_sync(spec, {})
    assert result.success and sorted(order) == sorted(name for name, _ in dag)
    position = {name: i for i, name in enumerate(order)}
    expected: dict[str, int] = {}
    for name, deps in sorted(dag, key=lambda n: int(n[0][1:])):
        assert all(position[d] < position[name] for d in deps)
        expected[name] = 1 + sum(expected[d] for d in deps)
    assert {k: result.values[k] for k in expected} == expected
    assert [s.name for s in result.trace.steps] == [name for name, _ in dag]
