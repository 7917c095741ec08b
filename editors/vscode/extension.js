// The threadlint extension: starts `threadlint server` for Python and Rust files and passes
// the `threadlint.*` settings as initialization options.
const fs = require("fs");
const path = require("path");
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

const EXE = process.platform === "win32" ? "threadlint.exe" : "threadlint";
const BIN = process.platform === "win32" ? "Scripts" : "bin";

function isFile(candidate) {
  try {
    return fs.statSync(candidate).isFile();
  } catch {
    return false;
  }
}

// The folder of the Python environment the Python extension has selected, if it is installed.
async function selectedPythonBin(folder) {
  const python = vscode.extensions.getExtension("ms-python.python");
  if (!python) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const environments = api && api.environments;
    if (!environments) {
      return undefined;
    }
    const active = environments.getActiveEnvironmentPath(folder && folder.uri);
    const resolved = await environments.resolveEnvironment(active);
    const executable = resolved && resolved.executable && resolved.executable.uri;
    return executable ? path.dirname(executable.fsPath) : undefined;
  } catch {
    return undefined;
  }
}

// `threadlint.path`, else the selected Python environment, a `.venv`/`venv` of the workspace,
// then the `PATH`.
async function findExecutable(settings) {
  const configured = settings.get("path");
  if (configured) {
    return configured;
  }
  const folder = (vscode.workspace.workspaceFolders || [])[0];
  const candidates = [];
  const pythonBin = await selectedPythonBin(folder);
  if (pythonBin) {
    candidates.push(path.join(pythonBin, EXE));
  }
  if (folder) {
    for (const venv of [".venv", "venv"]) {
      candidates.push(path.join(folder.uri.fsPath, venv, BIN, EXE));
    }
  }
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (dir) {
      candidates.push(path.join(dir, EXE));
    }
  }
  return candidates.find(isFile);
}

function initializationOptions(settings) {
  const options = {
    unsafeFixes: settings.get("unsafeFixes"),
    extendSelect: settings.get("extendSelect"),
    ignore: settings.get("ignore"),
  };
  const select = settings.get("select");
  if (Array.isArray(select)) {
    options.select = select;
  }
  return options;
}

async function start() {
  const settings = vscode.workspace.getConfiguration("threadlint");
  const command = await findExecutable(settings);
  if (!command) {
    vscode.window.showErrorMessage(
      "threadlint was not found: `pip install threadlint` in the selected Python environment, or set `threadlint.path`."
    );
    return;
  }
  const serverOptions = { command, args: settings.get("args") };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "file", language: "rust" },
    ],
    initializationOptions: initializationOptions(settings),
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher(
        "**/{pyproject.toml,threadlint.toml,.threadlint.toml}"
      ),
    },
  };
  client = new LanguageClient("threadlint", "threadlint", serverOptions, clientOptions);
  await client.start();
}

async function restart() {
  if (client) {
    await client.stop();
    client = undefined;
  }
  await start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("threadlint.restart", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("threadlint")) {
        restart();
      }
    })
  );
  await start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, findExecutable, initializationOptions };
