"""The commands on a map step: fmt leaves the canonical source alone, convert goes both ways
to the same IR, explain shows each MMO8xx code, graph draws the body, and run maps a list
given on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from mmoc.cli import cli
from mmoc.driver import load_path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "cases" / "map_steps" / "pipeline.mmo"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def test_fmt_check_and_convert_both_ways(tmp_path: Path) -> None:
    assert _run("fmt", "--check", str(SOURCE))[0] == 0
    yaml_path, back = tmp_path / "p.yaml", tmp_path / "p.mmo"
    assert _run("convert", str(SOURCE), "-o", str(yaml_path))[0] == 0
    assert _run("convert", str(yaml_path), "-o", str(back))[0] == 0
    original = load_path(SOURCE).pipeline
    assert original is not None
    for path in (yaml_path, back):
        loaded = load_path(path).pipeline
        assert loaded is not None and loaded.model_dump() == original.model_dump()
    assert back.read_text(encoding="utf-8") == SOURCE.read_text(encoding="utf-8").split(
        "\n", 2)[2]  # the same text, less the case's two comment lines


def test_explain_shows_every_map_code() -> None:
    for number in range(801, 811):
        code, out = _run("explain", f"MMO{number}")
        assert code == 0 and f"MMO{number}" in out and "map" in out


def test_graph_draws_the_map_body() -> None:
    code, out = _run("graph", str(SOURCE))
    assert code == 0 and 'subgraph group_triage["triage (map: each ticket in tickets' in out


def test_run_maps_a_list_given_as_json_text() -> None:
    code, out = _run("run", str(SOURCE), "--mock", "--json", "-q",
                     "-i", 'tickets=[{"id": 1}, {"id": 2}, {"id": 3}]')
    assert code == 0
    assert len(json.loads(out)["verdicts"]) == 3
    code, _ = _run("run", str(SOURCE), "--mock", "-q", "-i", "tickets=not a list")
    assert code != 0


def test_run_maps_the_chunks_of_a_document() -> None:
    source = str(ROOT / "pipelines" / "summarize_chunks.mmo")
    code, out = _run("run", source, "--mock", "--json", "-q", "-i", "document=" + "x" * 4500,
                     "-i", "chunk_size=2000", "-i", "overlap=0")
    assert code == 0
    outputs = json.loads(out)
    assert len(outputs["chunk_summaries"]) == 3 and outputs["digest"]
