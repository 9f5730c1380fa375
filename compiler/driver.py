"""The one place that knows the order of the passes: load -> check -> lower -> render.

- load: read the file, pick the front end by suffix, parse (`load_path`, `load_text`);
- check: run every check over the IR (`check`; loading runs it unless told not to);
- lower and render: the code generator turns a checked IR into module text (`compile_pipeline`,
  `compile_file`), and only when no check found an error.

Everything a user can get wrong comes back as diagnostics; nothing here raises on a bad file.
A front end or generator that crashes is a bug in mmoc, reported as MMO702 so the CLI can still
print every other file's findings. The CLI and the builder both come in here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mmoc_runtime.files import read_regular_file

from . import ir
from .checks import Check, run_checks
from .diagnostics.model import Diagnostic, internal_error, sort_key
from .gc_pause import gc_paused
from .limits import MAX_SOURCE_BYTES, oversized_source
from .source import Span
from .suppressions import apply_suppressions

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


def folder_sources(folder: Path) -> list[Path]:
    """The pipeline sources in `folder` (not below it), sorted: `.mmo` and YAML files, a
    `.mmo` winning over its YAML twin of the same stem (what `demo` and `run FOLDER` run)."""
    by_stem: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in SOURCE_SUFFIXES):
        kept = by_stem.get(path.stem)
        if kept is None or (path.suffix in MMO_SUFFIXES and kept.suffix not in MMO_SUFFIXES):
            by_stem[path.stem] = path
    return sorted(by_stem.values())


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
    return load_bytes(data, shown, suffix or path.suffix, path=path, checks=checks)


def load_bytes(
    data: bytes, display: str, suffix: str, *, path: Path | None = None, checks: bool = True
) -> LoadResult:
    """Decode (UTF-8) and load source bytes read from a file or stdin, shown as `display`."""
    shown = display  # the name the diagnostics give the source
    result = LoadResult(path=path, display_path=shown)
    if len(data) > MAX_SOURCE_BYTES:
        result.diagnostics.append(oversized_source(shown))
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
    return load_text(text, shown, suffix, path=path, checks=checks)


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
        found.extend(check(pipeline))
        found = apply_suppressions(source, display, pipeline, found)  # `# mmoc: ignore[...]`
    result.diagnostics = sorted(dict.fromkeys(found), key=sort_key)
    return result


def check(p: ir.Pipeline, checks: Iterable[Check] | None = None) -> list[Diagnostic]:
    """Every check's diagnostics for `p`, sorted (all of `CHECKS` unless `checks` is given)."""
    return run_checks(p) if checks is None else run_checks(p, checks)


def _front_end(suffix: str) -> FrontEnd | None:
    # Imported on first use: `mmoc check x.yaml` never pays for the Lark grammar.
    if suffix in MMO_SUFFIXES:
        from .frontends.mmo.parse import parse_mmo

        return parse_mmo
    if suffix in YAML_SUFFIXES:
        from .frontends.yaml.parse import parse_yaml

        return parse_yaml
    return None


@dataclass
class CompileResult:
    code: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The source as read, and the path it is shown as (for rendering diagnostics).
    text: str | None = None
    display_path: str | None = None
    # The checked pipeline the code came from (None when loading failed).
    pipeline: ir.Pipeline | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None and not any(d.is_error for d in self.diagnostics)


def compile_pipeline(
    p: ir.Pipeline,
    *,
    source_path: str,
    source_text: str,
    inline: bool = False,
    format: bool = True,
) -> CompileResult:
    """Check `p` and generate its module. Any error diagnostic means no code.

    `format=False`: the module will only be executed (see `codegen.render`), not written."""
    return _generate(p, check(p), source_path, source_text, inline, format)


def compile_file(
    path: str | Path,
    *,
    display: str | None = None,
    header: str | None = None,
    format: bool = True,
) -> CompileResult:
    """Load (parse + check) a `.mmo` or YAML file and generate its module.

    Diagnostics show the path as given (or `display`). The generated header names the source
    by `header`, else `display`, else its path relative to the project root (the nearest
    directory up with `pyproject.toml` or `.git`), POSIX separators: the same bytes from any
    working directory.
    """
    shown = display.replace(os.sep, "/") if display is not None else display_of(path)
    loaded = load_path(path, display=shown)
    if header is None:
        header = shown if display is not None else project_relative(path)
    return compile_loaded(loaded, header=header, format=format)


def compile_loaded(loaded: LoadResult, *, header: str, format: bool = True) -> CompileResult:
    """Generate the module of a loaded (parsed and checked) source: from a file or stdin."""
    shown = loaded.display_path
    if loaded.pipeline is None or any(d.is_error for d in loaded.diagnostics):
        return CompileResult(None, _sorted(list(loaded.diagnostics)), loaded.text, shown)
    # The loader has run the checks: generate from its findings, without checking twice.
    result = _generate(
        loaded.pipeline, list(loaded.diagnostics), header, loaded.text or "", False, format
    )
    result.display_path = shown
    result.pipeline = loaded.pipeline
    return result


def _generate(
    p: ir.Pipeline,
    diagnostics: list[Diagnostic],
    source_path: str,
    text: str,
    inline: bool,
    format: bool,
) -> CompileResult:
    from .codegen.lower import lower
    from .codegen.module import CodegenError, render

    def failed() -> CompileResult:
        return CompileResult(None, _sorted(diagnostics), text, source_path)

    if any(d.is_error for d in diagnostics):
        return failed()
    try:
        view, problems = lower(p, source_path=source_path, source_text=text, inline=inline)
        diagnostics += problems
        if view is None:
            return failed()
        code = render(view, format=format)
    except CodegenError as exc:
        diagnostics.append(internal_error(str(exc), p.span, doing="generating code"))
        return failed()
    except Exception as exc:  # noqa: BLE001 - a bug must be a diagnostic, never a traceback
        diagnostics.append(internal_error(exc, p.span, doing="generating code"))
        return failed()
    return CompileResult(code, _sorted(diagnostics), text, source_path)


_ROOT_MARKERS = ("pyproject.toml", ".git")


def resolved_path(path: str | Path) -> Path:
    """`path` absolute, its symlinks resolved where they can be. A symlink loop (RuntimeError
    before Python 3.13, OSError after) is left as written: reading it reports the loop."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def project_relative(path: str | Path) -> str:
    """`path` relative to its project root (nearest ancestor holding pyproject.toml or .git),
    else its bare file name; POSIX separators. Independent of the working directory."""
    resolved = resolved_path(path)
    for parent in resolved.parents:
        if any((parent / marker).exists() for marker in _ROOT_MARKERS):
            return resolved.relative_to(parent).as_posix()
    return resolved.name


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=sort_key)
