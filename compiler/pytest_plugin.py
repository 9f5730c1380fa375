"""The pytest plugin (entry point `pytest11: mmoc`): pipelines' `test` blocks as pytest items.

Opt-in, so installing mmoc never changes a project's own test run: collection starts only with
`pytest --mmoc` or `mmoc_tests = true` in the pytest configuration. Then every `.mmo` file with
a `test` block, and every pipeline YAML file with a top-level `tests:` list (not when a `.mmo`
twin of the same stem sits beside it), under the paths pytest collects, gives one item per
test, named `path::test_name`, so `-k`, `-x`, `--junitxml` and the usual reporting apply.

`--mmoc-mode mock|replay|record|live` (default mock) and `--mmoc-cassette PATH` say where model
calls are answered from, as `mmoc test --mock/--replay/--record/--live` do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TAPE = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mmoc", "mmoc pipeline tests")
    group.addoption("--mmoc", action="store_true", default=None,
                    help="Collect the `test` blocks of .mmo (and pipeline YAML) files.")
    group.addoption("--mmoc-mode", choices=("mock", "replay", "record", "live"), default="mock",
                    help="Where model calls are answered from (default: mock).")
    group.addoption("--mmoc-cassette", metavar="PATH", default=None,
                    help="The cassette of --mmoc-mode replay or record.")
    parser.addini("mmoc_tests", "Collect the `test` blocks of pipelines (as --mmoc does).",
                  type="bool", default=False)


def _enabled(config: pytest.Config) -> bool:
    flag = config.getoption("--mmoc")
    return bool(flag) if flag is not None else bool(config.getini("mmoc_tests"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _enabled(parent.config):
        return None  # and nothing of mmoc imported: a project's own run pays nothing
    from .driver import MMO_SUFFIXES, SOURCE_SUFFIXES
    from .testing.collect import has_tests

    if file_path.suffix not in SOURCE_SUFFIXES:
        return None

    twin = file_path.suffix not in MMO_SUFFIXES and file_path.with_suffix(".mmo").exists()
    if twin or not has_tests(file_path):
        return None
    return PipelineFile.from_parent(parent, path=file_path)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the project's model prices, check the mode's options and open its cassette,
    once, before anything is collected."""
    if not _enabled(config):
        return
    from mmoc_runtime.pricing import declare_prices

    from .config import ConfigError as ProjectConfigError
    from .config import load_config

    try:
        declare_prices(load_config(config.rootpath).prices())
    except ProjectConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    kind = config.getoption("--mmoc-mode", "mock")
    if kind not in ("replay", "record"):
        return
    from mmoc_runtime.cassette import Cassette
    from mmoc_runtime.errors import ConfigError

    path = config.getoption("--mmoc-cassette")
    if path is None:
        raise pytest.UsageError(f"--mmoc-mode {kind} needs --mmoc-cassette PATH")
    try:
        config.stash[_TAPE] = Cassette(path, kind).open()
    except ConfigError as exc:
        raise pytest.UsageError(f"--mmoc-cassette {path}: {exc}") from None


def _mode(config: pytest.Config) -> Any:
    """The session's `Mode`, with the cassette `pytest_configure` opened."""
    from .testing.runner import Mode

    return Mode(config.getoption("--mmoc-mode"), config.stash.get(_TAPE, None))


class PipelineFile(pytest.File):
    """A pipeline source: one item per test, or one failing item when it does not compile."""

    def collect(self) -> Iterator[pytest.Item]:
        from .testing.collect import load_tests

        try:
            shown = self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            shown = self.path.as_posix()
        loaded = load_tests(self.path, display=shown)
        if any(d.is_error for d in loaded.diagnostics) or loaded.module is None:
            if loaded.diagnostics:
                yield PipelineErrorItem.from_parent(self, name="compile", loaded=loaded)
            return
        for test in loaded.tests:
            yield PipelineTestItem.from_parent(self, name=test.name, loaded=loaded, test=test)


class PipelineTestItem(pytest.Item):
    """One `test` block, run as `mmoc test` runs it."""

    def __init__(self, *, loaded: Any, test: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Plugins written for function items read `funcargs` (pytest-lsp's runtest wrapper
        # gives up, failing the test, on an item without it): these items take no fixtures.
        self.funcargs: dict[str, Any] = {}
        self.loaded = loaded
        self.test = test

    def runtest(self) -> None:
        from .modules import import_path, source_import_path
        from .testing.runner import PASSED, run_test

        mode = _mode(self.config)
        with import_path(source_import_path(self.path)):
            result = asyncio.run(run_test(self.loaded, self.test, mode, mode.options()))
        if result.status != PASSED:
            raise PipelineTestFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, PipelineTestFailed):
            from .testing.report import failure_lines

            return "\n".join(failure_lines(excinfo.value.result)[1:])
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.test.span.line - 1 if self.test.span is not None else None
        return self.path, line, f"mmoc test {self.test.name}"


class PipelineErrorItem(pytest.Item):
    """A pipeline that does not compile: its diagnostics, as `mmoc check` prints them."""

    def __init__(self, *, loaded: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.funcargs: dict[str, Any] = {}  # as PipelineTestItem's
        self.loaded = loaded

    def runtest(self) -> None:
        from .diagnostics.render import render_text

        sources = {self.loaded.display: self.loaded.text or ""}
        raise PipelineCompileFailed(render_text(self.loaded.diagnostics, sources))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"mmoc compile {self.loaded.display}"


class PipelineTestFailed(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__(result.test_id)
        self.result = result


class PipelineCompileFailed(Exception):
    """The rendered diagnostics of a pipeline that does not compile."""
