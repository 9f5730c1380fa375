"""Parse + check time for generated pipelines of 100, 1,000 and 10,000 steps.

`python -m bench.bench_check`. Checking must stay linear: 10x the steps should cost at most
about 12x the time. Each figure is the best of three runs, measured in this process; the
ratios between sizes are what compare across machines.

Times are CPU time of this process (`time.process_time`), not wall-clock: on a shared
machine a run longer than a scheduler slice gets preempted by other processes, which
inflates wall-clock ratios between small and large pipelines without any extra work done.

A baseline measured in the same run calibrates the memory hierarchy: one plain pass over
the IR that reads each step's fields (nothing but attribute reads and a dict insert). A
10,000-step IR no longer fits the CPU caches, so even that pass costs more than 10x the
1,000-step one; the "normalized" ratio divides the checks' ratio by the baseline's, which
is the part an algorithm could be blamed for.
"""

from __future__ import annotations

import itertools
import time

from mmoc import ir
from mmoc.checks import run_checks
from mmoc.driver import load_text

SIZES = (100, 1_000, 10_000)
REPEATS = 3
LINEAR_LIMIT = 12.0


def generate(n: int) -> str:
    """A valid pipeline: a chain where each step also reads an earlier step's output,
    with a policy, a fallback, a condition and a transform sprinkled in."""
    lines = [
        f"pipeline bench_{n} {{",
        "  input topic: str",
        f"  output out_{n - 1}",
        "  retry patient = exponential(max_retries: 3, base: 1s, max: 30s, jitter: full)",
        "",
    ]
    for i in range(n):
        reads = "{topic}" if i == 0 else f"{{out_{i - 1}}} and {{out_{i // 2}}}"
        if i % 10 == 9:
            lines.append(f"  step s{i} = transform upper(out_{i - 1}) -> out_{i}")
            continue
        lines.append(f"  step s{i} = llm openai/gpt-4o-mini {{")
        lines.append(f'    prompt "Step {i}: work on {reads}"')
        if i % 7 == 3:
            lines.append("    retry patient")
            lines.append("    fallback [anthropic/claude-haiku-4-5]")
        lines.append(f"  }} -> out_{i}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _best(fn: object, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def touch(pipeline: ir.Pipeline) -> dict[str, str]:
    """The baseline: one linear pass reading every step's fields."""
    seen: dict[str, str] = {}
    for step in pipeline.all_steps():
        seen[step.name] = f"{step.output_key}{step.after}{step.when}{step.timeout}"
        if isinstance(step, ir.LlmStep):
            seen[step.name] += step.prompt.value + step.model.id
    return seen


def measure(n: int) -> tuple[float, float, float]:
    """(parse+check, check only, baseline pass) seconds for a pipeline of n steps."""
    text = generate(n)
    loaded = load_text(text, f"bench_{n}.mmo", ".mmo")
    if loaded.pipeline is None or not loaded.ok:
        problems = "; ".join(d.message for d in loaded.diagnostics[:3])
        raise RuntimeError(f"generated pipeline of {n} steps does not check clean: {problems}")
    pipeline = loaded.pipeline
    total = _best(lambda: load_text(text, f"bench_{n}.mmo", ".mmo"))
    checks = _best(lambda: run_checks(pipeline))
    # The baseline is short, so noisier: more repeats, five passes per timing.
    baseline = _best(lambda: [touch(pipeline) for _ in range(5)], repeats=7) / 5
    return total, checks, baseline


def main() -> None:
    results = {n: measure(n) for n in SIZES}
    print(f"{'steps':>8} {'parse+check':>12} {'check only':>11} {'baseline':>9} "
          f"{'per step':>10}")
    for n, (total, checks, baseline) in results.items():
        print(f"{n:>8} {total * 1000:>10.1f}ms {checks * 1000:>9.1f}ms "
              f"{baseline * 1000:>7.2f}ms {total / n * 1e6:>8.1f}us")
    for label, index in (("parse+check", 0), ("check only", 1), ("baseline pass", 2)):
        ratios = []
        for small, big in itertools.pairwise(SIZES):
            ratio = results[big][index] / results[small][index]
            ratios.append(f"{big // small}x steps -> {ratio:.1f}x time ({small}->{big})")
        hundred = results[SIZES[-1]][index] / results[SIZES[0]][index]
        ratios.append(f"100x steps -> {hundred:.1f}x time")
        print(f"{label}: " + "; ".join(ratios))
    worst = max(results[b][0] / results[a][0] for a, b in itertools.pairwise(SIZES))
    normalized = max(
        10 * (results[b][i] / results[a][i]) / (results[b][2] / results[a][2])
        for a, b in itertools.pairwise(SIZES)
        for i in (0, 1)
    )
    verdict = "linear" if normalized <= LINEAR_LIMIT else "NOT linear"
    print(f"worst raw 10x ratio {worst:.1f}; worst 10x ratio normalized by the baseline "
          f"{normalized:.1f} (limit ~{LINEAR_LIMIT:g}): {verdict}")


if __name__ == "__main__":
    main()
