"""Benchmarks, run by `make bench`; never part of the test suite's pass/fail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def installed_env() -> dict[str, str]:
    """The environment for timing fresh interpreters as an installed package runs: with
    bytecode caches. pip writes them for what it installs from a wheel; an editable install's
    modules get theirs on first import, unless PYTHONDONTWRITEBYTECODE (which CI images often
    set) forbids it and every run compiles every module from source. The caches land in the
    gitignored __pycache__ folders; run each command once before timing it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@contextmanager
def loopback_server(script: str, *args: str) -> Iterator[str]:
    """Run `script` (Python that serves on a loopback port and prints it) with `args`, and
    point the OpenAI-compatible provider at it (`OPENAI_BASE_URL`, a bench key); yield its
    base URL. Afterwards the server stops and the environment is as it was."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    base = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
    saved = {k: os.environ.get(k) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    os.environ["OPENAI_BASE_URL"] = base + "/v1"
    os.environ["OPENAI_API_KEY"] = "bench-key"
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
