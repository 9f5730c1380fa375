"""Seed pipelines compiled and run end to end against the loopback server over real HTTP.

`mmoc run` (a subprocess, configured only through base-URL and key environment variables)
shows a 429 retried after its Retry-After floor and a failing primary falling back; the
breaker needs two runs in one process, so that test compiles the seed pipeline in memory and
runs the generated module three times. Only the retry waits are shortened (seed policies wait
seconds); everything else is the seed pipeline as checked in.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mmoc.driver import compile_file
from mmoc.modules import load_module
from support.loopback import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    PLANTED,
    LoopbackServer,
    Reply,
    openai_completion,
    rate_limited,
    server_error,
)

ROOT = Path(__file__).resolve().parents[3]
# The first backoff is then at most 10 ms; the cap (30 s) stays, since it also caps Retry-After.
FAST_RETRY = ("base: 1s, max: 30s", "base: 10ms, max: 30s")


def seed_copy(name: str, tmp_path: Path) -> Path:
    text = (ROOT / "pipelines" / f"{name}.mmo").read_text(encoding="utf-8")
    assert FAST_RETRY[0] in text
    path = tmp_path / f"{name}.mmo"
    path.write_text(text.replace(*FAST_RETRY), encoding="utf-8")
    return path


def mmoc_cli_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m mmoc run *args` from the repository root, with exactly the environment `env`."""
    return subprocess.run(
        [sys.executable, "-m", "mmoc", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def mmoc_run(server: LoopbackServer, source: Path, trace: Path, *inputs: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(
        GEMINI_BASE_URL=server.url,
        GEMINI_API_KEY=GEMINI_KEY,
        OPENAI_BASE_URL=server.url + "/v1",
        OPENAI_API_KEY=OPENAI_KEY,
        ANTHROPIC_BASE_URL=server.url,
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
    )
    args = [str(source), "--trace", str(trace), "-q", "--json"]
    for pair in inputs:
        args += ["-i", pair]
    done = mmoc_cli_run(args, env)
    for key in PLANTED:
        assert key not in done.stdout and key not in done.stderr
    return done


def load_trace(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    for key in PLANTED:
        assert key not in text
    data: dict[str, Any] = json.loads(text)
    return data


def step_of(trace: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in trace["steps"] if s["name"] == name)


def test_mmoc_run_retries_a_429_after_its_retry_after_floor(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    source = seed_copy("research_and_summarize", tmp_path)
    loopback.queue("gemini", rate_limited("gemini", retry_after=None, ms="300"))
    done = mmoc_run(loopback, source, tmp_path / "t.json", "topic=tidal power")
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)
    assert outputs["key_points"].startswith("[gemini] From the research below")
    trace = load_trace(tmp_path / "t.json")
    research = step_of(trace, "research")
    first, second = research["attempts"]
    assert first["status"] == "failed" and first["error_kind"] == "rate_limit"
    assert second["status"] == "success"
    # The backoff alone is at most 10 ms: the 300 ms wait is the server's floor.
    assert second["wait_before_ms"] >= 300.0
    assert research["retries"] == 1
    # Real token counts from the wire, priced from the table.
    assert trace["total_input_tokens"] > 0 and trace["total_output_tokens"] > 0
    assert trace["total_cost_usd"] > 0
    assert len(loopback.calls("gemini")) == 4
    assert loopback.calls("gemini")[0].headers["x-goog-api-key"] == GEMINI_KEY


def test_mmoc_run_falls_back_when_the_primary_keeps_failing(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    source = seed_copy("research_and_summarize", tmp_path)
    # research: gemini-2.5-flash-lite, 1 try + 3 retries, then its fallback gemini-2.0-flash.
    loopback.queue("gemini", *(server_error("gemini", 503) for _ in range(4)))
    done = mmoc_run(loopback, source, tmp_path / "t.json", "topic=tidal power")
    assert done.returncode == 0, done.stderr
    trace = load_trace(tmp_path / "t.json")
    research = step_of(trace, "research")
    assert research["fallback_used"] is True
    assert research["model_used"] == "gemini-2.0-flash"
    assert [a["error_kind"] for a in research["attempts"][:4]] == ["server_error"] * 4
    assert len(loopback.calls_to_model("gemini-2.0-flash")) == 1


def test_mmoc_run_reports_a_missing_key_before_any_call(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    source = seed_copy("research_and_summarize", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["GEMINI_BASE_URL"] = loopback.url
    done = mmoc_cli_run([str(source), "-i", "topic=x", "-q"], env)
    assert done.returncode == 2
    assert "GEMINI_API_KEY" in done.stderr
    assert loopback.requests == []


def test_breaker_opened_by_5xx_skips_the_model_in_later_runs(
    provider_env: LoopbackServer, tmp_path: Path
) -> None:
    from mmoc_runtime import BreakerRegistry
    from mmoc_runtime.providers import ProviderRegistry

    source = seed_copy("analyze_and_report", tmp_path)
    result = compile_file(source)
    assert result.ok, result.diagnostics
    module = load_module(result.code, "h5_analyze_and_report")
    # identify_trends: gemini-2.0-flash (breaker: 5 failures) with fallback gemini-2.5-flash-lite.
    provider_env.always("gemini-2.0-flash", server_error("gemini", 500))
    breakers = BreakerRegistry(time_fn=lambda: 0.0)  # frozen: an open breaker stays open
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def three_runs() -> list[Any]:
        providers = ProviderRegistry()
        results = []
        for _ in range(3):
            results.append(
                await module.run_result(
                    {"input_data": "sales up 5%"},
                    providers=providers,
                    breakers=breakers,
                    sleep=sleep,
                )
            )
        await providers.aclose_all()
        return results

    runs = asyncio.run(three_runs())
    assert all(r.success for r in runs), [r.error for r in runs]
    calls = [len(provider_env.calls_to_model("gemini-2.0-flash"))]
    # Run 1: 4 failed calls (1 + 3 retries), breaker still closed (4 < 5).
    # Run 2: the 5th failure opens it; a retry the open breaker would reject is not waited
    # for: the step moves straight on to its fallback.
    # Run 3: rejected at once: the model is never called again.
    assert calls == [5]
    kinds = [[a.error_kind for a in r.trace.step("identify_trends").attempts] for r in runs]
    assert kinds[0] == ["server_error"] * 4 + [None]
    assert kinds[1] == ["server_error", None]
    assert kinds[2] == ["circuit_open", None]
    third = runs[2].trace.step("identify_trends")
    assert third.fallback_used and third.model_used == "gemini-2.5-flash-lite"
    assert third.breaker_state["gemini/gemini-2.0-flash"] == "open"
    assert breakers.peek("gemini/gemini-2.0-flash").state == "open"
    for r in runs:
        for key in PLANTED:
            assert key not in r.trace.to_json()


def test_mmoc_run_declared_endpoint_with_structured_output(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    source = tmp_path / "extract.mmo"
    source.write_text(
        "pipeline extract {\n"
        "  input text: str\n"
        "  output facts\n"
        f'  provider local = openai_compatible(base_url: "{loopback.url}/local/v1", '
        'api_key_env: "LOCAL_LLM_KEY")\n'
        "  step pull = llm local/qwen2.5 {\n"
        '    prompt "List the facts in: {text}"\n'
        '    json schema {"type": "object", "properties": {"facts": {"type": "array", '
        '"items": {"type": "string"}}}, "required": ["facts"]}\n'
        "  } -> facts\n"
        "}\n",
        encoding="utf-8",
    )
    reply = '```json\n{"facts": ["water is wet"]}\n```'
    loopback.queue("openai", Reply(200, openai_completion(reply, "qwen2.5", usage=False)))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_KEY")}
    env["LOCAL_LLM_KEY"] = "local-planted-key-9911"
    trace = str(tmp_path / "t.json")
    args = [str(source), "-i", "text=water is wet", "--trace", trace, "-q", "--json"]
    done = mmoc_cli_run(args, env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"facts": {"facts": ["water is wet"]}}
    (sent,) = loopback.requests
    assert sent.path == "/local/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer local-planted-key-9911"
    assert sent.body["response_format"]["type"] == "json_schema"
    trace_text = (tmp_path / "t.json").read_text(encoding="utf-8")
    assert "local-planted-key-9911" not in trace_text + done.stderr
    assert step_of(json.loads(trace_text), "pull")["tokens_estimated"] is True
