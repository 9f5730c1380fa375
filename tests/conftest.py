"""Project-wide pytest setup: the one `--update-goldens` flag.

Golden files (the modules of `tests/cases/` and `pipelines/`, the rendered diagnostics of
`tests/diagnostics/`, and `docs/diagnostics.md`) are compared by `support.goldens`; with
`--update-goldens` (`make goldens`) they are rewritten instead. Shared helpers live in
`tests/support/`, importable as `support` (pyproject's `pythonpath`).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite every golden file (modules, rendered diagnostics, docs/diagnostics.md) "
        "instead of comparing",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
