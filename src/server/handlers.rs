//! The handlers of the requests and notifications the server takes, one function per method,
//! each called by the dispatcher with decoded parameters.

use lsp_server::{ErrorCode, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CancelParams, CodeAction, CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, DocumentDiagnosticParams,
    DocumentDiagnosticReport, DocumentDiagnosticReportResult, FullDocumentDiagnosticReport, Hover,
    HoverParams, InitializedParams, NumberOrString, PublishDiagnosticsParams,
    RelatedFullDocumentDiagnosticReport,
};
use threadlint_analyzer::engine;

use super::dispatch::{panic_message, Reply};
use super::position::uri_to_path;
use super::{actions, apply_change, spawn_job, ClientSettings, Document, Event, Server, Stale};

pub fn code_action(
    server: &mut Server,
    id: &RequestId,
    params: CodeActionParams,
) -> Reply<Option<CodeActionResponse>> {
    let key = params.text_document.uri.as_str().to_string();
    if server.must_wait(&key) {
        return Reply::AfterAnalysis(key);
    }
    let (actions, fix_all) = actions::code_actions(server, params);
    match fix_all {
        None => Reply::Now(Ok(Some(actions))),
        // Fixing reparses the file, maybe many times: off the loop.
        Some(fix_all) => respond_later(server, id, move || {
            let mut actions = actions;
            actions.extend(fix_all.action());
            Some(actions)
        }),
    }
}

pub fn code_action_resolve(
    server: &mut Server,
    id: &RequestId,
    action: CodeAction,
) -> Reply<CodeAction> {
    match actions::fix_all_to_resolve(server, &action) {
        None => Reply::Now(Ok(action)),
        Some(fix_all) => respond_later(server, id, move || {
            let mut action = action;
            action.edit = fix_all.edit();
            action
        }),
    }
}

pub fn hover(server: &mut Server, _: &RequestId, params: HoverParams) -> Reply<Option<Hover>> {
    let key = params
        .text_document_position_params
        .text_document
        .uri
        .as_str()
        .to_string();
    if server.must_wait(&key) {
        return Reply::AfterAnalysis(key);
    }
    Reply::Now(Ok(actions::hover(server, params)))
}

pub fn document_diagnostic(
    server: &mut Server,
    _: &RequestId,
    params: DocumentDiagnosticParams,
) -> Reply<DocumentDiagnosticReportResult> {
    let key = params.text_document.uri.as_str().to_string();
    if server.must_wait(&key) {
        return Reply::AfterAnalysis(key);
    }
    let items = server
        .documents
        .get(&key)
        .map(|d| server.lsp_diagnostics(d))
        .unwrap_or_default();
    if let Some(document) = server.documents.get_mut(&key) {
        // The client has these now.
        document.published = Some(items.clone());
        document.must_publish = false;
    }
    Reply::Now(Ok(DocumentDiagnosticReportResult::Report(
        DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
            related_documents: None,
            full_document_diagnostic_report: FullDocumentDiagnosticReport {
                result_id: None,
                items,
            },
        }),
    )))
}

/// Computes a response on a thread of its own; a panic there is answered with
/// `InternalError` and logged.
fn respond_later<R: serde::Serialize>(
    server: &mut Server,
    id: &RequestId,
    job: impl FnOnce() -> R + Send + 'static,
) -> Reply<R> {
    let job_id = id.clone();
    let started =
        spawn_job(
            "request",
            server.events.0.clone(),
            move || match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                Ok(result) => Event::Respond(Response::new_ok(job_id, result), None),
                Err(panic) => {
                    let what = panic_message(panic.as_ref());
                    Event::Respond(
                        Response::new_err(
                            job_id,
                            ErrorCode::InternalError as i32,
                            format!("internal error: {what}"),
                        ),
                        Some(format!("threadlint: internal error in a request: {what}")),
                    )
                }
            },
        );
    match started {
        Ok(()) => Reply::Later,
        Err(e) => Reply::Now(Err(format!("no thread to compute the answer: {e}"))),
    }
}

pub fn initialized(server: &mut Server, _: InitializedParams) {
    if server.watch_files {
        server.watch_files = false;
        server.register_file_watchers();
    }
}

pub fn did_open(server: &mut Server, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    let Some(path) = uri_to_path(&document.uri)
        .or_else(|| server.unsaved_path(&document.uri, &document.language_id))
    else {
        return;
    };
    let key = document.uri.as_str().to_string();
    let waiting = server
        .documents
        .remove(&key)
        .map(|d| d.waiting)
        .unwrap_or_default();
    server.documents.insert(
        key.clone(),
        Document {
            uri: document.uri,
            path,
            text: document.text,
            version: document.version,
            generation: 0,
            report: None,
            running: None,
            last_good: None,
            must_publish: true,
            published: None,
            waiting,
        },
    );
    server.mark_stale(&key, Stale::Publish);
}

pub fn did_change(server: &mut Server, params: DidChangeTextDocumentParams) {
    let key = params.text_document.uri.as_str().to_string();
    let encoding = server.encoding;
    let Some(document) = server.documents.get_mut(&key) else {
        return;
    };
    for change in params.content_changes {
        apply_change(&mut document.text, change, encoding);
    }
    document.version = params.text_document.version;
    server.mark_stale(&key, Stale::Publish);
}

pub fn did_save(server: &mut Server, params: DidSaveTextDocumentParams) {
    let key = params.text_document.uri.as_str().to_string();
    let Some(document) = server.documents.get_mut(&key) else {
        return;
    };
    // The client may have dropped what it was sent: send the diagnostics again.
    document.must_publish = true;
    if document.is_analysed() {
        server.publish(&key);
    }
}

pub fn did_close(server: &mut Server, params: DidCloseTextDocumentParams) {
    let Some(document) = server.documents.remove(params.text_document.uri.as_str()) else {
        return;
    };
    if !server.pull_diagnostics {
        server.notify(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri: document.uri,
                diagnostics: Vec::new(),
                version: None,
            },
        );
    }
    // Requests about it are answered as for a document that is not open.
    for request in document.waiting {
        server.handle_request(request);
    }
}

pub fn did_change_configuration(server: &mut Server, params: DidChangeConfigurationParams) {
    if !params.settings.is_null() {
        server.client = ClientSettings::from_json(&params.settings);
    }
    server.reload();
}

pub fn did_change_watched_files(server: &mut Server, params: DidChangeWatchedFilesParams) {
    let mut reload = false;
    let mut changed = Vec::new();
    for change in params.changes {
        let Some(path) = uri_to_path(&change.uri) else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if threadlint_analyzer::config::CONFIG_FILES.contains(&name.as_str()) {
            reload = true;
        } else if engine::language_of(&path).is_some() {
            changed.push(path);
        }
    }
    if reload {
        // Indexes everything again, then checks the open documents again.
        server.reload();
    } else if !changed.is_empty() {
        server.reindex(changed);
    }
}

/// `$/cancelRequest`: a request still waiting for an analysis is answered with
/// `RequestCancelled`; one being answered is answered anyway.
pub fn cancel(server: &mut Server, params: CancelParams) {
    let id: RequestId = match params.id {
        NumberOrString::Number(n) => n.into(),
        NumberOrString::String(s) => s.into(),
    };
    let mut cancelled = None;
    for document in server.documents.values_mut() {
        if let Some(at) = document.waiting.iter().position(|r| r.id == id) {
            cancelled = Some(document.waiting.remove(at));
            break;
        }
    }
    if let Some(request) = cancelled {
        server.respond(Response::new_err(
            request.id,
            ErrorCode::RequestCanceled as i32,
            "cancelled".into(),
        ));
    }
}
