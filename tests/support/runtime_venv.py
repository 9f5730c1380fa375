"""A virtual environment with the `mmoc-runtime` wheel installed alone: what production has.

Used by tests/packaging (it runs the shipped modules there) and bench/bench_http.py (import
time there). The wheel is built from a clean copy of runtime/, so nothing is written in the
tree; its dependencies come from the package index or pip's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (bounded by `timeout`); it must succeed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def runtime_wheel(tmp: Path) -> Path:
    """The mmoc-runtime wheel, built with the running interpreter's setuptools."""
    source = tmp / "runtime-src"
    shutil.copytree(ROOT / "runtime", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    wheelhouse = tmp / "wheelhouse"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", wheelhouse, source], cwd=tmp)
    (wheel,) = wheelhouse.glob("mmoc_runtime-*.whl")
    return wheel


def pip_for(python: Path) -> list[str | Path]:
    """The running interpreter's pip, acting on the environment of `python` (which has none)."""
    return [sys.executable, "-m", "pip", "--python", python]


def runtime_only_venv(tmp: Path) -> Path:
    """A fresh venv under `tmp` holding the mmoc-runtime wheel and its dependencies only; its
    python."""
    wheel = runtime_wheel(tmp)
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, timeout=120)
    python = venv / "bin" / "python"
    run([*pip_for(python), "install", "-q", wheel], cwd=tmp)
    return python
