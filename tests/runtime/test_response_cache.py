"""The response cache: a repeated run at zero cost, time to live, no failures kept, shared by
processes, redacted on disk, and a run that goes on when the database cannot be used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mmoc_runtime import (
    LlmError,
    LlmStep,
    OutputFormat,
    PipelineSpec,
    ProviderRegistry,
    execute_sync,
)
from mmoc_runtime.providers.base import LlmResponse
from mmoc_runtime.response_cache import FILE_NAME, ResponseCache, default_path
from mmoc_runtime.spec import CachePolicy, StepDefaults
from support.fakes import ScriptedProvider

HOUR = 3600.0


CACHED = CachePolicy()


def spec(cache: CachePolicy | None = CACHED, *, default: CachePolicy | None = None,
         prompt: str = "Tell me about {topic}") -> PipelineSpec:
    return PipelineSpec("cached", steps=(
        LlmStep("ask", "openai/gpt-4o-mini", prompt, "answer", cache=cache),
    ), defaults=StepDefaults(cache=default) if default else None)


def scripted(*script: object) -> tuple[ProviderRegistry, ScriptedProvider]:
    provider = ScriptedProvider("openai", list(script), default=LlmResponse("hello", 1000, 500))
    registry = ProviderRegistry()
    registry.register("openai", provider)
    return registry, provider


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_run_is_served_from_the_cache_at_zero_cost(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    registry, provider = scripted()
    first = execute_sync(spec(), {"topic": "tides"}, providers=registry, cache=cache)
    second = execute_sync(spec(), {"topic": "tides"}, providers=registry, cache=cache)
    assert len(provider.requests) == 1
    assert first.values == second.values
    paid, hit = first.trace.step("ask"), second.trace.step("ask")
    assert paid.reply_source is None and paid.cost_usd > 0
    assert hit.reply_source == "cache" and hit.attempts[0].reply_source == "cache"
    assert hit.cost_usd == 0.0 and second.trace.total_cost_usd == 0.0
    assert hit.cost_saved_usd == paid.cost_usd
    assert second.trace.totals["cost_saved_usd"] == paid.cost_usd
    stats = cache.stats()
    assert (stats["entries"], stats["hits"]) == (1, 1)
    assert stats["saved_usd"] == pytest.approx(paid.cost_usd)
    assert stats["models"] == [{"model": "openai/gpt-4o-mini", "entries": 1, "hits": 1,
                                "saved_usd": pytest.approx(paid.cost_usd)}]
    # Another request is not served the cached reply.
    execute_sync(spec(), {"topic": "waves"}, providers=registry, cache=cache)
    assert len(provider.requests) == 2


def test_an_entry_older_than_the_ttl_is_not_served(tmp_path: Path) -> None:
    clock = Clock()
    cache = ResponseCache(tmp_path / "c.sqlite3", clock=clock)
    registry, provider = scripted()
    policy = CachePolicy(ttl=HOUR)
    execute_sync(spec(policy), {"topic": "t"}, providers=registry, cache=cache)
    clock.now += HOUR - 1
    execute_sync(spec(policy), {"topic": "t"}, providers=registry, cache=cache)
    assert len(provider.requests) == 1
    clock.now += 2
    again = execute_sync(spec(policy), {"topic": "t"}, providers=registry, cache=cache)
    assert len(provider.requests) == 2 and again.trace.step("ask").reply_source is None


def test_failures_are_never_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    registry, _ = scripted(LlmError("server_error", "boom"))
    assert not execute_sync(spec(), {"topic": "t"}, providers=registry, cache=cache).success
    assert cache.stats()["entries"] == 0
    # A structured reply that does not parse is a failure too.
    structured = PipelineSpec("s", steps=(LlmStep(
        "ask", "openai/gpt-4o-mini", "Data", "d", output_format=OutputFormat("json"),
        cache=CachePolicy()),))
    assert not execute_sync(structured, {}, providers=registry, cache=cache).success
    assert cache.stats()["entries"] == 0


def test_only_steps_whose_policy_caches_use_it(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    registry, provider = scripted()
    for _ in range(2):
        execute_sync(spec(None), {"topic": "t"}, providers=registry, cache=cache)
    assert len(provider.requests) == 2 and not (tmp_path / "c.sqlite3").exists()
    # The pipeline default caches; a step's `cache off` wins over it.
    off = CachePolicy(enabled=False)
    for _ in range(2):
        execute_sync(spec(off, default=CachePolicy()), {"topic": "t"}, providers=registry,
                     cache=cache)
    assert len(provider.requests) == 4
    for _ in range(2):
        execute_sync(spec(None, default=CachePolicy()), {"topic": "t"}, providers=registry,
                     cache=cache)
    assert len(provider.requests) == 5


def test_cache_false_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path))
    registry, provider = scripted()
    for _ in range(2):
        execute_sync(spec(), {"topic": "t"}, providers=registry, cache=False)
    assert len(provider.requests) == 2 and not (tmp_path / FILE_NAME).exists()


def test_the_default_cache_lives_in_mmoc_cache_dir(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path / "cache"))
    registry, provider = scripted()
    for _ in range(2):
        execute_sync(spec(), {"topic": "t"}, providers=registry)
    assert len(provider.requests) == 1
    assert default_path() == tmp_path / "cache" / FILE_NAME and default_path().exists()


def test_what_is_stored_hides_the_runs_secrets(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "tok-5f3e9a1c77b2d4e0cafe"
    monkeypatch.setenv("MY_SERVICE_TOKEN", secret)
    cache = ResponseCache(tmp_path / "c.sqlite3")
    registry, _ = scripted(LlmResponse(f"echo {secret}", 5, 5))
    execute_sync(spec(), {"topic": secret}, providers=registry, cache=cache)
    cache.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret[:8].encode() not in raw


def test_a_database_that_cannot_be_used_does_not_fail_the_run(tmp_path: Path) -> None:
    broken = tmp_path / "c.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    registry, provider = scripted()
    for _ in range(2):
        result = execute_sync(spec(), {"topic": "t"}, providers=registry,
                              cache=ResponseCache(broken))
        assert result.success, result.error
    assert len(provider.requests) == 2


def test_clear_removes_all_or_old_entries(tmp_path: Path) -> None:
    clock = Clock()
    cache = ResponseCache(tmp_path / "c.sqlite3", clock=clock)
    cache.put("a" * 64, {"provider": "openai", "model": "m"}, LlmResponse("x"))
    clock.now += 10 * HOUR
    cache.put("b" * 64, {"provider": "openai", "model": "m"}, LlmResponse("y"))
    assert cache.clear(older_than=HOUR) == 1
    assert cache.get("a" * 64, None) is None and cache.get("b" * 64, None) is not None
    assert cache.clear() == 1 and cache.stats()["entries"] == 0


WORKER = textwrap.dedent("""
    import json, sys
    from mmoc_runtime import LlmStep, PipelineSpec, execute_sync
    from mmoc_runtime.spec import CachePolicy

    tag, count = sys.argv[1], int(sys.argv[2])
    costs = []
    for i in range(count):
        # Both workers ask the shared prompts; each also asks its own.
        prompt = f"shared {i}" if i % 2 == 0 else f"{tag} {i}"
        spec = PipelineSpec("w", steps=(LlmStep("ask", "mock/gpt-4o-mini", prompt, "a",
                                                cache=CachePolicy()),))
        result = execute_sync(spec, {})
        assert result.success, result.error
        costs.append(result.trace.step("ask").reply_source)
    print(json.dumps(costs))
""")


def test_two_processes_share_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "MMOC_CACHE_DIR": str(tmp_path / "shared")}
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [subprocess.Popen([sys.executable, str(script), tag, "20"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for tag in ("a", "b")]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert "locked" not in err
    # A third process finds every exchange either worker stored: all hits.
    done = subprocess.run([sys.executable, str(script), "a", "20"], env=env, text=True,
                          capture_output=True, timeout=60, check=True)
    assert json.loads(done.stdout) == ["cache"] * 20
    stats = ResponseCache(tmp_path / "shared" / FILE_NAME).stats()
    assert stats["entries"] == 30  # 10 shared + 10 of a + 10 of b


def test_the_saved_cost_in_stats_is_the_one_the_trace_shows_in_a_mock_run(
        tmp_path: Path) -> None:
    # A mock run routes `gpt-4o-mini` to the mock but prices it as requested: so do the stats.
    cache = ResponseCache(tmp_path / "c.sqlite3")
    mocked = PipelineSpec("m", steps=(LlmStep("ask", "gpt-4o-mini", "Hi", "a",
                                              cache=CachePolicy()),))
    execute_sync(mocked, {}, mock=True, cache=cache)
    hit = execute_sync(mocked, {}, mock=True, cache=cache)
    saved = hit.trace.step("ask").cost_saved_usd
    assert saved > 0 and cache.stats()["saved_usd"] == pytest.approx(saved)
