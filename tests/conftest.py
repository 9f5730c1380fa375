"""Project-wide pytest setup: the `--update-goldens` flag and the golden cases' support path.

`--update-goldens` makes golden tests rewrite their expected files instead of comparing
(`make goldens`). `tests/cases/_support` holds a tiny importable package of transform
functions that golden cases name by import path; it goes on `sys.path` here, and golden
tests put it on `PYTHONPATH` for the subprocesses they start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SUPPORT_DIR = Path(__file__).parent / "cases" / "_support"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden expected files (tests/cases/*/expected.py) instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    if str(SUPPORT_DIR) not in sys.path:
        sys.path.insert(0, str(SUPPORT_DIR))


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
