"""An editor session against `threadlint server`, driven by pytest-lsp (a real LSP client).

Run by `tests/e2e.rs` (`cargo test --test e2e -- --include-ignored lsp`), which installs
`requirements.txt` into a virtual environment and passes the binary in `THREADLINT_BIN`.

The session is played twice, with the capabilities pytest-lsp recorded from real editors:
Visual Studio Code 1.65 (UTF-16 positions, diagnostics pushed by the server) and Neovim 0.11
(UTF-8 positions, diagnostics pulled by the client). Edits are applied in the negotiated
encoding; the line the fix touches has non-ASCII text after the edit.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SOURCE = """\
import threading

cond = threading.Condition()
items = []


def get():
    with cond:
        if not items:  # wait for a producer (é, 🔒: not ASCII)
            cond.wait()
        return items.pop()
"""

CLIENTS = ["visual-studio-code@v1.65.2", "neovim@v0.11.0"]
TIMEOUT = 20.0


def server_command() -> list[str]:
    binary = os.environ.get("THREADLINT_BIN")
    if not binary:
        pytest.fail("set THREADLINT_BIN to the threadlint binary")
    return [binary, "server"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command()), params=CLIENTS)
async def client(lsp_client: LanguageClient, request, tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    capabilities = client_capabilities(request.param)
    lsp_client.registrations = []

    # Editors that can watch files (VS Code) are asked to watch configuration files; the test
    # client has no handler for that of its own.
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams):
        lsp_client.registrations.extend(params.registrations)
        return None

    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="workspace")],
        )
    )
    lsp_client.root = root
    lsp_client.encoding = result.capabilities.position_encoding
    lsp_client.pulls = capabilities.text_document is not None and capabilities.text_document.diagnostic is not None
    lsp_client.watches = bool(
        capabilities.workspace
        and capabilities.workspace.did_change_watched_files
        and capabilities.workspace.did_change_watched_files.dynamic_registration
    )
    yield
    await lsp_client.shutdown_session()


def offset_of(text: str, position: types.Position, encoding: str) -> int:
    """The index in `text` of an LSP position in the negotiated encoding."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        if encoding == types.PositionEncodingKind.Utf8:
            units += len(char.encode("utf-8"))
        elif encoding == types.PositionEncodingKind.Utf32:
            units += 1
        else:
            units += len(char.encode("utf-16-le")) // 2
    return start + len(line)


def apply_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    spans = [(offset_of(text, e.range.start, encoding), offset_of(text, e.range.end, encoding), e.new_text) for e in edits]
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


async def diagnostics(client: LanguageClient, uri: str, wanted) -> list[types.Diagnostic]:
    """The document's diagnostics once `wanted(diagnostics)` holds: pulled, or pushed."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if client.pulls:
            report = await client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport), report
            found = list(report.items)
        else:
            found = list(client.diagnostics.get(uri, []))
        if wanted(found):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for diagnostics of {uri}; last: {found}")
        await asyncio.sleep(0.05)


async def test_quick_fix_makes_the_wait_diagnostic_go_away(client: LanguageClient):
    path = client.root / "queue_user.py"
    path.write_text(SOURCE, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
        )
    )

    found = await diagnostics(client, uri, lambda ds: len(ds) > 0)
    assert [d.code for d in found] == ["TL002"], found
    diagnostic = found[0]
    assert diagnostic.source == "threadlint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description is not None and diagnostic.code_description.href.endswith("TL002.md")
    assert diagnostic.range.start == types.Position(line=9, character=12), diagnostic.range

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    titles = [a.title for a in actions or []]
    fixes = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.title.startswith("Fix TL002")]
    assert len(fixes) == 1, titles
    fix = fixes[0]
    assert fix.kind == types.CodeActionKind.QuickFix
    assert "(safe)" in fix.title, fix.title
    assert "Disable TL002 for this line" in titles, titles
    assert fix.edit is not None and fix.edit.changes is not None, fix

    fixed = apply_edits(SOURCE, list(fix.edit.changes[uri]), client.encoding)
    assert fixed == SOURCE.replace("if not items:", "while not items:"), fixed
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    assert await diagnostics(client, uri, lambda ds: len(ds) == 0) == []

    if client.watches:
        methods = [r.method for r in client.registrations]
        assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES in methods, client.registrations

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostic.range.start)
    )
    assert hover is None, "no finding left to explain"


if __name__ == "__main__":
    sys.exit(pytest.main([str(pathlib.Path(__file__).parent), *sys.argv[1:]]))
