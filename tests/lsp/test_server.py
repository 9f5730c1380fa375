"""`mmoc lsp` driven over stdio by a real LSP client (pytest-lsp): one server process for
the module, each test on its own document."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

pytestmark = pytest.mark.asyncio(loop_scope="module")

PIPELINE = '''pipeline demo {
  input topic
  output summary

  retry patient = exponential(max_retries: 3, base: 1s)

  step research = llm openai/gpt-4o-mini {
    prompt "Research {topic}"
    retry patient
  } -> notes

  step summarize = llm anthropic/claude-3-5-haiku {
    prompt """
      Summarize {notes} about {topic}
    """
    after research
  } -> summary
}
'''


# uri -> the version of the last diagnostics published for it (pytest-lsp keeps the
# diagnostics, not their version)
VERSIONS: dict[str, int] = {}


def _record(client: LanguageClient, params: lsp.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    if params.version is not None:
        VERSIONS[params.uri] = max(VERSIONS.get(params.uri, -1), params.version)


def _client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    features = {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record}
    register_lsp_features(client, features)
    return client


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "mmoc", "lsp"],
                              client_factory=_client),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), process_id=None)
    )
    yield
    await lsp_client.shutdown_session()


async def _published(client: LanguageClient, uri: str, version: int) -> list[lsp.Diagnostic]:
    """The diagnostics the server publishes for `uri` at `version` (or later); a server that
    never does fails the test after 30 s instead of hanging it."""

    async def arrived() -> list[lsp.Diagnostic]:
        while VERSIONS.get(uri, -1) < version:
            await asyncio.sleep(0.005)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(arrived(), timeout=30)


async def open_doc(client: LanguageClient, tmp_path: Path, text: str, name: str = "p.mmo",
                   language: str = "mmo") -> tuple[str, list[lsp.Diagnostic]]:
    path = tmp_path / name
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri, await _published(client, uri, 1)


async def edit(client: LanguageClient, uri: str, version: int, line: int, start: int,
               end: int, new: str, end_line: int | None = None) -> list[lsp.Diagnostic]:
    """Replace [start, end) of a 0-based line (to `end_line`), and wait for that version's
    diagnostics."""
    last = line if end_line is None else end_line
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(line, start), lsp.Position(last, end)), text=new)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]))
    return await _published(client, uri, version)


def at(uri: str, line: int, character: int) -> dict[str, object]:
    return {"text_document": lsp.TextDocumentIdentifier(uri),
            "position": lsp.Position(line, character)}


async def test_clean_pipeline_has_no_diagnostics(client: LanguageClient, tmp_path: Path) -> None:
    _, found = await open_doc(client, tmp_path, PIPELINE)
    assert found == []


async def test_diagnostics_match_mmoc_check(client: LanguageClient, tmp_path: Path) -> None:
    text = PIPELINE.replace("{notes}", "{note}").replace("max_retries: 3", "max_retries: -1")
    _, found = await open_doc(client, tmp_path, text)
    by_code = {d.code: d for d in found}
    missing = by_code["MMO301"]
    assert missing.severity == lsp.DiagnosticSeverity.Error and missing.source == "mmoc"
    # `{note}` on line 14 (0-based 13): the span of the placeholder, as `mmoc check` gives it
    assert missing.range.start.line == 13
    assert "did you mean `notes`?" in missing.message
    assert missing.data == {"fix": "notes"}
    retry = by_code["MMO501"]  # reported at the number itself
    assert (retry.range.start.line, retry.range.start.character) == (4, 43)
    assert (retry.range.end.line, retry.range.end.character) == (4, 45)


async def test_hover_step_key_policy_and_code(client: LanguageClient, tmp_path: Path) -> None:
    uri, _ = await open_doc(client, tmp_path, PIPELINE + "# mmoc: ignore[MMO103]\n")
    step = await client.text_document_hover_async(lsp.HoverParams(**at(uri, 6, 8)))
    assert step is not None
    text = step.contents.value  # type: ignore[union-attr]
    assert "`openai/gpt-4o-mini`" in text and "provider `openai`" in text
    assert "per million tokens" in text and "$0.15 in" in text
    assert "reads: `topic`" in text and "produces: `notes`" in text
    key = await client.text_document_hover_async(lsp.HoverParams(**at(uri, 13, 18)))
    assert key is not None
    assert "produced by step `research`" in key.contents.value  # type: ignore[union-attr]
    assert "read by: `summarize`" in key.contents.value  # type: ignore[union-attr]
    policy = await client.text_document_hover_async(lsp.HoverParams(**at(uri, 8, 12)))
    assert policy is not None and "max_retries 3" in policy.contents.value  # type: ignore[union-attr]
    code = await client.text_document_hover_async(lsp.HoverParams(**at(uri, 18, 18)))
    assert code is not None and "output-shadows-input" in code.contents.value  # type: ignore[union-attr]


async def test_definition_references_and_rename(client: LanguageClient, tmp_path: Path) -> None:
    uri, _ = await open_doc(client, tmp_path, PIPELINE)
    # {notes} in summarize's prompt -> `-> notes` of research
    found = await client.text_document_definition_async(lsp.DefinitionParams(**at(uri, 13, 18)))
    assert isinstance(found, list)
    assert [(loc.range.start.line, loc.range.start.character) for loc in found] == [(9, 7)]
    # the policy name at its use -> its definition
    policy = await client.text_document_definition_async(lsp.DefinitionParams(**at(uri, 8, 12)))
    assert isinstance(policy, list) and policy[0].range.start.line == 4
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        context=lsp.ReferenceContext(include_declaration=True), **at(uri, 1, 9)))
    assert refs is not None and sorted(r.range.start.line for r in refs) == [1, 7, 13]
    edit_ = await client.text_document_rename_async(
        lsp.RenameParams(new_name="subject", **at(uri, 7, 23)))
    assert edit_ is not None and edit_.changes is not None
    assert sorted((e.range.start.line, e.new_text) for e in edit_.changes[uri]) == [
        (1, "subject"), (7, "subject"), (13, "subject")]
    step = await client.text_document_rename_async(
        lsp.RenameParams(new_name="dig", **at(uri, 15, 12)))
    assert step is not None and step.changes is not None
    assert sorted(e.range.start.line for e in step.changes[uri]) == [6, 15]


async def test_completion(client: LanguageClient, tmp_path: Path) -> None:
    uri, _ = await open_doc(client, tmp_path, PIPELINE)
    keys = await client.text_document_completion_async(lsp.CompletionParams(**at(uri, 7, 22)))
    assert isinstance(keys, lsp.CompletionList)
    assert {"topic", "notes", "summary"} <= {i.label for i in keys.items}
    models = await client.text_document_completion_async(lsp.CompletionParams(**at(uri, 6, 29)))
    assert isinstance(models, lsp.CompletionList)
    assert "openai/gpt-4o-mini" in {i.label for i in models.items}
    policies = await client.text_document_completion_async(
        lsp.CompletionParams(**at(uri, 8, 11)))
    assert isinstance(policies, lsp.CompletionList)
    assert [i.label for i in policies.items] == ["patient"]
    words = await client.text_document_completion_async(lsp.CompletionParams(**at(uri, 3, 0)))
    assert isinstance(words, lsp.CompletionList)
    assert {"step", "prompt", "fallback"} <= {i.label for i in words.items}


async def test_symbols_formatting_and_quick_fix(client: LanguageClient, tmp_path: Path) -> None:
    text = PIPELINE.replace("  step research", "    step   research").replace(
        "retry patient\n  }", "retry patinet\n  }")
    uri, found = await open_doc(client, tmp_path, text)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    assert symbols is not None
    (pipeline,) = symbols
    assert [c.name for c in pipeline.children or []] == [  # type: ignore[union-attr]
        "topic", "patient", "research", "summarize"]
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert edits is not None and len(edits) == 1
    assert "  step research = llm" in edits[0].new_text
    (typo,) = [d for d in found if d.code == "MMO502"]
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), typo.range, lsp.CodeActionContext([typo])))
    assert actions is not None
    (action,) = actions
    assert isinstance(action, lsp.CodeAction) and action.edit is not None
    assert action.edit.changes is not None
    assert [e.new_text for e in action.edit.changes[uri]] == ["patient"]


async def test_yaml_pipeline_is_served(client: LanguageClient, tmp_path: Path) -> None:
    text = ("name: demo\nsteps:\n  - name: a\n    model: openai/gpt-4o-mini\n"
            "    prompt: \"{topic}\"\n    temperature: 9\n")
    _, found = await open_doc(client, tmp_path, text, "p.yaml", "yaml")
    (temp,) = [d for d in found if d.code == "MMO507"]
    assert (temp.range.start.line, temp.range.start.character) == (5, 17)
    _, other = await open_doc(client, tmp_path, "jobs:\n  x: 1\n", "ci.yaml", "yaml")
    assert other == []


async def test_a_session_of_edits(client: LanguageClient, tmp_path: Path) -> None:
    uri, found = await open_doc(client, tmp_path, PIPELINE)
    assert found == []
    # 1. a typo in a placeholder: a missing key, and `notes` is now unused
    found = await edit(client, uri, 2, 13, 17, 22, "note")
    assert sorted(d.code for d in found) == ["MMO106", "MMO301"]
    # 2. a syntax error above them: both are kept, moved down with their lines
    found = await edit(client, uri, 3, 4, 0, 0, "  step broken = \n")
    assert sorted((d.code, d.range.start.line) for d in found) == [
        ("MMO002", 5), ("MMO106", 10), ("MMO301", 14)]
    # 3. the syntax error fixed: the typo's findings again, fresh
    found = await edit(client, uri, 4, 4, 0, 0, "", end_line=5)
    assert sorted((d.code, d.range.start.line) for d in found) == [
        ("MMO106", 9), ("MMO301", 13)]
    # 4. the typo fixed: clean
    found = await edit(client, uri, 5, 13, 17, 21, "notes")
    assert found == []
    # 5. a bad temperature, reported at the value
    found = await edit(client, uri, 6, 8, 0, 0, "    temperature 7\n")
    assert [(d.code, d.range.start.line, d.range.start.character) for d in found] == [
        ("MMO507", 8, 16)]
