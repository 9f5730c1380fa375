"""`mmoc lsp`: run the language server over stdio (see docs/editor.md)."""

from __future__ import annotations

import sys

import click

from .common import EXIT_USAGE
from .terminal import Terminal

INSTALL_HINT = "the language server needs pygls and lsprotocol: pip install 'mmoc[lsp]'"


@click.command()
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin and stdout (the default; "
              "accepted because editors pass it).")
def lsp(stdio: bool) -> None:
    """Run the language server over stdio, for editors (VS Code, Neovim, Helix)."""
    try:
        from ..lsp.server import main
    except ImportError as exc:
        if exc.name not in ("pygls", "lsprotocol") and not str(exc.name).startswith(
            ("pygls.", "lsprotocol.")
        ):
            raise
        Terminal(stderr=True).print(f"error: {INSTALL_HINT}", style="red", markup=False)
        sys.exit(EXIT_USAGE)
    main()
