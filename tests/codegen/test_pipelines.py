"""The four shipped pipelines: checked-in modules are fresh, twins agree, and the modules
pass mypy --strict and ruff, run on the mock provider, and work as scripts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from codegen_support import PIPELINES, ROOT, run_generated
from mmoc.driver import compile_file, load_path

SOURCES = sorted(PIPELINES.glob("*.mmo"))
IDS = [p.stem for p in SOURCES]
GENERATED = [p.with_name(f"{p.stem}_gen.py") for p in SOURCES]
SAMPLE_INPUTS = {
    "research_and_summarize": {"topic": "solar power"},
    "extract_and_validate": {"document": "Ada met Bob in Paris on 3 May and paid 10 EUR."},
    "translate_and_review": {"source_text": "Good morning", "target_language": "French"},
    "analyze_and_report": {"input_data": "sales up 10%, churn risk rising"},
}


def test_the_four_seed_pipelines_are_there() -> None:
    assert IDS == sorted(SAMPLE_INPUTS)


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_checked_in_module_is_fresh(source: Path) -> None:
    result = compile_file(source)
    assert result.ok and result.code is not None, result.diagnostics
    generated = source.with_name(f"{source.stem}_gen.py")
    assert generated.read_text(encoding="utf-8") == result.code, (
        f"{generated.name} is stale: run `mmoc compile {source.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_source_is_in_canonical_form(source: Path) -> None:
    # The shipped pipelines are the examples users copy: they must be what `mmoc fmt` writes.
    from mmoc.frontends.mmo.parse import parse_mmo
    from mmoc.frontends.mmo.printer import print_mmo

    text = source.read_text(encoding="utf-8")
    pipeline, diagnostics = parse_mmo(text, str(source))
    assert pipeline is not None, diagnostics
    assert print_mmo(pipeline) == text, f"run `mmoc fmt {source.relative_to(ROOT)}`"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_yaml_twin_gives_the_same_ir(source: Path) -> None:
    mmo, yaml = load_path(source), load_path(source.with_suffix(".yaml"))
    assert mmo.ok and yaml.ok, (mmo.diagnostics, yaml.diagnostics)
    assert mmo.pipeline is not None and yaml.pipeline is not None
    assert yaml.pipeline.model_dump() == mmo.pipeline.model_dump()


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_runs_on_mock_without_the_compiler(source: Path) -> None:
    report = run_generated(source.with_name(f"{source.stem}_gen.py"), name=source.stem)
    assert report["banned"] == []
    assert report["success"] is True, report["error"]


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


def _tool(name: str) -> str | None:
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else shutil.which(name)


def test_generated_modules_pass_ruff() -> None:
    ruff = _tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    proc = subprocess.run(
        [ruff, "check", "--no-cache", *map(str, GENERATED)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generated_modules_pass_mypy_strict(tmp_path: Path) -> None:
    mypy = _tool("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed")
    # mypy cannot follow setuptools' editable finder: show it the runtime by its import name.
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "mmoc_runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    env = dict(os.environ, MYPYPATH=str(tmp_path / "stubs"))
    proc = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull, *map(str, GENERATED)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generated_modules_return_no_any_without_the_runtime(tmp_path: Path) -> None:
    # Where mypy cannot find mmoc_runtime (an editable install, a CI lint job without it)
    # every runtime name is Any; the module must still not return Any from a typed function.
    mypy = _tool("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed")
    proc = subprocess.run(
        [mypy, "--strict", "--ignore-missing-imports", "--no-site-packages",
         "--no-incremental", "--cache-dir", os.devnull, *map(str, GENERATED)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MYPYPATH"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
