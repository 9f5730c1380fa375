"""The VS Code extension's TextMate grammar (editors/vscode/syntaxes/mmo.tmLanguage.json):

- assertion tests (`editors/vscode/tests/*.mmo`, vscode-tmgrammar-test): each construct
  gets its scope (keywords, strings, triple-quoted prompts with `{key}` placeholders,
  durations, comments, model ids);
- snapshot tests over the shipped pipelines (`pipelines/*.mmo`, vscode-tmgrammar-snap): any
  change to how they are highlighted shows as a diff of `editors/vscode/tests/snapshots/`
  (`make goldens` rewrites them).

The tools are npm packages: they run after `npm ci` in editors/vscode (`make editor-tests`);
without them (no node, or not installed) these tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
BIN = VSCODE / "node_modules" / ".bin"
GRAMMAR = VSCODE / "syntaxes" / "mmo.tmLanguage.json"
SNAPSHOTS = VSCODE / "tests" / "snapshots"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (BIN / "vscode-tmgrammar-test").exists(),
    reason="node and editors/vscode's npm packages are not installed (make editor-tests)",
)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_grammar_assertions() -> None:
    done = _run(str(BIN / "vscode-tmgrammar-test"), "-g", str(GRAMMAR), "tests/*.mmo",
                cwd=VSCODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shipped_pipelines_snapshots(tmp_path: Path, update_goldens: bool) -> None:
    for source in sorted((ROOT / "pipelines").glob("*.mmo")):
        shutil.copy(source, tmp_path / source.name)
        snap = SNAPSHOTS / f"{source.name}.snap"
        if snap.exists() and not update_goldens:
            shutil.copy(snap, tmp_path / snap.name)
    args = [str(BIN / "vscode-tmgrammar-snap"), "-g", str(GRAMMAR), "-s", "source.mmo",
            "--config", str(VSCODE / "package.json"), "*.mmo"]
    done = _run(*args, *(["-u"] if update_goldens else []), cwd=tmp_path)
    if update_goldens:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for snap in tmp_path.glob("*.snap"):
            shutil.copy(snap, SNAPSHOTS / snap.name)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = [p.name for p in (ROOT / "pipelines").glob("*.mmo")
               if not (SNAPSHOTS / f"{p.name}.snap").exists()]
    assert not missing, f"no snapshot for {missing}: run make goldens"
