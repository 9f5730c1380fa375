"""Running what the compiler made: executing generated code as a module, and importing the
transforms a pipeline names (with the source's folder on `sys.path`, as a script would)."""

from __future__ import annotations

import contextlib
import importlib
import linecache
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import ir
from .diagnostics.model import Diagnostic
from .driver import resolved_path


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
    # Its source, for tracebacks and `inspect.getsource` (the Ray backend ships it).
    linecache.cache[module.__file__] = (len(code), None, code.splitlines(True), module.__file__)
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

