"""The compiler's version: the runtime's, set in one place (runtime/_version.py) for both
distributions. Read by the CLI, the generated header and SARIF."""

from mmoc_runtime._version import __version__

__all__ = ["__version__"]
