"""Hostile sources through a whole `mmoc check` process, against a 3 s target each.

`python -m bench.bench_hostile`. Each case is generated here (nothing large is committed):
thousands of duplicate names, a 10,000-step cycle, 10,000 unused inputs, 10,000 distinct
unknown placeholders on one line, 10,000 misses that each want a "did you mean", a 10 MB
string and a 10 MB line (over the 1 MiB source limit, so refused at once), and a string and
a line just under the limit. Every check, the renderer
and the "did you mean" searches must stay linear; a case that takes more than TARGET
seconds is marked SLOW. A case whose source checks without errors is also compiled.

Wall-clock times of a fresh process (startup and imports included), so the figures are
what a user waits; the CPU column is the child's user+system time, steadier on a shared
machine. Bytes printed are bounded by the renderer (long lines clipped, repeats capped).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET = 3.0  # seconds, per case and command
TIMEOUT = 300  # a case that takes longer is reported as a timeout, not waited for
MIB = 1 << 20


def duplicate_step_names_yaml(n: int = 20_000) -> str:
    """n YAML steps all named `same` (flow style, so 20,000 fit under 1 MiB)."""
    steps = "".join("  - {name: same, model: mock/m, prompt: p}\n" for _ in range(n))
    return "name: dup\nsteps:\n" + steps


def duplicate_name_keys_yaml(n: int = 20_000) -> str:
    """One step mapping with its `name:` key written n times."""
    names = "".join(f"    name: s{i}\n" for i in range(n))
    return "name: dup\nsteps:\n  - model: mock/m\n    prompt: p\n" + names


def duplicate_step_names_mmo(n: int = 20_000) -> str:
    steps = "".join(f'  step same = llm mock/m {{ prompt "p" }} -> k{i}\n' for i in range(n))
    return "pipeline dup {\n" + steps + "}\n"


def cycle_mmo(n: int = 10_000) -> str:
    """s0 reads s1's output, s1 reads s2's, ..., the last reads s0's: one n-step cycle."""
    steps = "".join(
        f'  step s{i} = llm mock/m {{ prompt "{{k{(i + 1) % n}}}" }} -> k{i}\n' for i in range(n)
    )
    return "pipeline cycle {\n" + steps + "}\n"


def unused_inputs_mmo(n: int = 10_000) -> str:
    inputs = "".join(f"  input i{i}\n" for i in range(n))
    return "pipeline unused {\n" + inputs + '  step a = llm mock/m { prompt "hi" } -> k\n}\n'


def unknown_placeholders_mmo(n: int = 10_000) -> str:
    """n distinct placeholders that name nothing, all on one prompt line."""
    placeholders = " ".join(f"{{u{i}}}" for i in range(n))
    return (
        "pipeline unknown {\n  input topic\n"
        f'  step a = llm mock/m {{ prompt "{{topic}} {placeholders}" }} -> k\n}}\n'
    )


def unknown_after_mmo(n: int = 10_000) -> str:
    """n steps each running after a step that does not exist: n "did you mean" searches
    among n step names."""
    steps = "".join(
        f'  step s{i} = llm mock/m {{ prompt "p"\n    after missing{i}\n  }} -> k{i}\n'
        for i in range(n)
    )
    return "pipeline after {\n" + steps + "}\n"


def unproduced_outputs_mmo(n: int = 10_000) -> str:
    """n declared outputs no step produces, among n produced keys."""
    outputs = "".join(f"  output wanted_{i}\n" for i in range(n))
    steps = "".join(f'  step s{i} = llm mock/m {{ prompt "p" }} -> made_{i}\n' for i in range(n))
    return "pipeline outputs {\n" + outputs + steps + "}\n"


def long_string_mmo(size: int) -> str:
    """A triple-quoted prompt of about `size` characters, in indented lines of 80 (the file
    is about 6% larger than `size`)."""
    body = "word " * (size // 5)
    lines = "\n".join("    " + body[i : i + 80] for i in range(0, len(body), 80))
    return f'pipeline big {{\n  step a = llm mock/m {{\n    prompt """\n{lines}\n    """\n  }} -> k\n}}\n'


def long_line_mmo(size: int) -> str:
    """The whole pipeline on one line, its prompt `size` characters long."""
    return f'pipeline big {{ step a = llm mock/m {{ prompt "{"x" * size}" }} -> k }}\n'


CASES: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("20,000 steps named alike (YAML)", ".yaml", duplicate_step_names_yaml),
    ("20,000 `name:` keys in one step (YAML)", ".yaml", duplicate_name_keys_yaml),
    ("20,000 steps named alike (.mmo)", ".mmo", duplicate_step_names_mmo),
    ("10,000-step cycle", ".mmo", cycle_mmo),
    ("10,000 unused inputs", ".mmo", unused_inputs_mmo),
    ("10,000 unknown placeholders, one line", ".mmo", unknown_placeholders_mmo),
    ("10,000 unknown `after` targets", ".mmo", unknown_after_mmo),
    ("10,000 outputs nothing produces", ".mmo", unproduced_outputs_mmo),
    ("10 MB string in a prompt", ".mmo", lambda: long_string_mmo(10_000_000)),
    ("10 MB single line", ".mmo", lambda: long_line_mmo(10_000_000)),
    # Just under the 1 MiB source limit, so these go through the whole front end and checks.
    ("1 MB string in a prompt", ".mmo", lambda: long_string_mmo(950_000)),
    ("1 MB single line", ".mmo", lambda: long_line_mmo(MIB - 4096)),
)


def run_mmoc(args: list[str]) -> tuple[float, float, int, int | None]:
    """(wall seconds, child CPU seconds, bytes on stdout, exit code or None on timeout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mmoc", *args],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,  # exit 1 (problems found) is what most cases expect
        )
    except subprocess.TimeoutExpired as exc:
        return time.perf_counter() - start, float("nan"), len(exc.stdout or b""), None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(proc.stdout), proc.returncode


def _verdict(wall: float, code: int | None) -> str:
    if code is None:
        return f"TIMEOUT (>{TIMEOUT}s)"
    if code not in (0, 1):
        return f"exit {code}"
    return "ok" if wall <= TARGET else "SLOW"


def main() -> int:
    print(f"{'case':<40} {'size':>9} {'command':>8} {'wall':>7} {'cpu':>7} {'printed':>10}  "
          f"verdict (target {TARGET:g} s)")
    slow = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, suffix, generate) in enumerate(CASES):
            source = Path(tmp) / f"case{i}{suffix}"
            source.write_text(generate(), encoding="utf-8")
            size = source.stat().st_size
            wall, cpu, printed, code = run_mmoc(["check", str(source)])
            commands = [("check", wall, cpu, printed, code)]
            if code == 0:  # no errors (warnings allowed): compile it too
                out = Path(tmp) / f"case{i}_gen.py"
                commands.append(("compile", *run_mmoc(["compile", str(source), "-o", str(out)])))
            for command, c_wall, c_cpu, c_printed, c_code in commands:
                verdict = _verdict(c_wall, c_code)
                slow += verdict != "ok"
                print(f"{label if command == 'check' else '':<40} {size / 1000:>7.0f}kB "
                      f"{command:>8} {c_wall:>6.2f}s {c_cpu:>6.2f}s {c_printed / 1000:>8.1f}kB  "
                      f"{verdict}", flush=True)
    print("all within target" if not slow else f"{slow} over target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
