"""Golden cases: `make goldens` runs `pytest tests/cases --update-goldens`.

Makes the codegen tests' shared helpers (`tests/codegen/codegen_support.py`) importable
under pytest's importlib mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELPERS = str(Path(__file__).resolve().parents[1] / "codegen")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
