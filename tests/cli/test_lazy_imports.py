"""A fast CLI: the linter commands never import what only `run` and `compile` need.

pre-commit, CI and (soon) an editor run `mmoc check` on every change; Rich, black, jinja2, httpx
and the runtime's executor together cost more than the check itself. Each command runs in a
fresh interpreter here, and the modules it loaded are listed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "pipelines" / "research_and_summarize.mmo"
HEAVY = ("black", "jinja2", "aiohttp", "httpx", "rich", "mmoc_runtime.executor", "mmoc_runtime.providers")

_RUN = """
import json, sys
from mmoc.cli import main
sys.argv = ["mmoc", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY)
print(json.dumps(heavy), file=sys.stderr)
"""


def loaded_heavy_modules(*args: str) -> list[str]:
    code = "HEAVY = " + repr(HEAVY) + _RUN
    done = subprocess.run([sys.executable, "-c", code, json.dumps(list(args))],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    found: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("check", str(SEED)),
        ("check", "--format", "json", str(SEED)),
        ("fmt", "--check", str(SEED)),
        ("convert", str(SEED), "-o", "-"),
        ("explain", "MMO201"),
    ],
    ids=lambda args: " ".join(a if not a.endswith(".mmo") else "SEED" for a in args),
)
def test_linter_commands_do_not_import_what_they_do_not_use(args: tuple[str, ...]) -> None:
    assert loaded_heavy_modules(*args) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # `compile` formats with black and renders with jinja2: the probe must see them.
    heavy = loaded_heavy_modules("compile", str(SEED), "--check")
    assert "black" in heavy and "jinja2" in heavy


def test_run_does_not_format_the_module_it_only_executes() -> None:
    heavy = loaded_heavy_modules("run", str(SEED), "--mock", "-q", "-i", "topic=tea")
    assert "black" not in heavy
    assert "mmoc_runtime.executor" in heavy  # it did run
