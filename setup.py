"""Build glue for `mmoc`, the compiler: only what pyproject.toml cannot say statically.

The version is set in one place, runtime/_version.py, for both distributions, and `mmoc`
requires `mmoc-runtime` at exactly that version (as grpcio-tools pins protobuf's range): both
need computing, so the version and the dependencies are here; everything else about the build
is in pyproject.toml.
"""

from __future__ import annotations

import ast
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent

COMPILER_DEPENDENCIES = [
    "lark>=1.1.9",
    "jinja2>=3.1",
    "pyyaml>=6.0",
    "click>=8.1",
    "rich>=13.0",
    "black>=24.1",
]


def shared_version() -> str:
    """`__version__` of runtime/_version.py, read without importing anything."""
    tree = ast.parse((HERE / "runtime" / "_version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise RuntimeError("runtime/_version.py sets no __version__")


VERSION = shared_version()

setup(
    version=VERSION,
    install_requires=[*COMPILER_DEPENDENCIES, f"mmoc-runtime=={VERSION}"],
)
