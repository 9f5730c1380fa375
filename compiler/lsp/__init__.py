"""The language server (`mmoc lsp`): mmoc's checks, navigation and editing help in an editor.

`snapshot.py` checks one document through the driver (as `mmoc check` does) and keeps what
the last text that parsed found; `index.py` finds every name a pipeline defines and uses;
`features.py` answers hover, navigation, rename, completion, outline, formatting and quick
fixes from them; `server.py` speaks LSP over stdio with pygls. Only `server.py` imports
pygls and lsprotocol (the `lsp` extra).
"""
