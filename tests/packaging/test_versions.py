"""One version for both distributions, set in runtime/_version.py; `mmoc` pins its runtime."""

from __future__ import annotations

from importlib.metadata import requires, version

import mmoc
import mmoc_runtime
from support.cli_invoke import invoke


def test_both_distributions_carry_the_one_version() -> None:
    assert mmoc.__version__ == mmoc_runtime.__version__ == mmoc_runtime.RUNTIME_VERSION
    assert version("mmoc") == version("mmoc-runtime") == mmoc_runtime.__version__


def test_mmoc_requires_exactly_its_own_runtime() -> None:
    pins = [r for r in requires("mmoc") or [] if r.startswith("mmoc-runtime") and ";" not in r]
    assert pins == [f"mmoc-runtime=={mmoc_runtime.__version__}"]


def test_mmoc_version_prints_it() -> None:
    code, out, _ = invoke(["--version"])
    assert code == 0 and out.strip() == f"mmoc, version {mmoc_runtime.__version__}"
