"""Running map steps: item order, the concurrency bound, on_error, limit, skipped items,
outer keys inside the body, and a trace that stays bounded for 10,000 items."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mmoc_runtime import (
    InputError,
    InputSpec,
    LlmStep,
    MapStep,
    PipelineSpec,
    TransformStep,
    execute_sync,
)
from mmoc_runtime.map_step import MAX_FAILURES, SAMPLE_SIZE, percentile


def _spec(*steps: Any, items_type: str = "json") -> PipelineSpec:
    return PipelineSpec(name="t", inputs=(InputSpec("items", items_type),), steps=steps)


def _map(*body: Any, **options: Any) -> MapStep:
    return MapStep(name="m", for_each="items", item="it", output_key="out", steps=body, **options)


def _upper(it: Any) -> str:
    if it == "bad":
        raise ValueError("no good")
    return str(it).upper()


UPPER = TransformStep(name="up", function=_upper, reads=("it",), output_key="up")


def test_results_keep_item_order_when_items_finish_out_of_order() -> None:
    async def slow_first(it: int) -> int:
        for _ in range(20 - it):  # earlier items yield more often, so they finish later
            await asyncio.sleep(0)
        return it * 10

    body = TransformStep(name="s", function=slow_first, reads=("it",), output_key="v")
    result = execute_sync(_spec(_map(body, concurrency=20)), {"items": list(range(20))})
    assert result.values["out"] == [i * 10 for i in range(20)]


def test_at_most_concurrency_items_run_at_once() -> None:
    running = peak = 0

    async def track(it: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return it

    body = TransformStep(name="s", function=track, reads=("it",), output_key="v")
    result = execute_sync(_spec(_map(body, concurrency=3)), {"items": list(range(30))})
    assert result.success and peak == 3


def test_on_error_fail_stops_taking_items_and_fails_the_step() -> None:
    seen: list[Any] = []

    def record(it: Any) -> Any:
        seen.append(it)
        return _upper(it)

    body = TransformStep(name="up", function=record, reads=("it",), output_key="up")
    result = execute_sync(_spec(_map(body, concurrency=1)), {"items": ["a", "bad", "c", "d"]})
    assert not result.success and "out" not in result.values
    assert seen == ["a", "bad"]
    st = result.trace.step("m")
    assert st.status == "failed" and "item 1 failed at step 'up': no good" in (st.error or "")
    assert st.map is not None and st.map["counts"] == {"success": 1, "failed": 1, "skipped": 0}


def test_on_error_skip_and_collect() -> None:
    items = {"items": ["a", "bad", "c"]}
    skipped = execute_sync(_spec(_map(UPPER, on_error="skip")), items)
    assert skipped.success and skipped.values["out"] == ["A", "C"]
    collected = execute_sync(_spec(_map(UPPER, on_error="collect")), items)
    assert collected.values["out"] == [
        "A", {"error": {"kind": "error", "message": "no good"}, "index": 1}, "C"]


def test_limit_takes_the_first_items() -> None:
    result = execute_sync(_spec(_map(UPPER, limit=2)), {"items": ["a", "b", "c"]})
    assert result.values["out"] == ["A", "B"]
    assert result.trace.step("m").map["items"] == 2  # type: ignore[index]


def test_an_item_whose_result_step_is_skipped_is_left_out() -> None:
    def short(values: Any) -> bool:
        return len(values["it"]) < 3

    body = (UPPER, TransformStep(name="keep", function=str.lower, reads=("up",),
                                 output_key="low", when=short, when_text="len(it) < 3"))
    result = execute_sync(_spec(_map(*body)), {"items": ["ab", "abcd", "cd"]})
    assert result.values["out"] == ["ab", "cd"]
    assert result.trace.step("m").map["counts"]["skipped"] == 1  # type: ignore[index]


def test_collect_picks_the_result_and_outer_keys_are_visible_in_the_body() -> None:
    prefix = TransformStep(name="pre", function=lambda: "P-", output_key="prefix")
    body = (
        TransformStep(name="join", function=lambda prefix, it: prefix + it,
                      reads=("prefix", "it"), output_key="joined"),
        TransformStep(name="size", function=len, reads=("joined",), output_key="n"),
    )
    result = execute_sync(_spec(_map(*body, collect="joined"), prefix), {"items": ["x", "yz"]})
    assert result.values["out"] == ["P-x", "P-yz"]  # the map waited for `pre`


def test_llm_bodies_add_their_tokens_to_the_map_step() -> None:
    body = LlmStep(name="say", model="mock/echo", prompt="Say {it}", output_key="said")
    result = execute_sync(_spec(_map(body)), {"items": ["a", "b", "c"]}, mock=True)
    assert result.values["out"] == ["[mock/echo] Say a", "[mock/echo] Say b", "[mock/echo] Say c"]
    st = result.trace.step("m")
    assert st.input_tokens > 0 and result.trace.total_tokens == st.input_tokens + st.output_tokens


def test_a_value_that_is_no_list_fails_the_step() -> None:
    result = execute_sync(_spec(_map(UPPER)), {"items": "abc"})
    st = result.trace.step("m")
    assert st.status == "failed" and st.error_kind == "invalid_input"
    assert "holds str, not a list" in (st.error or "")


def test_the_trace_stays_bounded_for_10000_items() -> None:
    items = ["bad" if i % 3 == 0 else f"item{i}" for i in range(10_000)]
    result = execute_sync(_spec(_map(UPPER, on_error="collect", concurrency=8)),
                          {"items": items})
    assert len(result.values["out"]) == 10_000
    summary = result.trace.step("m").map
    assert summary is not None
    assert summary["counts"] == {"success": 6666, "failed": 3334, "skipped": 0}
    assert len(summary["failures"]) == MAX_FAILURES
    assert summary["failures_omitted"] == 3334 - MAX_FAILURES
    assert [f["index"] for f in summary["failures"]] == sorted(f["index"] for f in summary["failures"])
    assert len(summary["sample"]) == SAMPLE_SIZE
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99"}
    entry = json.dumps(result.trace.step("m").to_dict())
    assert len(entry) < 20_000  # bounded: no per-item list in the trace


def test_only_map_steps_have_a_map_key_in_the_trace() -> None:
    count = TransformStep(name="count", function=len, reads=("out",), output_key="n")
    result = execute_sync(_spec(_map(UPPER), count), {"items": ["a"]})
    assert result.values["n"] == 1
    assert "map" in result.trace.step("m").to_dict()
    assert "map" not in result.trace.step("count").to_dict()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, q) for q in (50, 90, 99)] == [50.0, 90.0, 99.0]
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) is None


@pytest.mark.parametrize(("kind", "given", "ok"), [
    ("list[str]", ["a", "b"], True),
    ("list[str]", ["a", 1], False),
    ("list[int]", [1, 2], True),
    ("list[int]", ["1"], False),
    ("list[json]", [{"a": 1}, [2], None], True),
    ("list[str]", "a", False),
])
def test_list_inputs_are_validated(kind: str, given: Any, ok: bool) -> None:
    spec = _spec(_map(UPPER), items_type=kind)
    if ok:
        assert execute_sync(spec, {"items": given}).success
    else:
        with pytest.raises(InputError):
            execute_sync(spec, {"items": given})


def test_pipeline_defaults_reach_the_body_steps() -> None:
    from mmoc_runtime import RetryStrategy, StepDefaults

    body = LlmStep(name="say", model="mock/echo", prompt="{it}", output_key="said")
    retry = RetryStrategy(max_retries=1)
    spec = PipelineSpec(name="t", inputs=(InputSpec("items", "json"),),
                        steps=(_map(body),), defaults=StepDefaults(retry=retry, timeout=9.0))
    [resolved] = spec.steps[0].steps  # type: ignore[union-attr]
    assert isinstance(resolved, LlmStep) and resolved.retry == retry and resolved.timeout == 9.0
    assert spec.steps[0].timeout is None  # the map's own timeout is never defaulted
