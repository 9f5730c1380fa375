"""The acceptance of issue 14 for tests: pipelines/research_and_summarize.mmo has `test`
blocks, and pipelines/cassettes/research_and_summarize.jsonl, recorded against the loopback
server, replays them with no network and no keys; a changed prompt fails replay with a diff.

The cassette is a golden file: recording the tests against the loopback server again must
give it byte for byte (`make goldens` rewrites it after an intended change).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_invoke import invoke
from support.goldens import compare_or_update
from support.loopback import GEMINI_KEY, OPENAI_KEY, LoopbackServer, Reply, openai_completion

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipelines" / "research_and_summarize.mmo"
CASSETTE = ROOT / "pipelines" / "cassettes" / "research_and_summarize.jsonl"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing answers there
KEY_VARS = ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_API_KEY")
# What the judge (openai/gpt-4o-mini) answers when the cassette is recorded.
VERDICT = {"pass": True, "reason": "It is a summary addressed to an executive."}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key anywhere, and every provider pointed at a port where nothing listens."""
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in ("OPENAI_BASE_URL", "GEMINI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.setenv(var, CLOSED)


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", server.url)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    try:
        yield server
    finally:
        server.stop()


def test_the_shipped_tests_pass_from_the_cassette_offline(offline: None) -> None:
    code, out, err = invoke(["test", "--replay", str(CASSETTE), str(PIPELINE)])
    assert code == 0, out + err
    assert "research_and_summarize.mmo::green_tea_for_an_executive PASSED" in out
    assert "research_and_summarize.mmo::volcanoes_for_a_student PASSED" in out
    assert "2 passed" in out


def test_a_changed_prompt_fails_replay_with_the_diff(offline: None, tmp_path: Path) -> None:
    changed = PIPELINE.read_text(encoding="utf-8").replace(
        "list the five most important points", "list the three most important points")
    (tmp_path / PIPELINE.name).write_text(changed, encoding="utf-8")
    code, out, _ = invoke(["test", "--replay", str(CASSETTE), str(tmp_path)])
    assert code == 1
    assert "2 failed" in out
    # The step, the model, and what changed against the nearest recorded request.
    assert "step 'extract_key_points'" in out and "gemini-2.5-flash-lite" in out
    assert "E   -  From the research below, list the five most important points" in out
    assert "E   +  From the research below, list the three most important points" in out


def test_recording_against_the_loopback_server_gives_the_shipped_cassette(
    loopback: LoopbackServer, tmp_path: Path, update_goldens: bool
) -> None:
    loopback.always("gpt-4o-mini", Reply(200, openai_completion(
        json.dumps(VERDICT), "gpt-4o-mini", 60, 12)))
    target = tmp_path / "cassette.jsonl"
    code, out, err = invoke(["test", "--record", str(target), str(PIPELINE), "-j", "1"])
    assert code == 0, out + err
    recorded = target.read_text(encoding="utf-8")
    assert OPENAI_KEY not in recorded and GEMINI_KEY not in recorded
    compare_or_update(CASSETTE, recorded, update_goldens)
