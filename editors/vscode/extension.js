// The archlang extension: starts the archlang language server (`archlang lsp`, LSP over stdio)
// for .arch files.  Highlighting needs no code: it is the TextMate grammar in syntaxes/.
// Plain JavaScript (CommonJS) so that packaging needs no TypeScript build.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

// The client id is also the prefix of the `archlang.trace.server` setting, which the
// language client reads by itself.
const CLIENT_ID = 'archlang';
const NAME = 'archlang Language Server';

let client;
let outputChannel;
let traceChannel;
let watcher;

/** The server executable from `archlang.server.path`, with `${workspaceFolder}` expanded. */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration('archlang').get('server.path') || 'archlang';
  const folders = vscode.workspace.workspaceFolders;
  const folder = folders && folders.length > 0 ? folders[0].uri.fsPath : undefined;
  return folder ? configured.replace(/\$\{workspaceFolder\}/g, folder) : configured;
}

function createClient() {
  // No `transport` field: for an executable, TransportKind.stdio would append `--stdio` to
  // the arguments; without it the client still speaks over the process's stdin and stdout.
  const executable = { command: serverCommand(), args: ['lsp'] };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'arch' }],
    outputChannel,
    traceOutputChannel: traceChannel,
    synchronize: { fileEvents: watcher },
  };
  return new LanguageClient(CLIENT_ID, NAME, { run: executable, debug: executable }, clientOptions);
}

async function startClient() {
  client = createClient();
  try {
    await client.start();
  } catch (err) {
    const message =
      `archlang: could not start the language server with "${serverCommand()} lsp" ` +
      `(${err && err.message ? err.message : err}). Install archlang in the environment VS Code ` +
      'sees, or set "archlang.server.path" to its archlang executable.';
    outputChannel.appendLine(message);
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'archlang.server.path');
    }
  }
}

async function stopClient() {
  const running = client;
  client = undefined;
  if (running && running.isRunning()) {
    await running.stop();
  }
}

async function restartClient() {
  await stopClient();
  await startClient();
}

function activate(context) {
  outputChannel = vscode.window.createOutputChannel(NAME);
  traceChannel = vscode.window.createOutputChannel(`${NAME} Trace`);
  watcher = vscode.workspace.createFileSystemWatcher('**/*.arch');
  context.subscriptions.push(
    outputChannel,
    traceChannel,
    watcher,
    vscode.commands.registerCommand('archlang.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('archlang.server')) {
        restartClient();
      }
    }),
  );
  return startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };
