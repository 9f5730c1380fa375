"""`mmoc run --record/--replay` and a generated script's `--record/--replay`: a cassette recorded
against the loopback server replays with no keys and no network; a changed prompt fails the
replay with exit 1 and a diff; usage mistakes exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mmoc.cli import cli
from mmoc_runtime import InputSpec, LlmStep, PipelineSpec
from mmoc_runtime.script import main as script_main
from support.loopback import OPENAI_KEY, LoopbackServer

PIPELINE = """\
pipeline greet {{
  input name: str
  step hello = llm openai/gpt-4o-mini {{
    prompt "Say hello to {{name}}.\\n{line}"
  }} -> greeting
}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer().start()
    yield loopback
    loopback.stop()


@pytest.fixture
def online(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    server.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    return server


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")


def write(tmp_path: Path, line: str = "Be warm.") -> Path:
    path = tmp_path / "greet.mmo"
    path.write_text(PIPELINE.format(line=line), encoding="utf-8")
    return path


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["run", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_record_then_replay_with_no_key(online: LoopbackServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    source, tape = write(tmp_path), tmp_path / "tapes" / "greet.jsonl"
    recorded = run(str(source), "-i", "name=Ada", "--record", str(tape), "--json", "-q")
    assert recorded.exit_code == 0, recorded.stderr
    assert len(online.requests) == 1
    assert tape.read_text().startswith('{"mmoc_cassette":1}\n')

    go_offline(monkeypatch)
    replayed = run(str(source), "-i", "name=Ada", "--replay", str(tape), "--json", "-q")
    assert replayed.exit_code == 0, replayed.stderr
    assert json.loads(replayed.stdout) == json.loads(recorded.stdout)
    assert len(online.requests) == 1

    changed = run(str(write(tmp_path, "Be brief.")), "-i", "name=Ada", "--replay", str(tape))
    assert changed.exit_code == 1
    assert "step 'hello'" in changed.stderr and "openai/gpt-4o-mini" in changed.stderr
    assert "-  Be warm." in changed.stderr and "+  Be brief." in changed.stderr


def test_record_and_replay_together_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(write(tmp_path)), "-i", "name=A", "--mock", "--record", "a.jsonl",
                 "--replay", "b.jsonl")
    assert result.exit_code == 2
    assert "--record and --replay cannot be used together" in result.stderr


def test_replaying_a_missing_or_broken_cassette_exits_2(tmp_path: Path) -> None:
    source = str(write(tmp_path))
    missing = run(source, "-i", "name=A", "--mock", "--replay", str(tmp_path / "no.jsonl"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{\n")
    result = run(source, "-i", "name=A", "--mock", "--replay", str(broken))
    assert result.exit_code == 2 and "broken.jsonl:1: not a cassette line" in result.stderr


def test_record_under_a_file_is_refused_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run(str(write(tmp_path)), "-i", "name=A", "--mock",
                 "--record", str(tmp_path / "file" / "t.jsonl"))
    assert result.exit_code == 2 and "is not a directory" in result.stderr


# -- a generated script -------------------------------------------------------------------

SCRIPT_SPEC = PipelineSpec("s", inputs=(InputSpec("topic"),), steps=(
    LlmStep("write", "openai/gpt-4o-mini", "About {topic}", "text"),))


def test_a_script_records_and_replays(online: LoopbackServer, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    tape = str(tmp_path / "s.jsonl")
    assert script_main(SCRIPT_SPEC, ["-i", "topic=tides", "--record", tape]) == 0
    recorded = json.loads(capsys.readouterr().out)
    go_offline(monkeypatch)
    assert script_main(SCRIPT_SPEC, ["-i", "topic=tides", "--replay", tape]) == 0
    assert json.loads(capsys.readouterr().out) == recorded
    assert script_main(SCRIPT_SPEC, ["-i", "topic=waves", "--replay", tape]) == 1
    err = capsys.readouterr().err
    assert "step 'write'" in err and "openai/gpt-4o-mini" in err
    assert "-  About tides" in err and "+  About waves" in err
    assert len(online.requests) == 1


def test_a_script_refuses_record_with_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert script_main(SCRIPT_SPEC, ["-i", "topic=x", "--record", "a", "--replay", "b"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_script_replaying_a_missing_cassette_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "none.jsonl")
    assert script_main(SCRIPT_SPEC, ["-i", "topic=x", "--replay", missing]) == 2
    assert f"error: cassette {missing} does not exist" in capsys.readouterr().err
