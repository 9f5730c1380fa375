"""Where things are, the tools tests run, and running a generated module the way an app
would: in a fresh interpreter, with none of the compiler's dependencies loaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "cases"
SUPPORT = CASES / "_support"
PIPELINES = ROOT / "pipelines"

# Modules a generated module must run without: the compiler and its dependencies.
COMPILER_MODULES = ("mmoc", "lark", "jinja2", "black", "pydantic", "yaml", "click", "rich")


def tool(name: str) -> str | None:
    """The command `name` (ruff, mypy, black) from this interpreter's environment, else PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else shutil.which(name)


# Imports a generated module from a file by path, runs it on the mock provider with sample
# inputs (one per declared type), and reports what was loaded, as one JSON line.
_RUNNER = r"""
import asyncio, importlib.util, json, sys
path, name = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
banned = [m for m in sys.modules if m.split(".")[0] in BANNED]
samples = {"str": "sample text", "int": 2, "float": 1.5, "bool": True, "json": {"k": [1]},
           "list[str]": ["one", "two"], "list[int]": [1, 2], "list[json]": [{"k": 1}, [2]]}
inputs = {i.name: samples[i.type] for i in module.PIPELINE.inputs if i.required}
result = asyncio.run(module.run_result(inputs, mock=True))
statuses = {s.name: s.status for s in result.trace.steps}
print(json.dumps({"banned": banned, "success": result.success, "error": result.error,
                  "outputs": result.outputs, "statuses": statuses}, default=str))
"""


def run_generated(path: Path, name: str = "generated_case") -> dict[str, object]:
    """Import and run a generated module in a fresh interpreter; its report as a dict."""
    code = _RUNNER.replace("BANNED", repr(COMPILER_MODULES))
    env = dict(os.environ, PYTHONPATH=str(SUPPORT), PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), name],
        check=False,
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report
