"""Measures the language server's latency at the protocol level: the time from a
`textDocument/didChange` notification to the `textDocument/publishDiagnostics` for that version.

    python3 bench/lsp_latency.py THREADLINT WORKSPACE FILE [EDITS]

THREADLINT is the binary, WORKSPACE the folder opened as the workspace (its files are indexed
in the background, as an editor's would be), FILE a file in it that is opened and edited EDITS
times (default 200): each edit types one character into a comment line at the end of the file,
the way a person types, as an incremental change. Prints the median, 90th percentile and worst
latency in milliseconds, and the time the first diagnostics of the file took after opening it.
Standard library only.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


class Client:
    def __init__(self, command):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0

    def send(self, message):
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == self.next_id and "method" not in message:
                return message

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def receive(self):
        length = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return json.loads(self.process.stdout.read(length))

    def diagnostics_for(self, uri, version):
        """Waits for the diagnostics of `uri` at `version` (or later)."""
        while True:
            message = self.receive()
            if message.get("method") != "textDocument/publishDiagnostics":
                continue
            params = message["params"]
            if params["uri"] == uri and (params.get("version") or 0) >= version:
                return params


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    binary, workspace, file = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    edits = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    client = Client([binary, "server"])
    root = workspace.as_uri()
    client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root,
            "workspaceFolders": [{"uri": root, "name": workspace.name}],
            "capabilities": {},
        },
    )
    client.notify("initialized", {})
    uri = file.as_uri()
    text = file.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    text += "# edited: \n"
    last_line = text.count("\n") - 1
    started = time.perf_counter()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    first = client.diagnostics_for(uri, 1)
    opened = time.perf_counter() - started
    # Let the background index of the workspace finish before timing edits.
    time.sleep(float(os.environ.get("LSP_SETTLE_SECONDS", "5")))
    latencies = []
    column = len("# edited: ")
    for version in range(2, edits + 2):
        change = {
            "range": {
                "start": {"line": last_line, "character": column},
                "end": {"line": last_line, "character": column},
            },
            "text": "x",
        }
        column += 1
        started = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        client.diagnostics_for(uri, version)
        latencies.append((time.perf_counter() - started) * 1000)
    client.request("shutdown", None)
    client.notify("exit", None)
    client.process.wait(timeout=10)
    latencies.sort()
    print(f"file: {file.name}, {text.count(chr(10))} lines, {len(first['diagnostics'])} diagnostics")
    print(f"first diagnostics after opening: {opened * 1000:.1f} ms")
    print(
        f"{edits} edits: median {statistics.median(latencies):.1f} ms, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, worst {latencies[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
