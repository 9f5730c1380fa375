"""The code generator: render a `ModuleView` with the Jinja2 templates, format with black,
and `compile()` the result as a last sanity check (both skipped for in-memory modules).

Templates live beside this module (`templates/*.jinja`, shipped as package data). They only
print what lowering prepared; autoescaping is off because the output is Python, and every
value in the view is already Python source built from `repr`.
"""

from __future__ import annotations

import functools

import jinja2

from ..gc_pause import gc_paused
from .views import ModuleView

_TEMPLATE = "module.py.jinja"


class CodegenError(Exception):
    """The rendered module did not format or compile: a bug in mmoc, reported as MMO702."""


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mmoc.codegen", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,  # a missing view field is a bug, not empty text
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render(view: ModuleView, *, format: bool = True) -> str:
    """The module's source: rendered, black-formatted, and known to compile.

    `format=False` is for a module that is only executed in memory (`mmoc run`, the builder):
    nobody reads it, so black's cost (most of a compile) and the sanity `compile()` (the
    loader compiles it anyway) are skipped; the code means the same either way.
    """
    raw = environment().get_template(_TEMPLATE).render(m=view, n=view.n)
    if not format:
        return raw
    try:
        with gc_paused():
            code = black_format(raw)
    except Exception as exc:  # black's errors are many classes; any of them is our bug
        raise CodegenError(f"black could not format the generated module: {exc}") from exc
    try:
        compile(code, view.source_literal, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise CodegenError(f"the generated module does not compile: {exc}") from exc
    return code


def black_format(raw: str) -> str:
    """`raw` as black formats it for Python 3.11. Imported here: a module that is only
    executed (`mmoc run`) never pays for black's import."""
    import black
    from black.mode import Mode, TargetVersion

    return black.format_str(raw, mode=Mode(target_versions={TargetVersion.PY311}))
