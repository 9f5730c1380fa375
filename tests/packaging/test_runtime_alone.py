"""`mmoc-runtime` installed alone runs every shipped generated module (issue 11).

One test, bounded (every subprocess has a timeout): build the mmoc-runtime wheel and install
only it in a fresh virtual environment (`support.runtime_venv`), then in that environment:

- run every `pipelines/*_gen.py` as a script with `--mock` (beside the other modules of
  pipelines/, such as transforms, which a module may import) and an `--input` for each
  required input;
- `pip check` is clean;
- none of the compiler's dependencies, nor the compiler, is importable.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from support.runtime_venv import pip_for, run, runtime_only_venv

ROOT = Path(__file__).resolve().parents[2]
COMPILER_ONLY = ("lark", "jinja2", "black", "pydantic", "yaml", "click", "rich", "mmoc")
SAMPLE = {"str": "tides", "int": "3", "float": "1.5", "bool": "true", "json": "{}"}
MODULES = sorted((ROOT / "pipelines").glob("*_gen.py"))

pytestmark = pytest.mark.packaging


def required_inputs(module: Path) -> list[str]:
    """`--input NAME=VALUE` for each input the module requires, read from its PIPELINE."""
    spec = importlib.util.spec_from_file_location(f"_shipped_{module.stem}", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    args: list[str] = []
    for wanted in loaded.PIPELINE.inputs:
        if wanted.required:
            args += ["--input", f"{wanted.name}={SAMPLE[wanted.type]}"]
    return args


def test_the_runtime_wheel_alone_runs_every_shipped_module(tmp_path: Path) -> None:
    assert MODULES, "no pipelines/*_gen.py to run"
    python = runtime_only_venv(tmp_path)
    pip = pip_for(python)

    app = tmp_path / "app"  # the shipped modules and what they import, as an app checks them in
    app.mkdir()
    for module in (ROOT / "pipelines").glob("*.py"):
        shutil.copy(module, app / module.name)
    for module in MODULES:
        done = run([python, module.name, "--mock", *required_inputs(module)], cwd=app,
                   timeout=120)
        assert done.stdout.strip(), f"{module.name} printed no outputs"

    assert "No broken requirements" in run([*pip, "check"], cwd=tmp_path).stdout
    probe = ("import importlib.util as u, sys; "
             f"print(sorted(m for m in {COMPILER_ONLY!r} if u.find_spec(m)))")
    assert run([python, "-c", probe], cwd=app).stdout.strip() == "[]"
    # The one distribution installed beside its dependencies is the runtime: never mmoc.
    listed = run([*pip, "list", "--format", "freeze"], cwd=tmp_path).stdout.lower()
    assert "mmoc-runtime==" in listed and "\nmmoc==" not in "\n" + listed
