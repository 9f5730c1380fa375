"""mmoc_runtime: the thin async runtime that generated pipeline modules import.

Standard library only (httpx is imported lazily, by the real providers). Nothing here imports
the compiler or its dependencies.
"""

from __future__ import annotations

# Generated modules check this at import: bump it when the spec or the entry points change shape.
ABI_VERSION = 1
__version__ = "0.1.0"

__all__ = ["ABI_VERSION", "__version__"]
