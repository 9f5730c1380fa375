"""`mmoc lsp` without its optional packages says how to install them (exit 2), instead of
a traceback."""

from __future__ import annotations

import sys

import pytest
from support.cli_invoke import invoke


def test_lsp_without_pygls_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith(("mmoc.lsp.server", "pygls"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` now fails
    code, out, err = invoke(["lsp"])
    assert code == 2, err
    assert "pip install 'mmoc[lsp]'" in err and "Traceback" not in err
    assert out == ""


def test_lsp_is_listed() -> None:
    code, out, _ = invoke(["--help"])
    assert code == 0 and "lsp " in out
