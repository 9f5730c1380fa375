"""run_batch: every row once, rows pulled only as slots free, result lines, resume, budgets and
stopping with a grace period; the row readers and the results file."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mmoc_runtime import BatchControl, InputSpec, LlmStep, PipelineSpec, RowResult, run_batch
from mmoc_runtime.batch import BadRow, BatchTally, ResultFile, count_rows, read_results, read_rows
from mmoc_runtime.compiled import CompiledPipeline
from mmoc_runtime.providers import ProviderRegistry
from mmoc_runtime.providers.base import LlmResponse
from support.fakes import ScriptedProvider

SPEC = PipelineSpec("p", inputs=(InputSpec("text"), InputSpec("n", "int", 1)), steps=(
    LlmStep("a", "mock/m", "say {text} {n}", "x"),
))


async def _collect(spec: PipelineSpec, rows: Any, **options: Any) -> list[RowResult]:
    return [r async for r in run_batch(spec, rows, mock=True, **options)]


def test_every_row_runs_once_and_its_line_carries_what_the_issue_asks() -> None:
    rows = [{"id": f"r{i}", "text": f"t{i}", "extra": True} for i in range(25)]
    results = asyncio.run(_collect(SPEC, rows, concurrency=4))
    assert sorted(r.index for r in results) == list(range(25))
    line = json.loads(next(r for r in results if r.index == 3).to_line())
    assert list(line) == ["index", "id", "status", "outputs", "error", "tokens", "cost_usd",
                          "latency_ms"]
    assert line["id"] == "r3" and line["status"] == "success" and line["error"] is None
    assert line["outputs"] == {"x": "[mock/m] say t3 1"}
    assert line["tokens"] > 0


def test_rows_are_pulled_only_as_slots_free() -> None:
    pulled = 0
    seen_at_first_result: list[int] = []

    def rows() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield {"text": str(i)}

    async def main() -> None:
        async for _ in run_batch(SPEC, rows(), concurrency=5, mock=True):
            seen_at_first_result.append(pulled)
            break

    asyncio.run(main())
    assert seen_at_first_result == [5]  # not the whole input


def test_a_bad_row_or_bad_inputs_fail_that_row_only() -> None:
    rows = [{"text": "ok"}, BadRow("line 2: not JSON"), {"text": "x", "n": "many"}, {}]
    results = {r.index: r for r in asyncio.run(_collect(SPEC, rows))}
    assert results[0].ok
    assert results[1].error == {"kind": "input", "message": "line 2: not JSON"}
    assert results[2].error is not None and results[2].error["kind"] == "input"
    assert results[3].error is not None and "missing required input" in results[3].error["message"]


def test_a_failed_step_gives_the_row_its_kind_and_message() -> None:
    spec = PipelineSpec("f", steps=(LlmStep("a", "mock/m?fail=always&error=bad_request", "hi",
                                            "x"),))
    (result,) = asyncio.run(_collect(spec, [{}]))
    assert result.status == "failed" and result.outputs is None
    assert result.error is not None and result.error["kind"] == "bad_request"


def test_skip_leaves_rows_out() -> None:
    results = asyncio.run(_collect(SPEC, [{"text": str(i)} for i in range(6)], skip={0, 2, 5}))
    assert sorted(r.index for r in results) == [1, 3, 4]


def test_max_cost_stops_taking_rows() -> None:
    spec = PipelineSpec("c", inputs=(InputSpec("text"),),
                        steps=(LlmStep("a", "scripted/gpt-4o", "{text}", "x", max_tokens=100),))
    providers = ProviderRegistry()
    provider = ScriptedProvider(default=LlmResponse("ok", 1, 100))
    providers.register("scripted", provider)
    rows = ({"text": "t"} for _ in range(50))
    # A call is estimated (and costs) $0.0010025: a $0.0035 budget admits three.

    async def main() -> list[RowResult]:
        return [r async for r in run_batch(spec, rows, concurrency=1, max_cost=0.0035,
                                           providers=providers)]

    results = asyncio.run(main())
    statuses = [r.status for r in results]
    assert statuses == ["success"] * 3 + ["budget_exceeded"]  # then no more rows were taken
    assert len(provider.requests) == 3


def test_stop_takes_no_more_rows_and_cancels_after_the_grace_period() -> None:
    hanging = PipelineSpec("s", inputs=(InputSpec("text"),),
                           steps=(LlmStep("a", "mock/m?latency_ms=600000", "{text}", "x"),))
    pulled = []

    def rows() -> Iterator[dict[str, str]]:
        for i in range(100):
            pulled.append(i)
            yield {"text": str(i)}

    async def main() -> list[RowResult]:
        control = BatchControl()
        asyncio.get_running_loop().call_later(0.05, control.stop)
        return [r async for r in run_batch(hanging, rows(), mock=True, concurrency=3,
                                           control=control, grace=0.01)]

    # The rows in flight hang for ten minutes: after the grace period they are cancelled and
    # give no line (so --resume runs them again); no row is taken after the stop.
    assert asyncio.run(asyncio.wait_for(main(), timeout=60)) == []
    assert pulled == [0, 1, 2]


def test_run_batch_is_on_every_compiled_pipeline() -> None:
    compiled: CompiledPipeline[Any, Any] = CompiledPipeline(SPEC)

    async def main() -> list[int]:
        return [r.index async for r in compiled.run_batch([{"text": "a"}], mock=True)]

    assert asyncio.run(main()) == [0]


# ---- reading rows -----------------------------------------------------------------------


def test_jsonl_rows_skip_blank_lines_and_report_bad_ones(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "a"}\n\n[1]\nnope\n{"text": "b"}\n', encoding="utf-8")
    rows = list(read_rows(data))
    assert rows[0] == {"text": "a"} and rows[3] == {"text": "b"}
    assert isinstance(rows[1], BadRow) and "JSON object" in rows[1].message
    assert isinstance(rows[2], BadRow) and rows[2].message.startswith("line 4: not JSON")
    assert count_rows(str(data)) == 4


def test_csv_rows_are_text_converted_to_the_declared_types(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text('id,text,n\n7,"a, quoted",3\n8,b,x\n', encoding="utf-8")
    assert count_rows(str(data)) == 2
    results = {r.index: r for r in asyncio.run(_collect(SPEC, read_rows(data)))}
    assert results[0].id == "7" and results[0].outputs == {"x": "[mock/m] say a, quoted 3"}
    assert results[1].error is not None and results[1].error["kind"] == "input"


def test_rows_come_from_a_stream_too() -> None:
    assert list(read_rows(io.StringIO('{"a": 1}\n'))) == [{"a": 1}]


# ---- the results file -------------------------------------------------------------------


def test_resume_keeps_one_successful_line_per_row_and_drops_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    lines = [
        {"index": 0, "status": "success", "outputs": {"x": 1}},
        {"index": 1, "status": "failed"},
        {"index": 2, "status": "success", "outputs": {"x": "old"}},
        {"index": 2, "status": "success", "outputs": {"x": "new"}},
    ]
    out.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"index": 3, "sta',
                   encoding="utf-8")
    results, done = ResultFile.open(out, resume=True)
    with results:
        results.write(RowResult(1, "success", outputs={}))
    assert done == {0, 2}
    kept = read_results(out)
    assert [(x["index"], x["status"]) for x in kept] == [(0, "success"), (2, "success"),
                                                         (1, "success")]
    assert kept[1]["outputs"] == {"x": "new"}  # the last line of a row wins


def test_without_resume_the_results_file_starts_empty(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"index": 0, "status": "success"}\n', encoding="utf-8")
    results, done = ResultFile.open(out)
    results.close()
    assert done == set() and out.read_text(encoding="utf-8") == ""


def test_the_tally_gives_rate_and_eta_on_an_injected_clock() -> None:
    now = [100.0]
    tally = BatchTally(clock=lambda: now[0], total=10, skipped=2)
    for index in range(4):
        now[0] += 1.0
        tally.add(RowResult(index, "success" if index else "failed", tokens=5, cost_usd=0.5))
    assert tally.rate == pytest.approx(1.0) and tally.eta == pytest.approx(4.0)
    assert tally.line() == ("batch: 4 rows done, 2 already done, 1 failed, 1.0 rows/s, "
                            "20 tokens, $2.0000, ETA 4s")
