"""`python -m bench`: run every benchmark module in turn and print its figures.

Each figure is a ratio against a baseline measured in the same run, so the numbers compare
across machines; absolute times are printed beside them for context only.
"""

from __future__ import annotations

import importlib
import sys

MODULES = ("bench_runtime", "bench_check", "bench_compile", "bench_providers")


def main() -> int:
    failed = 0
    for name in MODULES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            continue
        print(f"\n=== {name} ===", flush=True)
        try:
            module.main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed += 1
            print(f"{name} failed: {exc!r}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
