"""Benchmarks, run by `make bench`; never part of the test suite's pass/fail."""

from __future__ import annotations

import os


def installed_env() -> dict[str, str]:
    """The environment for timing fresh interpreters as an installed package runs: with
    bytecode caches. pip writes them for what it installs from a wheel; an editable install's
    modules get theirs on first import, unless PYTHONDONTWRITEBYTECODE (which CI images often
    set) forbids it and every run compiles every module from source. The caches land in the
    gitignored __pycache__ folders; run each command once before timing it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
