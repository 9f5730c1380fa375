"""`python -m bench`: run every benchmark module in turn and print its figures.

Each figure is a ratio against a baseline measured in the same run, so the numbers compare
across machines; absolute times are printed beside them for context only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    bench_batch,
    bench_check,
    bench_cli,
    bench_compile,
    bench_hostile,
    bench_http,
    bench_lsp,
    bench_map,
    bench_providers,
    bench_runtime,
    bench_stream,
)

MODULES: tuple[tuple[str, Callable[[], object]], ...] = (
    ("bench_runtime", bench_runtime.main),
    ("bench_check", bench_check.main),
    ("bench_compile", bench_compile.main),
    ("bench_hostile", bench_hostile.main),
    ("bench_cli", bench_cli.main),
    ("bench_providers", bench_providers.main),
    ("bench_http", bench_http.main),
    ("bench_stream", bench_stream.main),
    ("bench_map", bench_map.main),
    ("bench_batch", bench_batch.main),
    ("bench_lsp", bench_lsp.main),
)


def main() -> int:
    failed = 0
    for name, run_benchmark in MODULES:
        print(f"\n=== {name} ===", flush=True)
        try:
            run_benchmark()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed += 1
            print(f"{name} failed: {exc!r}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
