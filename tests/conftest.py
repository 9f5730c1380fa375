"""Project-wide pytest setup: the one `--update-goldens` flag.

Golden files (the modules of `tests/cases/` and `pipelines/`, the rendered diagnostics of
`tests/diagnostics/`, and `docs/diagnostics.md`) are compared by `support.goldens`; with
`--update-goldens` (`make goldens`) they are rewritten instead. Shared helpers live in
`tests/support/`, importable as `support` (pyproject's `pythonpath`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run of the suite: a red CI is a change's
# doing, never an unlucky draw. With MMOC_FUZZ_EXAMPLES set (`make fuzz`, or by hand around
# any test folder) they draw at random, to find what the fixed draws do not.
settings.register_profile("suite", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("MMOC_FUZZ_EXAMPLES") else "suite")


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


@pytest.fixture(autouse=True, scope="session")
def _private_response_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runs whose steps cache (and the processes tests start) keep their response cache in a
    folder of this session, never in the user's (`mmoc_runtime.response_cache`)."""
    folder: Path = tmp_path_factory.mktemp("response-cache")
    before = os.environ.get("MMOC_CACHE_DIR")
    os.environ["MMOC_CACHE_DIR"] = str(folder)
    yield
    if before is None:
        os.environ.pop("MMOC_CACHE_DIR", None)
    else:
        os.environ["MMOC_CACHE_DIR"] = before
