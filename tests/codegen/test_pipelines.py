"""The four shipped pipelines, beyond the golden checks every module gets
(tests/cases/test_goldens.py): they are the four seed jobs, their sources are in canonical
form (users copy them), and their modules work as scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.generated import PIPELINES, ROOT

SOURCES = sorted(PIPELINES.glob("*.mmo"))
IDS = [p.stem for p in SOURCES]
GENERATED = [p.with_name(f"{p.stem}_gen.py") for p in SOURCES]
SAMPLE_INPUTS = {
    "research_and_summarize": {"topic": "solar power"},
    "extract_and_validate": {"document": "Ada met Bob in Paris on 3 May and paid 10 EUR."},
    "translate_and_review": {"source_text": "Good morning", "target_language": "French"},
    "analyze_and_report": {"input_data": "sales up 10%, churn risk rising"},
    # Beside the seed's four jobs: map-reduce over a document's chunks (issue 12).
    "summarize_chunks": {"document": "First part. " * 300, "chunk_size": 1000},
}


def test_the_four_seed_pipelines_are_there() -> None:
    assert IDS == sorted(SAMPLE_INPUTS)



@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_source_is_in_canonical_form(source: Path) -> None:
    # The shipped pipelines are the examples users copy: they must be what `mmoc fmt` writes.
    from mmoc.frontends.mmo.parse import parse_mmo
    from mmoc.frontends.mmo.printer import print_mmo

    text = source.read_text(encoding="utf-8")
    pipeline, diagnostics = parse_mmo(text, str(source))
    assert pipeline is not None, diagnostics
    assert print_mmo(pipeline) == text, f"run `mmoc fmt {source.relative_to(ROOT)}`"




def test_script_entry_point_prints_outputs_as_json(tmp_path: Path) -> None:
    script = PIPELINES / "translate_and_review_gen.py"
    trace = tmp_path / "trace.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--input",
            "source_text=Hello, world",
            "-i",
            "target_language=French",
            "--mock",
            "--trace",
            str(trace),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout)
    assert set(outputs) == {"translation", "review_result"}
    assert "Hello, world" in outputs["translation"]
    assert json.loads(trace.read_text())["pipeline"] == "translate_and_review"


def test_script_output_to_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    # `python x_gen.py ... | head -c 0`: the reader is gone before the outputs are printed.
    script = PIPELINES / "research_and_summarize_gen.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "-i", "topic=x", "--mock"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err


def test_script_reports_missing_input_and_bad_syntax(tmp_path: Path) -> None:
    script = PIPELINES / "translate_and_review_gen.py"
    missing = subprocess.run(
        [sys.executable, str(script), "-i", "source_text=x", "--mock"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "target_language" in missing.stderr and "Traceback" not in missing.stderr
    bad = subprocess.run(
        [sys.executable, str(script), "-i", "no-equals-sign", "--mock"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    unreadable = subprocess.run(
        [sys.executable, str(script), "--inputs-json", str(tmp_path / "bad.json"), "--mock"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert unreadable.returncode == 2 and "--inputs-json" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr



