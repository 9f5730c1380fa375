"""Load a pipeline source: read it, pick the front end by suffix, run the checks.

Everything a user can get wrong comes back as diagnostics in the `LoadResult`; nothing here
raises on a bad file. A front end that crashes is a bug in mmoc, reported as MMO702 so the
CLI can still print every other file's findings.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmoc_runtime.files import read_regular_file

from . import ir
from .checks import run_checks
from .diagnostics.model import Diagnostic, internal_error, sort_key
from .gc_pause import gc_paused
from .limits import MAX_SOURCE_BYTES, oversized_source
from .source import Span

MMO_SUFFIXES = (".mmo",)
YAML_SUFFIXES = (".yaml", ".yml")
SOURCE_SUFFIXES = MMO_SUFFIXES + YAML_SUFFIXES

FrontEnd = Callable[[str, str], "tuple[ir.Pipeline | None, list[Diagnostic]]"]


@dataclass
class LoadResult:
    path: Path | None
    display_path: str
    text: str | None = None
    pipeline: ir.Pipeline | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Loaded, and no diagnostic is an error (warnings allowed)."""
        return self.pipeline is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def display_of(path: str | Path) -> str:
    """How a path is shown in spans and generated headers: as given, with `/` separators."""
    return Path(path).as_posix()


def _file_span(display: str, line: int = 1, column: int = 1) -> Span:
    return Span(file=display, line=line, column=column, end_line=line, end_column=column + 1)


def load_path(
    path: str | Path,
    display: str | None = None,
    *,
    checks: bool = True,
    suffix: str | None = None,
) -> LoadResult:
    """Read, parse and check one file. `display` defaults to the path as given.

    With `checks=False` only reading and parsing report (what `fmt` needs: a file with a
    missing key still has a canonical form). `suffix` picks the front end when the file's
    own suffix must not (`Pipeline.from_yaml_file` reads any file as YAML)."""
    path = Path(path)
    shown = display if display is not None else display_of(path)
    result = LoadResult(path=path, display_path=shown)
    try:
        # A regular file only, and at most MAX_SOURCE_BYTES of it: a FIFO would block the
        # read forever, /dev/zero would fill memory.
        data = read_regular_file(path, MAX_SOURCE_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            result.diagnostics.append(oversized_source(shown))
        else:
            reason = exc.strerror or type(exc).__name__
            result.diagnostics.append(
                Diagnostic("MMO001", f"cannot read `{shown}`: {reason}", _file_span(shown))
            )
        return result
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        result.diagnostics.append(
            Diagnostic(
                "MMO001",
                f"`{shown}` is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                f"{exc.start})",
                _file_span(shown, line, column),
                label="not UTF-8",
                help="save the file as UTF-8",
            )
        )
        return result
    return load_text(text, shown, suffix or path.suffix, path=path, checks=checks)


def load_text(
    text: str, display: str, suffix: str, *, path: Path | None = None, checks: bool = True
) -> LoadResult:
    """Parse and check source text as if it came from a file shown as `display`."""
    # A leading BOM is not text: drop it (positions are unaffected, it has no column).
    source = text.removeprefix("\ufeff")
    result = LoadResult(path=path, display_path=display, text=source)
    suffix = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
    front = _front_end(suffix)
    if front is None:
        result.diagnostics.append(
            Diagnostic(
                "MMO001",
                f"`{display}` is not a pipeline source: expected a .mmo, .yaml or .yml file",
                _file_span(display),
            )
        )
        return result
    try:
        # A large source makes many long-lived objects: the cyclic collector's passes over
        # them cost as much as the parse (YAML: 20,000 steps 5 s instead of 3) and find nothing.
        with gc_paused():
            pipeline, diagnostics = front(source, display)
    except Exception as exc:  # noqa: BLE001 - a crashing front end is our bug, not the user's
        # The one place a front-end crash is caught: the front ends have no catch-alls.
        result.diagnostics.append(
            internal_error(exc, _file_span(display), doing=f"parsing `{display}`")
        )
        return result
    result.pipeline = pipeline
    found = list(diagnostics)
    if pipeline is not None and checks:
        found.extend(run_checks(pipeline))
    result.diagnostics = sorted(dict.fromkeys(found), key=sort_key)
    return result


def _front_end(suffix: str) -> FrontEnd | None:
    # Imported on first use: `mmoc check x.yaml` never pays for the Lark grammar.
    if suffix in MMO_SUFFIXES:
        from .frontends.mmo.parse import parse_mmo

        return parse_mmo
    if suffix in YAML_SUFFIXES:
        from .frontends.yaml.parse import parse_yaml

        return parse_yaml
    return None
