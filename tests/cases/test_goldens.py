"""Golden cases: every folder beside this file gets the same standard checks.

The golden file matches the compiler's output (a mismatch prints a diff; `--update-goldens`
rewrites it); black leaves it unchanged; it imports and runs on the mock provider in a fresh
interpreter with none of the compiler's dependencies loaded; a YAML twin gives the same IR.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import black
import pytest
from codegen_support import case_dirs, run_generated
from mmoc.driver import compile_file, load_path

CASES = case_dirs()
IDS = [d.name for d in CASES]


def _compiled(case: Path) -> str:
    result = compile_file(case / "pipeline.mmo")
    assert result.ok, [f"{d.code}: {d.message}" for d in result.diagnostics]
    assert result.code is not None
    return result.code


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_matches(case: Path, update_goldens: bool) -> None:
    code = _compiled(case)
    expected_path = case / "expected.py"
    if update_goldens:
        expected_path.write_text(code, encoding="utf-8")
    assert expected_path.exists(), f"no golden: run pytest {__file__} --update-goldens"
    expected = expected_path.read_text(encoding="utf-8")
    if code != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                code.splitlines(keepends=True),
                "expected.py",
                "generated",
            )
        )
        pytest.fail(f"golden mismatch for {case.name}:\n{diff}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_is_black_formatted(case: Path) -> None:
    expected = (case / "expected.py").read_text(encoding="utf-8")
    assert black.format_str(expected, mode=black.Mode()) == expected


def test_goldens_are_unchanged_by_ruff_format() -> None:
    from codegen_support import ROOT

    """Users format with black or ruff: the output must be a fixed point of both (ruff with
    its defaults, as in a project that has not configured it)."""
    import shutil
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    command = str(ruff) if ruff.exists() else shutil.which("ruff")
    if command is None:
        pytest.skip("ruff is not installed")
    shipped = sorted((ROOT / "pipelines").glob("*_gen.py"))
    files = [str(case / "expected.py") for case in CASES] + [str(f) for f in shipped]
    done = subprocess.run([command, "format", "--isolated", "--check", "--diff", *files],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_imports_standalone_and_runs_on_mock(case: Path) -> None:
    report = run_generated(case / "expected.py", name=f"golden_{case.name}")
    assert report["banned"] == [], f"compiler modules loaded: {report['banned']}"
    assert report["success"] is True, report["error"]
    statuses = report["statuses"]
    assert isinstance(statuses, dict) and statuses
    assert set(statuses.values()) <= {"success", "skipped"}
    # A case may pin each step's status (which conditions held on the sample inputs).
    expected = case / "statuses.json"
    if expected.exists():
        assert statuses == json.loads(expected.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "case",
    [d for d in CASES if (d / "pipeline.yaml").exists()],
    ids=[d.name for d in CASES if (d / "pipeline.yaml").exists()],
)
def test_yaml_twin_gives_the_same_ir(case: Path) -> None:
    mmo = load_path(case / "pipeline.mmo")
    yaml = load_path(case / "pipeline.yaml")
    assert mmo.pipeline is not None and yaml.pipeline is not None, yaml.diagnostics
    assert yaml.ok, [f"{d.code}: {d.message}" for d in yaml.diagnostics]
    assert yaml.pipeline.model_dump() == mmo.pipeline.model_dump()


def test_goldens_pass_ruff_and_mypy_strict(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from codegen_support import ROOT, SUPPORT

    def tool(name: str) -> str | None:
        local = Path(sys.executable).with_name(name)
        return str(local) if local.exists() else shutil.which(name)

    ruff, mypy = tool("ruff"), tool("mypy")
    if ruff is None or mypy is None:
        pytest.skip("ruff or mypy is not installed")
    # Every golden is called expected.py: copy them under distinct module names for mypy.
    files = []
    for case in CASES:
        copy = tmp_path / f"case_{case.name}.py"
        shutil.copyfile(case / "expected.py", copy)
        files.append(str(copy))
    lint = subprocess.run(
        [ruff, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), *files],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "mmoc_runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    env = dict(os.environ, MYPYPATH=f"{tmp_path / 'stubs'}{os.pathsep}{SUPPORT}")
    typed = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull, *files],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
