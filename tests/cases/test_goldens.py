"""Golden modules: every folder beside this file and every shipped pipeline in `pipelines/`
gets the same standard checks (`support.goldens.golden_cases`).

The checked-in module is what the compiler writes today (a mismatch prints a diff;
`make goldens`, i.e. `pytest --update-goldens`, rewrites it); black and ruff format both leave
it unchanged; it passes ruff, `mypy --strict` and pyright (strict), and returns no `Any` even where mypy cannot
see the runtime; it imports and runs on the mock provider in a fresh interpreter with none of
the compiler's dependencies loaded; a YAML twin gives the same IR.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import black
import pytest
from mmoc.driver import compile_file, load_path
from support.generated import ROOT, SUPPORT, run_generated, tool
from support.goldens import GoldenCase, compare_or_update, golden_cases

CASES = golden_cases()
IDS = [case.id for case in CASES]
TWINS = [case for case in CASES if case.twin is not None]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_matches(case: GoldenCase, update_goldens: bool) -> None:
    result = compile_file(case.source)
    assert result.ok and result.code is not None, [
        f"{d.code}: {d.message}" for d in result.diagnostics
    ]
    compare_or_update(case.expected, result.code, update_goldens)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_is_black_formatted(case: GoldenCase) -> None:
    expected = case.expected.read_text(encoding="utf-8")
    assert black.format_str(expected, mode=black.Mode()) == expected


def test_goldens_are_unchanged_by_ruff_format() -> None:
    """Users format with black or ruff: the output must be a fixed point of both (ruff with
    its defaults, as in a project that has not configured it)."""
    ruff = tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    files = [str(case.expected) for case in CASES]
    done = subprocess.run([ruff, "format", "--isolated", "--check", "--diff", *files],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_imports_standalone_and_runs_on_mock(case: GoldenCase) -> None:
    report = run_generated(case.expected, name=f"golden_{case.id.replace('/', '_')}")
    assert report["banned"] == [], f"compiler modules loaded: {report['banned']}"
    assert report["success"] is True, report["error"]
    statuses = report["statuses"]
    assert isinstance(statuses, dict) and statuses
    assert set(statuses.values()) <= {"success", "skipped"}
    # A case may pin each step's status (which conditions held on the sample inputs).
    if case.statuses is not None:
        assert statuses == json.loads(case.statuses.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", TWINS, ids=[case.id for case in TWINS])
def test_yaml_twin_gives_the_same_ir(case: GoldenCase) -> None:
    assert case.twin is not None
    mmo, yaml = load_path(case.source), load_path(case.twin)
    assert mmo.pipeline is not None and yaml.pipeline is not None, yaml.diagnostics
    assert yaml.ok, [f"{d.code}: {d.message}" for d in yaml.diagnostics]
    assert yaml.pipeline.model_dump() == mmo.pipeline.model_dump()


@pytest.fixture(scope="module")
def golden_copies(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every golden under a distinct module name (the cases are all `expected.py`)."""
    folder = tmp_path_factory.mktemp("goldens")
    files = []
    for case in CASES:
        copy = folder / f"{case.id.replace('/', '_')}.py"
        shutil.copyfile(case.expected, copy)
        files.append(str(copy))
    return files


def test_goldens_pass_ruff(golden_copies: list[str]) -> None:
    ruff = tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    lint = subprocess.run(
        [ruff, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), *golden_copies],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_goldens_pass_mypy_strict(golden_copies: list[str], tmp_path: Path) -> None:
    mypy = tool("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed")
    # mypy cannot follow setuptools' editable finder: show it the runtime by its import name.
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "mmoc_runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    env = dict(os.environ, MYPYPATH=f"{tmp_path / 'stubs'}{os.pathsep}{SUPPORT}")
    typed = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull, *golden_copies],
        check=False, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr


def test_goldens_return_no_any_without_the_runtime(golden_copies: list[str], tmp_path: Path) -> None:
    # Where mypy cannot find mmoc_runtime (a CI lint job without it) every runtime name is
    # Any; the module must still not return Any from a typed function.
    mypy = tool("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed")
    typed = subprocess.run(
        [mypy, "--strict", "--ignore-missing-imports", "--no-site-packages",
         "--no-incremental", "--cache-dir", os.devnull, *golden_copies],
        check=False, capture_output=True, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MYPYPATH"}, timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr


def test_goldens_pass_pyright_strict(golden_copies: list[str], tmp_path: Path) -> None:
    pyright = tool("pyright")
    if pyright is None:
        pytest.skip("pyright is not installed")
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(SUPPORT)]}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    # The pip package fetches pyright itself (node) on first use: without node or a registry
    # there is no pyright to ask, which is not the modules' fault.
    done = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", sys.executable, "-p", str(tmp_path),
         *golden_copies],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright could not run here: {(done.stderr or done.stdout)[-300:]}")
    assert report["summary"]["filesAnalyzed"] == len(golden_copies)
    problems = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
                for d in report["generalDiagnostics"]]
    assert not problems, "\n".join(problems)
