"""mmoc-runtime declares aiohttp as its one dependency: its code imports nothing else outside
the standard library, but for two optional, guarded imports (the `otel` extra in otel.py, and
Rich for the seed's `PipelineObserver.print_result`). An adapter that imported another client
(httpx, say) would pass every test in the dev environment and fail in production."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
# Import names of the dependencies runtime/pyproject.toml declares (each imports as its name).
DECLARED = {
    re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].replace("-", "_")
    for requirement in tomllib.loads((RUNTIME / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
}
OPTIONAL = {"otel.py": {"opentelemetry"}, "observer.py": {"rich"},
            # the `ray` extra, imported only by the Ray backend
            "ray_batch.py": {"ray"}, "ray_limits.py": {"ray"}}


def third_party_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"mmoc_runtime"}
    return found


def test_the_runtime_imports_only_what_it_declares() -> None:
    undeclared = {}
    for path in sorted(RUNTIME.rglob("*.py")):
        if "build" in path.relative_to(RUNTIME).parts:  # the editable link tree
            continue
        extra = third_party_imports(path) - DECLARED - OPTIONAL.get(path.name, set())
        if extra:
            undeclared[str(path.relative_to(RUNTIME))] = sorted(extra)
    assert undeclared == {}
