// The mmoc extension: starts `mmoc lsp` (stdio) for .mmo files and pipeline YAML.
// Everything it shows comes from the server; see docs/editor.md.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("mmoc");
  const [command, ...args] = config.get("server.command", ["mmoc", "lsp"]);
  const documentSelector = [{ scheme: "file", language: "mmo" }, { scheme: "untitled", language: "mmo" }];
  if (config.get("yaml.enable", true)) {
    // The server itself skips YAML without a top-level `steps:` key.
    documentSelector.push({ scheme: "file", language: "yaml" });
  }
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector,
    synchronize: {
      // [tool.mmoc] lives in pyproject.toml or mmoc.toml: re-check when either changes.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{pyproject.toml,mmoc.toml}"),
    },
  };
  client = new LanguageClient("mmoc", "mmoc", serverOptions, clientOptions);
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `mmoc: could not start \`${[command, ...args].join(" ")}\` (${error.message}). ` +
        "Install the server with `pip install 'mmoc[lsp]'`, or set mmoc.server.command."
    );
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
