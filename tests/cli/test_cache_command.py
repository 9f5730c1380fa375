"""The response cache from the command line: a repeated `mmoc run` served at zero cost,
`--no-cache`, and `mmoc cache stats` / `mmoc cache clear`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc_runtime.response_cache import FILE_NAME
from support.loopback import OPENAI_KEY, LoopbackServer

PIPELINE = """\
pipeline cached {
  input name: str
  default cache ttl: 1h
  step hello = llm openai/gpt-4o-mini {
    prompt "Say hello to {name}"
  } -> greeting
}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer().start()
    yield loopback
    loopback.stop()


@pytest.fixture
def online(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
           tmp_path: Path) -> LoopbackServer:
    server.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path / "cache"))
    return server


def mmoc(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result


def run_traced(source: Path, trace: Path, *extra: str) -> dict[str, object]:
    result = mmoc("run", str(source), "-i", "name=Ada", "-q", "--json", "--trace", str(trace),
                  *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(trace.read_text())  # type: ignore[no-any-return]


def test_a_repeated_run_costs_nothing_and_stats_show_it(online: LoopbackServer,
                                                        tmp_path: Path) -> None:
    source = tmp_path / "cached.mmo"
    source.write_text(PIPELINE)
    first = run_traced(source, tmp_path / "1.json")
    second = run_traced(source, tmp_path / "2.json")
    assert len(online.requests) == 1
    assert first["total_cost_usd"] > 0  # type: ignore[operator]
    assert second["total_cost_usd"] == 0.0
    step = second["steps"][0]  # type: ignore[index]
    assert step["reply_source"] == "cache"
    assert step["cost_saved_usd"] == first["total_cost_usd"]

    stats = mmoc("cache", "stats", "--json")
    assert stats.exit_code == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert (figures["entries"], figures["hits"]) == (1, 1)
    assert figures["path"] == str(tmp_path / "cache" / FILE_NAME)
    text = mmoc("cache", "stats")
    assert "entries: 1" in text.stdout and "openai/gpt-4o-mini: 1 entries, 1 hits" in text.stdout

    # --no-cache neither reads nor writes it.
    third = run_traced(source, tmp_path / "3.json", "--no-cache")
    assert len(online.requests) == 2 and third["steps"][0]["reply_source"] is None  # type: ignore[index]

    cleared = mmoc("cache", "clear")
    assert cleared.exit_code == 0 and "removed 1 entry" in cleared.stdout
    run_traced(source, tmp_path / "4.json")
    assert len(online.requests) == 3


def test_clear_older_than_keeps_recent_entries(online: LoopbackServer, tmp_path: Path) -> None:
    source = tmp_path / "cached.mmo"
    source.write_text(PIPELINE)
    run_traced(source, tmp_path / "1.json")
    result = mmoc("cache", "clear", "--older-than", "1h")
    assert result.exit_code == 0 and "removed 0 entries" in result.stdout
    assert json.loads(mmoc("cache", "stats", "--json").stdout)["entries"] == 1


def test_stats_on_no_cache_creates_nothing(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path / "none"))
    result = mmoc("cache", "stats")
    assert result.exit_code == 0 and "entries: 0" in result.stdout
    assert mmoc("cache", "clear").exit_code == 0
    assert not (tmp_path / "none").exists()


def test_a_bad_older_than_is_a_usage_error(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path))
    result = mmoc("cache", "clear", "--older-than", "soon")
    assert result.exit_code == 2 and "--older-than 'soon' is not a duration" in result.stderr


def test_a_broken_cache_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMOC_CACHE_DIR", str(tmp_path))
    (tmp_path / FILE_NAME).write_bytes(b"not a database" * 100)
    result = mmoc("cache", "stats")
    assert result.exit_code == 2 and "cannot read the response cache" in result.stderr
