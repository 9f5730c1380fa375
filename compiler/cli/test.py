"""`mmoc test [PATHS]`: run the pipelines' `test` blocks (docs/testing.md).

Every test found under PATHS (default: the current folder) runs concurrently, each as one run
of its pipeline compiled in memory. Where model calls are answered from: `--mock` (the
default: the mock provider, no keys), `--replay CASSETTE` (recorded exchanges; no network, no
keys), `--record CASSETTE` (the real providers, every exchange saved) or `--live`.

Exit codes: 0 every test passed; 1 a test failed or a pipeline has errors; 2 usage errors
(a bad option, an unreadable cassette, a missing API key for --live/--record, no tests found)
and internal failures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

from .common import guard


class TestAbort(Exception):
    """Stop with `message` and exit `code`."""

    __test__ = False

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _mode(mock: bool, replay: str | None, record: str | None, live: bool) -> Any:
    """The `Mode` the flags ask for; more than one is a usage error."""
    from ..testing.runner import Mode

    chosen = [name for name, on in (("--mock", mock), ("--replay", replay is not None),
                                    ("--record", record is not None), ("--live", live)) if on]
    if len(chosen) > 1:
        raise TestAbort(2, f"choose one of {', '.join(chosen)}")
    if replay is not None or record is not None:
        from mmoc_runtime.cassette import RECORD, REPLAY, Cassette
        from mmoc_runtime.errors import ConfigError

        path, kind = (replay, REPLAY) if replay is not None else (record, RECORD)
        assert path is not None
        try:
            tape = Cassette(path, kind).open()
        except ConfigError as exc:
            raise TestAbort(2, f"cassette {path}: {exc}") from None
        return Mode(kind, tape)
    return Mode("live" if live else "mock")


def _check_keys(files: list[Any], kind: str) -> None:
    """Live and recording runs call the real providers: every key must be set first."""
    if kind not in ("live", "record"):
        return
    from mmoc_runtime.providers.credentials import missing_credentials

    from ..testing.runner import judge_models
    from .run import spec_model_ids

    problems: list[tuple[str, str]] = []
    for f in files:
        if f.module is not None and f.tests:
            spec = f.module.PIPELINE
            problems += missing_credentials(spec_model_ids(spec) + judge_models([f]),
                                            spec.endpoints)
    if problems:
        lines = [f"no API key for {model}: set {env}" for model, env in dict.fromkeys(problems)]
        lines.append("or run with --mock, or --replay a cassette")
        raise TestAbort(2, "\n".join(lines))


def run_command(paths: tuple[Path, ...], mode_flags: tuple[bool, str | None, str | None, bool],
                pattern: str | None, fmt: str, junit_xml: str | None, jobs: int,
                err: Console) -> int:
    from mmoc_runtime.pricing import declare_prices

    from ..checks.models import declared_models
    from ..modules import import_path, source_import_path
    from ..testing.collect import load_tests, source_files
    from ..testing.report import json_report, junit_report, text_report
    from ..testing.runner import run_tests
    from ..testing.select import PatternError, check_pattern
    from .common import has_internal_error, print_report
    from .project import project_config

    if pattern is not None:
        try:
            check_pattern(pattern)
        except PatternError as exc:
            raise TestAbort(2, str(exc)) from None
    mode = _mode(*mode_flags)
    for path in paths:
        if not path.exists():
            raise TestAbort(2, f"{path}: no such file or folder")
    started = time.perf_counter()
    config = project_config()  # as `mmoc check` and `mmoc run` apply it
    with declared_models(config):
        files = [load_tests(p, pattern) for p in source_files(paths or (Path("."),))]
    for f in files:
        f.diagnostics = config.filter(f.diagnostics)
    diagnostics = [d for f in files for d in f.diagnostics]
    if diagnostics:
        sources = {f.display: f.text for f in files if f.text is not None}
        print_report(diagnostics, err, len(files), sources=sources)
    if has_internal_error(diagnostics):
        return 2
    broken = [f for f in files if any(d.is_error for d in f.diagnostics)]
    runnable = [f for f in files if f.ok and f.tests]
    if not runnable and not broken:
        shown = " ".join(str(p) for p in paths) or "."
        raise TestAbort(2, f"no tests found in {shown}" + (f" matching -k {pattern!r}"
                                                          if pattern else ""))
    _check_keys(runnable, mode.kind)
    declare_prices(config.prices())  # cost expectations at the declared prices
    # As `mmoc run` does: transforms import from their pipeline's folder during the run too.
    folders = [entry for f in runnable for entry in source_import_path(f.path)]
    with import_path(folders):
        results = run_tests(runnable, mode, jobs)
    seconds = time.perf_counter() - started
    label = mode.kind + (f" {mode.cassette.path}" if mode.cassette is not None else "")
    report = {
        "text": lambda: text_report(results, broken, label, seconds),
        "json": lambda: json_report(results, broken, label, seconds),
        "junit": lambda: junit_report(results, broken, seconds),
    }[fmt]()
    click.echo(report, nl=False)
    if junit_xml is not None:
        from .common import write_output

        try:
            write_output(Path(junit_xml), junit_report(results, broken, seconds))
        except OSError as exc:
            raise TestAbort(2, f"cannot write --junit-xml {junit_xml}: "
                               f"{exc.strerror or exc}") from exc
    return 1 if broken or any(r.status != "passed" for r in results) else 0


def _fail(code: int, message: str, err: Console) -> NoReturn:
    if message:
        err.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    sys.exit(code)


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--mock", is_flag=True,
              help="Answer model calls with the mock provider (the default; no API keys).")
@click.option("--replay", metavar="CASSETTE", default=None,
              help="Answer model calls from a cassette (no network, no API keys).")
@click.option("--record", metavar="CASSETTE", default=None,
              help="Call the real providers and record every exchange into the cassette.")
@click.option("--live", is_flag=True, help="Call the real providers (API keys needed).")
@click.option("-k", "pattern", metavar="PATTERN", default=None,
              help="Only tests whose id (path::name) matches: words, and/or/not, parentheses.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="The report on stdout.")
@click.option("--junit-xml", metavar="FILE", default=None,
              help="Also write a JUnit XML report to FILE (for CI).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=8, show_default=True,
              help="How many tests run at once.")
@guard("running tests")
def test(paths: tuple[Path, ...], mock: bool, replay: str | None, record: str | None,
         live: bool, pattern: str | None, fmt: str, junit_xml: str | None, jobs: int) -> None:
    """Run the `test` blocks of the pipelines under PATHS; exit 0 passed, 1 failed, 2 usage."""
    err = Console(stderr=True, highlight=False)
    try:
        code = run_command(paths, (mock, replay, record, live), pattern, fmt, junit_xml, jobs,
                           err)
    except TestAbort as exc:
        _fail(exc.code, exc.message, err)
    except KeyboardInterrupt:
        _fail(130, "interrupted", err)
    sys.exit(code)
