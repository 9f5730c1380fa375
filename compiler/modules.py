"""The compile API: IR or file in, generated module text out (and helpers to use it).

`compile_pipeline` runs the checks itself, so no caller can generate code for a pipeline
that has errors; `compile_file` adds loading. `load_module` executes generated code in a
fresh module object (what `mmoc run` and the builder API do), `write_atomic` is how files
are written: all or nothing (`mmoc_runtime.files.write_file`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmoc_runtime.files import write_file

from . import ir
from .diagnostics.model import Diagnostic, internal_error, sort_key


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
    from .checks import run_checks

    return _generate(p, list(run_checks(p)), source_path, source_text, inline, format)


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
    from .driver import display_of, load_path

    shown = display.replace(os.sep, "/") if display is not None else display_of(path)
    loaded = load_path(path, display=shown)
    if loaded.pipeline is None or any(d.is_error for d in loaded.diagnostics):
        return CompileResult(None, _sorted(list(loaded.diagnostics)), loaded.text, shown)
    if header is None:
        header = shown if display is not None else project_relative(path)
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


@contextlib.contextmanager
def import_path(folders: Sequence[str | Path]) -> Iterator[None]:
    """Within the block, `folders` come first on `sys.path`, as a script's own folder does
    when Python runs it; afterwards `sys.path` is as it was (entries added here removed)."""
    added = list(dict.fromkeys(os.path.abspath(folder) for folder in folders))
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def source_import_path(source: str | Path) -> list[str]:
    """Where a run imports a pipeline's transforms from: the source's folder, then the
    current directory (what `python pipeline_gen.py` and `python -m` would each see)."""
    return [str(resolved_path(source).parent), os.getcwd()]


def transform_import_problems(p: ir.Pipeline) -> list[Diagnostic]:
    """Import every `package.module:function` transform of `p` now, under the current
    `sys.path`; one MMO703 per transform whose module or function cannot be imported.

    A missing module beside the pipeline is a user mistake, not a compiler bug: this runs
    before the generated module is executed so the diagnostic can point at the step.
    """
    problems: list[Diagnostic] = []
    for step in p.all_steps():
        if not isinstance(step, ir.TransformStep) or step.callable is not None:
            continue
        module_name, colon, attr = step.function.partition(":")
        if not colon:
            continue  # a built-in
        why = _import_failure(module_name, attr)
        if why is not None:
            problems.append(
                Diagnostic(
                    "MMO703",
                    f"transform `{step.name}` cannot import `{step.function}`: {why}",
                    step.name_span or step.span,
                    label="cannot import",
                    help="put the module beside the pipeline, in the current directory or on "
                    "PYTHONPATH, and check the function's name",
                )
            )
    return problems


def _import_failure(module_name: str, attr: str) -> str | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        return f"no module named `{exc.name or module_name}`"
    except Exception as exc:  # noqa: BLE001 - the user's module failing to import is theirs
        return f"importing `{module_name}` raised {type(exc).__name__}: {exc}"
    if not callable(getattr(module, attr, None)):
        found = "is not callable" if hasattr(module, attr) else "does not exist"
        return f"`{attr}` in module `{module_name}` {found}"
    return None


def load_module(
    code: str,
    name: str,
    *,
    inline_transforms: Mapping[str, Callable[..., Any]] | None = None,
    search_path: Sequence[str | Path] = (),
) -> types.ModuleType:
    """Execute generated `code` as a new module called `name`.

    The module is in `sys.modules` while it runs (dataclasses and typing look it up there)
    and stays there afterwards, like an imported module. `inline_transforms` fills the
    module's `INLINE_TRANSFORMS` before its first line runs. `search_path` folders come
    first on `sys.path` while the module's imports run (see `source_import_path`).
    """
    module = types.ModuleType(name)
    module.__file__ = f"<mmoc:{name}>"
    if inline_transforms is not None:
        module.__dict__["INLINE_TRANSFORMS"] = dict(inline_transforms)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        # Running generated code is this function's job; the code came from our own codegen.
        with import_path(search_path):
            exec(compile(code, module.__file__, "exec"), module.__dict__)  # noqa: S102
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    return module


# How every file mmoc produces is written: a regular file all at once (a temporary file
# beside it, then a rename), through symlinks; a device or FIFO as it is; nothing else. The
# runtime holds the one copy (generated scripts write their --trace with it); this is its name
# in the compiler's Python API.
write_atomic = write_file


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=sort_key)
