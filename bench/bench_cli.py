"""Whole-process CLI latency: what pre-commit, CI and an editor pay on every call.

    python -m bench.bench_cli           (from the project root; `make bench` runs it too)

Each command runs in a fresh interpreter through the installed `mmoc` script, several times;
the median wall time is reported against its target and against `python -c pass` measured in
the same run (the interpreter's own start-up, a floor no command can beat):

- `mmoc --version`                         target <= 0.10 s
- `mmoc check` of one shipped pipeline     target <= 0.25 s
- `mmoc check` of 100 pipelines at once    target <= 1.5 s
- `mmoc compile` of one pipeline           target <= 0.5 s
- `import mmoc_runtime`, and of a shipped generated module, in an interpreter that has
  imported asyncio (as every caller of the runtime has)   target < 20 ms

Wall time on a shared machine also counts other processes: run it on a quiet machine. Every
command runs once untimed first, with bytecode caches allowed (`bench.installed_env`), so the
figures are those of an installed mmoc, not of compiling its sources on every call.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import installed_env

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "pipelines" / "research_and_summarize.mmo"
REPEATS = 11


def _mmoc() -> list[str]:
    script = Path(sys.executable).with_name("mmoc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mmoc"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_times(command: list[str], repeats: int = REPEATS) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `command`. CPU time (user + system of the child) is what
    the command itself costs; wall time also counts waiting for a core on a busy machine."""
    walls, cpus = [], []
    env = installed_env()
    subprocess.run(command, check=False, capture_output=True, cwd=ROOT, timeout=120, env=env)
    for _ in range(repeats):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True, cwd=ROOT, timeout=120, env=env)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def import_over_asyncio(module: str, repeats: int = REPEATS) -> float:
    """Median seconds `import module` adds in a fresh interpreter that has imported asyncio,
    run from pipelines/ where the generated modules are."""
    code = ("import asyncio, time; t = time.perf_counter(); "
            f"import {module}; print(time.perf_counter() - t)")
    env = installed_env()
    samples = []
    for _ in range(repeats + 1):  # the first writes the bytecode caches
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                              text=True, timeout=60, cwd=ROOT / "pipelines", env=env)
        samples.append(float(done.stdout))
    return statistics.median(samples[1:])


def main() -> None:
    mmoc = _mmoc()
    floor, floor_cpu = median_times([sys.executable, "-c", "pass"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        many = []
        for i in range(100):
            copy = folder / f"p{i:03}.mmo"
            shutil.copyfile(SEED, copy)
            many.append(str(copy))
        rows = [
            ("mmoc --version", [*mmoc, "--version"], 0.10),
            ("mmoc check (1 pipeline)", [*mmoc, "check", str(SEED)], 0.25),
            ("mmoc check (100 pipelines)", [*mmoc, "check", *many], 1.5),
            ("mmoc compile (1 pipeline)",
             [*mmoc, "compile", str(SEED), "-o", str(folder / "out_gen.py")], 0.5),
        ]
        print(f"{'command':28} {'wall':>7} {'cpu':>7} {'target':>7}   wall over `python -c pass`")
        print(f"{'python -c pass':28} {floor:7.3f} {floor_cpu:7.3f}")
        for label, command, target in rows:
            wall, cpu = median_times(command)
            mark = "ok" if wall <= target else "MISSED"
            print(f"{label:28} {wall:7.3f} {cpu:7.3f} {target:7.2f}   {wall - floor:.3f} s  {mark}")
    for what, module in (("import mmoc_runtime", "mmoc_runtime"),
                         ("import a generated module", "research_and_summarize_gen")):
        added = import_over_asyncio(module) * 1000
        mark = "ok" if added < 20 else "MISSED"
        print(f"{what} over import asyncio: {added:.1f} ms (target < 20 ms)  {mark}")

if __name__ == "__main__":
    main()
