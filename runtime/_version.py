"""The one place the version is set, for both distributions: `mmoc-runtime` (this package)
and `mmoc`, which requires `mmoc-runtime` at exactly this version. Both build configurations
read it (runtime/pyproject.toml, and the root's setup.py); `mmoc --version` and
`mmoc_runtime.__version__` show it."""

__version__ = "0.1.0"
