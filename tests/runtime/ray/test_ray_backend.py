"""The Ray backend on a local Ray instance this module starts (2 CPUs): the same result lines
as the local backend (mock, and the loopback server), a killed worker losing and duplicating no
row, the shared limiter holding the rpm across two workers, and a planted API key appearing in
no result, no log under the Ray session folder and nothing that crossed to or from a worker."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from mmoc.driver import compile_file
from mmoc.modules import load_module
from mmoc_runtime import (
    pricing,
    ray_batch,
    run_batch,
)
from mmoc_runtime.limiter import LimiterRegistry, Limits, default_limiters
from mmoc_runtime.ray_batch import RayStats
from support.cli_invoke import invoke
from support.loopback import LoopbackServer, key_pieces

KEY_ENV = "MMOC_RAY_PROBE_KEY"
KEY = "sk-rayprobe-3c9e1a7f5b2d8e4a6c0f"

MOCK = """\
pipeline rayed {
  input text: str
  step a = llm mock/m%s {
    prompt "say {text}"
  } -> x
  step b = transform ray_helpers:shout(x) -> y
}
"""

HELPERS = "def shout(text):\n    return text.upper() + '!'\n"


@pytest.fixture(scope="module", autouse=True)
def ray_session() -> Iterator[None]:
    # Planted before Ray starts: the workers inherit it as the driver's environment.
    old = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = KEY
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="mmoc")
    try:
        yield
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = old


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    yield
    default_limiters().clear()


def _project(tmp_path: Path, source: str, rows: list[Any]) -> tuple[Path, Path]:
    (tmp_path / "ray_helpers.py").write_text(HELPERS, encoding="utf-8")
    pipeline = tmp_path / "rayed.mmo"
    pipeline.write_text(source, encoding="utf-8")
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows),
                    encoding="utf-8")
    return pipeline, data


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")  # never half a line
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        line.pop("latency_ms")  # the one field that differs run to run
    return sorted(lines, key=lambda line: line["index"])


def _both_backends(tmp_path: Path, pipeline: Path, data: Path,
                   *extra: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    outs = {}
    err = ""
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.jsonl"
        code, _, err = invoke(["run", str(pipeline), "--data", str(data), "--out", str(out),
                               "--backend", backend, "--workers", "2", "--concurrency", "4",
                               *extra] if backend == "ray" else
                              ["run", str(pipeline), "--data", str(data), "--out", str(out),
                               "--concurrency", "4", *extra])
        assert code == 1, err  # one bad row: exit 1 on both
        outs[backend] = _lines(out)
    return outs["local"], outs["ray"], err


def test_same_result_lines_as_the_local_backend_with_the_mock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[Any] = [{"id": f"r{i}", "text": f"t{i}"} for i in range(30)]
    rows[7] = "not json\n"
    pipeline, data = _project(tmp_path, MOCK % "", rows)
    # A price declared in the driver (as `[tool.mmoc.models]` declares it) reaches the workers.
    monkeypatch.setattr(pricing, "_DECLARED", {})
    pricing.declare_prices({"mock/m": pricing.Price(1000.0, 1000.0)})
    local, on_ray, err = _both_backends(tmp_path, pipeline, data, "--mock")
    assert on_ray == local
    assert on_ray[3]["cost_usd"] > 0
    assert [line["index"] for line in on_ray] == list(range(30))
    assert on_ray[3]["outputs"] == {"x": "[mock/m] say t3", "y": "[MOCK/M] SAY T3!"}  # shipped
    assert on_ray[7]["status"] == "failed" and on_ray[7]["error"]["kind"] == "input"
    assert "batch: 30 rows run, 29 succeeded, 1 failed" in err  # the same summary


def test_same_lines_over_the_loopback_server_and_the_key_shows_nowhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crossed: list[Any] = []  # everything the driver sent to workers or got back
    submit, landed = ray_batch._Driver._submit, ray_batch._Driver._landed
    monkeypatch.setattr(ray_batch._Driver, "_submit", lambda self, worker, rows: (
        crossed.append(rows), submit(self, worker, rows))[1])
    monkeypatch.setattr(ray_batch._Driver, "_landed", lambda self, future: (
        crossed.append(future.result() if future.exception() is None else None),
        landed(self, future))[1])
    connect = ray_batch._connect  # the runtime_env the workers start with
    monkeypatch.setattr(ray_batch, "_connect", lambda *args: (
        crossed.append(connect(*args)), crossed[-1])[1])
    real_setup = ray_batch.WorkerSetup
    monkeypatch.setattr(ray_batch, "WorkerSetup", lambda **kw: (
        crossed.append(kw), real_setup(**kw))[1])
    server = LoopbackServer().start()
    try:
        source = f"""\
pipeline rayed {{
  input text: str
  provider lb = openai_compatible(base_url: "{server.url}/v1", api_key_env: "{KEY_ENV}")
  step a = llm lb/small {{
    prompt "say {{text}}"
  }} -> x
  step b = transform ray_helpers:shout(x) -> y
}}
"""
        rows: list[Any] = [{"id": i, "text": f"t{i}"} for i in range(12)] + ["[1]\n"]
        pipeline, data = _project(tmp_path, source, rows)
        local, on_ray, _ = _both_backends(tmp_path, pipeline, data)
        calls = server.calls("openai")
    finally:
        server.stop()
    assert on_ray == local and sum(line["status"] == "success" for line in on_ray) == 12
    assert len(calls) == 24  # 12 rows, each backend
    # The workers had the key (from their environment): every call carried it ...
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {KEY}"}
    # ... and it shows in no result, nothing that crossed to or from a worker (rows, results,
    # the workers' setup and runtime_env), no Ray log.
    assert any(isinstance(c, dict) and "working_dir" in c for c in crossed)
    assert not key_pieces(KEY, (tmp_path / "ray.jsonl").read_text(encoding="utf-8"))
    assert not key_pieces(KEY, repr(crossed))
    assert KEY.encode() not in pickle.dumps(crossed)
    session = Path(ray._private.worker._global_node.get_session_dir_path())
    logs = [p for p in session.rglob("*") if p.is_file() and p.stat().st_size < 50 << 20]
    assert logs
    for path in logs:
        assert KEY.encode() not in path.read_bytes(), path


def _compiled(tmp_path: Path, source: str, name: str) -> Any:
    pipeline, _ = _project(tmp_path, source, [])
    result = compile_file(pipeline)
    assert result.ok and result.code is not None
    return load_module(result.code, name, search_path=[tmp_path])


def test_a_killed_worker_loses_and_duplicates_no_row(tmp_path: Path) -> None:
    module = _compiled(tmp_path, MOCK % "?latency_ms=300", "ray_kill_case")
    rows = [{"id": i, "text": f"t{i}"} for i in range(24)]
    stats = RayStats()
    killed: list[int] = []

    async def main() -> list[Any]:
        results = []
        async for result in module.run_batch(rows, backend="ray", workers=2, concurrency=4,
                                             mock=True, stats=stats):
            results.append(result)
            if not killed:  # mid-batch: the other worker has rows in flight
                killed.append(_kill_a_worker())
        return results

    results = asyncio.run(main())
    indexes = [r.index for r in results]
    assert sorted(indexes) == list(range(24))  # none lost, none twice
    assert all(r.ok for r in results)
    assert stats.chunks_lost >= 1 and stats.rows_resubmitted >= 1  # the kill did hit rows


def _kill_a_worker() -> int:
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
             if a["name"].startswith("mmoc-worker:")]
    worker = ray.get_actor(max(names), namespace="mmoc")
    pid: int = ray.get(worker.ready.remote())
    os.kill(pid, signal.SIGKILL)
    return pid


def test_the_shared_limiter_holds_the_rpm_across_two_workers(tmp_path: Path) -> None:
    module = _compiled(tmp_path, MOCK % "", "ray_limit_case")
    registry = LimiterRegistry()
    rate, burst = 20.0, 10.0  # rpm 1200
    registry.configure({"mock/m": Limits(rpm=rate * 60, burst=burst)})
    stats = RayStats()

    async def main() -> int:
        return len([r async for r in run_batch(
            module.PIPELINE, [{"text": str(i)} for i in range(40)], backend="ray", workers=2,
            concurrency=8, mock=True, limiters=registry, stats=stats)])

    assert asyncio.run(main()) == 40
    held = stats.limiters["mock/m"]
    grants = held["grants"]
    assert 40 <= held["granted"] <= 40 + 2 * 2  # what ran, plus at most a batch left per worker
    assert {worker for _, _, worker in grants} == {f"{w.rsplit(':', 1)[0]}:{n}" for n in (0, 1)
                                                  for w in [grants[0][2]]}  # both workers
    assert len(grants) < held["granted"]  # permits in batches, not one round trip each
    for start, _, _ in grants:  # the holder's clock: no second passes rate + burst
        assert sum(n for when, n, _ in grants if start <= when < start + 1.0) <= rate + burst


def test_the_budget_stops_the_whole_job(tmp_path: Path) -> None:
    # Each call is estimated at $0.0352 and costs $0.0250 (see tests/cli/test_batch_command);
    # $0.20 for the whole job, two workers drawing from it.
    source = MOCK.replace("mock/m%s", "gpt-4o?reply=ok")
    rows = [{"id": i, "text": "x" * 40_000} for i in range(40)]
    pipeline, data = _project(tmp_path, source, rows)
    out = tmp_path / "out.jsonl"
    code, _, err = invoke(["run", str(pipeline), "--data", str(data), "--out", str(out),
                           "--mock", "--backend", "ray", "--workers", "2", "--concurrency", "1",
                           "--max-cost", "0.20"])
    assert code == 1, err
    lines = _lines(out)
    spent = sum(line["cost_usd"] for line in lines)
    assert 0.10 < spent <= 0.20  # most of the budget, never past it
    assert "budget_exceeded" in {line["status"] for line in lines}
    assert len(lines) < 20  # the job stopped taking rows: most rows never ran
    assert "stopped: the budget (--max-cost)" in err


def test_sigterm_stops_a_ray_batch_gracefully_and_resume_finishes_it(tmp_path: Path) -> None:
    # A process of its own: there `mmoc run` starts (or joins) Ray itself, and ray.init's
    # SIGTERM handler (exit at once) must not replace the batch's (stop, grace, exit 130).
    source = MOCK % "?latency_ms=300"
    rows = [{"id": f"r{i}", "text": f"t{i}"} for i in range(30)]
    pipeline, data = _project(tmp_path, source, rows)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "mmoc", "run", str(pipeline), "--data", str(data),
               "--out", str(out), "--mock", "--backend", "ray", "--workers", "2",
               "--concurrency", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None and (
                not out.exists() or out.read_bytes().count(b"\n") < 4):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert b"run again with --resume" in stderr
    first = _lines(out)
    assert 4 <= len(first) < 30
    resumed = subprocess.run([*command, "--resume", "--concurrency", "8"], capture_output=True,
                             timeout=120, check=False, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert [line["index"] for line in _lines(out)] == list(range(30))  # each row once
