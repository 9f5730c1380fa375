"""Finding tests: the pipeline sources under some paths, compiled in memory, their tests
selected by `-k`.

A file named on the command line is always loaded. In a folder, only sources that hold tests
are (a `.mmo` with a `test` block, a YAML file with a top-level `tests:`), so a CI config or a
pipeline without tests is never read as one; and when a `.mmo` and a YAML file of the same stem
sit side by side (twins), the `.mmo` is the one tested, as `python -m mmoc.demo` picks it.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import ir
from ..diagnostics.model import Diagnostic
from ..driver import MMO_SUFFIXES, SOURCE_SUFFIXES, compile_file, display_of, project_relative
from ..modules import import_path, load_module, source_import_path, transform_import_problems
from .select import matches

SKIPPED_FOLDERS = frozenset({".git", ".venv", "venv", "build", "dist", "node_modules",
                             "__pycache__", ".tox", ".nox", ".mypy_cache", ".ruff_cache"})
_HAS_TESTS = {
    ".mmo": re.compile(r"^\s*test\s+\w+\s*\{", re.MULTILINE),
    ".yaml": re.compile(r"^tests\s*:", re.MULTILINE),
    ".yml": re.compile(r"^tests\s*:", re.MULTILINE),
}


@dataclass
class TestFile:
    """One source: its display path, what compiling it said, its module and selected tests."""

    __test__ = False  # not a pytest test class

    path: Path
    display: str
    text: str | None = None
    pipeline: ir.Pipeline | None = None
    module: types.ModuleType | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tests: list[ir.Test] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.module is not None and not any(d.is_error for d in self.diagnostics)


def source_files(paths: Iterable[str | Path]) -> list[Path]:
    """The sources to test, in a stable order: named files as given, folders walked."""
    found: list[Path] = []
    for path in map(Path, paths):
        found.extend(_walk(path) if path.is_dir() else [path])
    return list(dict.fromkeys(found))


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS and not d.startswith("."))
        stems = {Path(f).stem for f in files if f.endswith(MMO_SUFFIXES)}
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix not in SOURCE_SUFFIXES:
                continue
            if path.suffix not in MMO_SUFFIXES and path.stem in stems:
                continue  # the .mmo twin is tested
            if has_tests(path):
                yield path


def has_tests(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # loading it reports why it cannot be read
    pattern = _HAS_TESTS.get(path.suffix.lower())
    return pattern is not None and bool(pattern.search(head))


def load_tests(path: Path, pattern: str | None = None, display: str | None = None) -> TestFile:
    """Compile `path` in memory (as `mmoc run` does) and pick its tests matching `pattern`;
    `display` (default: the path as given) names it in diagnostics, test ids and reports."""
    display = display or display_of(path)
    result = compile_file(path, display=display, header=project_relative(path), format=False)
    found = TestFile(path, display, result.text, result.pipeline,
                     diagnostics=list(result.diagnostics))
    if result.pipeline is None or not result.ok or result.code is None:
        return found
    found.tests = [t for t in result.pipeline.tests
                   if pattern is None or matches(pattern, f"{display}::{t.name}")]
    if not found.tests:
        return found  # nothing to run: no module needed
    with import_path(source_import_path(path)):
        found.diagnostics += transform_import_problems(result.pipeline)
        if not any(d.is_error for d in found.diagnostics):
            name = "mmoc_test_" + "".join(c if c.isalnum() else "_" for c in display)
            found.module = load_module(result.code, name,
                                       search_path=source_import_path(path))
    return found
