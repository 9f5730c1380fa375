"""`mmoc lsp`: the language server over stdio (pygls), for .mmo files and pipeline YAML.

Each open document is checked through the driver whenever it opens, changes or is saved.
Checks are debounced by coalescing: while one check of a document runs, further edits only
mark it stale, and one more check runs when the first ends, on the text as it is then; a
burst of keystrokes costs at most two checks, and an idle editor gets its answer at once
(no fixed delay to wait out). Requests (hover, rename, ...) that arrive while the last check
is stale check the current text first, so they never answer for old text.

A YAML file is served only when it looks like a pipeline (a top-level `steps:` key): an
editor sends every YAML file it opens, and CI or compose files are no pipelines.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from ..config import Config
from ..diagnostics.model import Diagnostic
from ..driver import MMO_SUFFIXES, YAML_SUFFIXES
from ..source import Span
from ..version import __version__
from . import features
from .snapshot import Snapshot, analyse, project_config

PIPELINE_YAML = re.compile(r"^steps\s*:", re.MULTILINE)
SEVERITIES = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "info": lsp.DiagnosticSeverity.Information,
}
LANGUAGE_SUFFIXES = {"mmo": ".mmo", "yaml": ".yaml"}


@dataclass
class DocumentState:
    snapshot: Snapshot | None = None
    stale: bool = True
    task: asyncio.Future[None] | None = None


class MmocLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("mmoc", __version__)
        self.documents: dict[str, DocumentState] = {}
        self.configs: dict[Path, tuple[Config, str | None]] = {}
        self.config_errors_shown: set[str] = set()

    # ---- checking ----------------------------------------------------------------------

    def path_of(self, doc: TextDocument) -> Path | None:
        """The document's file path (a made-up one, by language, for an unsaved buffer); None
        when it is no pipeline source."""
        raw = to_fs_path(doc.uri) if doc.uri.startswith("file:") else None
        path = Path(raw) if raw else Path(doc.uri.rsplit("/", 1)[-1])
        if path.suffix.lower() not in (*MMO_SUFFIXES, *YAML_SUFFIXES):
            suffix = LANGUAGE_SUFFIXES.get(doc.language_id or "")
            if suffix is None:
                return None
            path = path.with_name(path.name + suffix)
        if path.suffix.lower() in YAML_SUFFIXES and not PIPELINE_YAML.search(doc.source):
            return None
        return path.absolute()

    def config_for(self, path: Path) -> tuple[Config, str | None]:
        folder = path.parent
        if folder not in self.configs:
            self.configs[folder] = project_config(path)
        return self.configs[folder]

    def check_now(self, uri: str) -> Snapshot | None:
        """Check the document's current text (in this thread) and keep the result."""
        state = self.documents.setdefault(uri, DocumentState())
        doc = self.workspace.get_text_document(uri)
        path = self.path_of(doc)
        if path is None:
            return None
        config, error = self.config_for(path)
        state.stale = False
        snap = analyse(doc.source, path, config, state.snapshot, error)
        state.snapshot = snap
        return snap

    def current(self, uri: str) -> Snapshot | None:
        state = self.documents.get(uri)
        doc = self.workspace.get_text_document(uri)
        if state is not None and state.snapshot is not None and not state.stale \
                and state.snapshot.text == doc.source.removeprefix("\ufeff"):
            return state.snapshot
        return self.check_now(uri)

    def schedule(self, uri: str) -> None:
        state = self.documents.setdefault(uri, DocumentState())
        state.stale = True
        if state.task is None or state.task.done():
            state.task = asyncio.ensure_future(self._check_loop(uri, state))

    async def _check_loop(self, uri: str, state: DocumentState) -> None:
        while state.stale:
            await asyncio.sleep(0)  # let edits already received land first
            doc = self.workspace.get_text_document(uri)
            version = doc.version
            snap = await asyncio.to_thread(self.check_now, uri)
            self.publish(uri, snap, version)

    def publish(self, uri: str, snap: Snapshot | None, version: int | None) -> None:
        if snap is None:
            diagnostics: list[lsp.Diagnostic] = []
        else:
            lines = snap.lines
            diagnostics = [self.to_lsp(d, uri, lines) for d in snap.diagnostics]
            if snap.config_error and snap.config_error not in self.config_errors_shown:
                self.config_errors_shown.add(snap.config_error)
                self.window_show_message(lsp.ShowMessageParams(
                    lsp.MessageType.Error,
                    f"mmoc: {snap.config_error} (checking with the default configuration)"))
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    # ---- conversions -------------------------------------------------------------------

    def to_range(self, span: Span | None, lines: list[str]) -> lsp.Range:
        if span is None:
            return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        codec = self.workspace.position_codec
        start = ServerTextPosition(span.line - 1, span.column - 1)
        end = ServerTextPosition(span.end_line - 1, span.end_column - 1)
        return lsp.Range(codec.position_to_client_units(lines, start),
                         codec.position_to_client_units(lines, end))

    def from_position(self, uri: str, position: lsp.Position) -> tuple[int, int]:
        """A client position as mmoc's 1-based (line, column)."""
        doc = self.workspace.get_text_document(uri)
        lines = doc.source.split("\n")
        server = self.workspace.position_codec.position_from_client_units(lines, position)
        return server.line + 1, server.character + 1

    def to_lsp(self, d: Diagnostic, uri: str, lines: list[str]) -> lsp.Diagnostic:
        message = d.message + (f" ({d.label})" if d.label else "")
        if d.help:
            message += f"\nhelp: {d.help}"
        fix = features.suggested_fix(d, lines)
        return lsp.Diagnostic(
            range=self.to_range(d.span, lines),
            message=message,
            severity=SEVERITIES[d.level],
            code=d.code,
            source="mmoc",
            related_information=[
                lsp.DiagnosticRelatedInformation(
                    lsp.Location(uri, self.to_range(label.span, lines)), label.message)
                for label in d.labels
            ] or None,
            data={"fix": fix} if fix is not None else None,
        )

    def locations(self, uri: str, spans: list[Span], snap: Snapshot) -> list[lsp.Location]:
        lines = snap.lines
        return [lsp.Location(uri, self.to_range(s, lines)) for s in spans]

    def text_edits(self, edits: list[features.Edit], snap: Snapshot) -> list[lsp.TextEdit]:
        lines = snap.lines
        return [lsp.TextEdit(self.to_range(e.span, lines), e.new_text) for e in edits]


server = MmocLanguageServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: MmocLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: MmocLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: MmocLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.configs.clear()  # a saved pyproject.toml or mmoc.toml applies from now on
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MmocLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.documents.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched(ls: MmocLanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    ls.configs.clear()
    for uri in list(ls.documents):
        ls.schedule(uri)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: MmocLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    snap = ls.current(uri)
    if snap is None:
        return None
    line, column = ls.from_position(uri, params.position)
    text = features.hover(snap, line, column)
    if text is None:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: MmocLanguageServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    snap = ls.current(uri)
    if snap is None:
        return []
    line, column = ls.from_position(uri, params.position)
    return ls.locations(uri, features.definition(snap, line, column), snap)


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: MmocLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    snap = ls.current(uri)
    if snap is None:
        return []
    line, column = ls.from_position(uri, params.position)
    spans = features.references(snap, line, column, params.context.include_declaration)
    return ls.locations(uri, spans, snap)


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(
    ls: MmocLanguageServer, params: lsp.PrepareRenameParams
) -> lsp.PrepareRenamePlaceholder | None:
    uri = params.text_document.uri
    snap = ls.current(uri)
    if snap is None:
        return None
    line, column = ls.from_position(uri, params.position)
    occ = features.rename_target(snap, line, column)
    if occ is None:
        return None
    return lsp.PrepareRenamePlaceholder(ls.to_range(occ.span, snap.lines), occ.name)


@server.feature(lsp.TEXT_DOCUMENT_RENAME, lsp.RenameOptions(prepare_provider=True))
def rename(ls: MmocLanguageServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
    uri = params.text_document.uri
    snap = ls.current(uri)
    if snap is None:
        return None
    line, column = ls.from_position(uri, params.position)
    edits = features.rename(snap, line, column, params.new_name)
    if isinstance(edits, str):
        raise JsonRpcInvalidParams(edits)  # the client shows the message
    return lsp.WorkspaceEdit(changes={uri: ls.text_edits(edits, snap)})

COMPLETION_KINDS = {
    "key": lsp.CompletionItemKind.Variable,
    "model": lsp.CompletionItemKind.Value,
    "policy": lsp.CompletionItemKind.Reference,
    "keyword": lsp.CompletionItemKind.Keyword,
}


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=["{", "/", " "]))
def completion(ls: MmocLanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    uri = params.text_document.uri
    snap = ls.current(uri)
    items: list[lsp.CompletionItem] = []
    if snap is not None:
        line, column = ls.from_position(uri, params.position)
        items = [
            lsp.CompletionItem(c.label, kind=COMPLETION_KINDS[c.kind], detail=c.detail or None)
            for c in features.completions(snap, line, column)
        ]
    return lsp.CompletionList(is_incomplete=False, items=items)


SYMBOL_KINDS = {
    "pipeline": lsp.SymbolKind.Module,
    "step": lsp.SymbolKind.Function,
    "group": lsp.SymbolKind.Namespace,
    "input": lsp.SymbolKind.Variable,
    "retry": lsp.SymbolKind.Object,
    "breaker": lsp.SymbolKind.Object,
}


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: MmocLanguageServer, params: lsp.DocumentSymbolParams
) -> list[lsp.DocumentSymbol]:
    snap = ls.current(params.text_document.uri)
    if snap is None:
        return []
    lines = snap.lines

    def convert(s: features.Symbol) -> lsp.DocumentSymbol:
        return lsp.DocumentSymbol(
            name=s.name, kind=SYMBOL_KINDS[s.kind], range=ls.to_range(s.span, lines),
            selection_range=ls.to_range(s.name_span, lines), detail=s.detail or None,
            children=[convert(c) for c in s.children],
        )

    return [convert(s) for s in features.symbols(snap)]


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(
    ls: MmocLanguageServer, params: lsp.DocumentFormattingParams
) -> list[lsp.TextEdit] | None:
    snap = ls.current(params.text_document.uri)
    if snap is None:
        return None
    new = features.formatted(snap)
    if new is None or new == snap.text:
        return []
    whole = features.whole_text_span(snap.text)
    return [lsp.TextEdit(ls.to_range(whole, snap.lines), new)]


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_actions(ls: MmocLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    uri = params.text_document.uri
    actions = []
    for d in params.context.diagnostics:
        fix = d.data.get("fix") if isinstance(d.data, dict) else None
        if d.source != "mmoc" or not isinstance(fix, str):
            continue
        actions.append(lsp.CodeAction(
            title=f"Replace with `{fix}`",
            kind=lsp.CodeActionKind.QuickFix,
            diagnostics=[d],
            is_preferred=True,
            edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(d.range, fix)]}),
        ))
    return actions


def main() -> None:
    """Serve on duplicates of stdin and stdout: pygls closes the streams it was given when the
    client exits, and the command line still flushes its own at the end."""
    with os.fdopen(os.dup(0), "rb") as stdin, os.fdopen(os.dup(1), "wb") as stdout:
        server.start_io(stdin, stdout)
