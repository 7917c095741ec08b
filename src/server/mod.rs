//! `threadlint server`: the language server (LSP over stdio).
//!
//! One thread reads messages and keeps the open documents; analysis runs the same pipeline as
//! `check` on the buffer text. Diagnostics are pushed on open, save and (debounced) change, and
//! answered for clients that pull them. Files of the workspace that are not open are indexed in
//! the background, so lock-order findings that span files stay right while one file is edited.

mod actions;
mod position;
mod transport;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, Diagnostic as LspDiagnostic,
    DiagnosticOptions, DiagnosticRelatedInformation, DiagnosticServerCapabilities,
    DiagnosticSeverity, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, HoverProviderCapability, InitializeParams, InitializeResult,
    Location, NumberOrString, PositionEncodingKind, PublishDiagnosticsParams,
    RelatedFullDocumentDiagnosticReport, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentContentChangeEvent, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use threadlint_analyzer::config::{Overrides, Resolver, Source};
use threadlint_analyzer::engine::{self, FileReport};
use threadlint_analyzer::lines::LineIndex;
use threadlint_analyzer::selection::Selector;
use threadlint_rules::lock_order::LockSummary;
use threadlint_rules::model::Span;
use threadlint_rules::Severity;

use position::{path_to_uri, uri_to_path, Encoding};

/// Changes closer together than this are analysed once.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// An open document.
struct Document {
    uri: Uri,
    path: PathBuf,
    text: String,
    version: i32,
    /// When the last change arrived, if it has not been analysed yet.
    dirty_since: Option<Instant>,
    /// The last analysis (for code actions and hover).
    report: Option<FileReport>,
    /// Rust: the last report of a version that parsed, kept while the buffer does not parse.
    last_good: Option<FileReport>,
    /// The last analysis has not been sent to the client yet (a request analysed the document
    /// before its debounce ran out).
    unpublished: bool,
}

/// Options from the client (`initializationOptions`, `workspace/didChangeConfiguration`).
#[derive(Clone, Default, Debug)]
struct ClientSettings {
    unsafe_fixes: bool,
    select: Option<Vec<String>>,
    ignore: Vec<String>,
    extend_select: Vec<String>,
}

impl ClientSettings {
    fn from_json(value: &serde_json::Value) -> Self {
        // Accept both `{ "unsafeFixes": .. }` and `{ "threadlint": { .. } }`.
        let value = value.get("threadlint").unwrap_or(value);
        let list = |key: &str| -> Option<Vec<String>> {
            value.get(key)?.as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
        };
        ClientSettings {
            unsafe_fixes: value
                .get("unsafeFixes")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            select: list("select"),
            ignore: list("ignore").unwrap_or_default(),
            extend_select: list("extendSelect").unwrap_or_default(),
        }
    }
}

struct Server {
    connection: Connection,
    encoding: Encoding,
    roots: Vec<PathBuf>,
    documents: HashMap<String, Document>,
    client: ClientSettings,
    resolver: Arc<Resolver>,
    /// Lock-order summaries of workspace files, by path (filled in the background).
    index: Arc<Mutex<HashMap<PathBuf, LockSummary>>>,
    pull_diagnostics: bool,
    /// The client accepts `workspace/diagnostic/refresh`.
    refresh_support: bool,
    /// The client can resolve a code action's edit later (`codeAction/resolve`).
    code_action_resolve: bool,
    /// The client can register file watchers (done once it says `initialized`).
    watch_files: bool,
    /// Ids of the requests the server sends to the client.
    next_request: u64,
    shutting_down: bool,
}

fn build_resolver(client: &ClientSettings) -> Resolver {
    let parse = |list: &[String]| -> Vec<Selector> {
        list.iter()
            .filter_map(|s| Selector::parse(s).ok())
            .collect()
    };
    let overrides = Overrides {
        select: client.select.as_ref().map(|s| parse(s)),
        extend_select: parse(&client.extend_select),
        ignore: parse(&client.ignore),
        ..Overrides::default()
    };
    Resolver::new(Source::Discover, overrides)
}

pub fn run() -> ExitCode {
    let (sender, receiver, io_threads) = match transport::stdio() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("threadlint server: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match serve(Connection { sender, receiver }) {
        // The protocol's exit status: 0 after `shutdown`, 1 otherwise.
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("threadlint server: {e}");
            ExitCode::from(1)
        }
    };
    io_threads.join_writer();
    code
}

/// Waits for `initialize`: other requests are refused with `ServerNotInitialized`, parameters
/// that do not decode with `InvalidParams` (the client may try again), notifications dropped.
fn wait_for_initialize(
    connection: &Connection,
) -> Result<(RequestId, InitializeParams, serde_json::Value), String> {
    loop {
        let message = connection
            .receiver
            .recv()
            .map_err(|_| "the client closed the connection before `initialize`".to_string())?;
        match message {
            Message::Request(request)
                if request.method == lsp_types::request::Initialize::METHOD =>
            {
                match serde_json::from_value::<InitializeParams>(request.params.clone()) {
                    Ok(params) => return Ok((request.id, params, request.params)),
                    Err(e) => {
                        let response = Response::new_err(
                            request.id,
                            ErrorCode::InvalidParams as i32,
                            format!("invalid initialize params: {e}"),
                        );
                        let _ = connection.sender.send(Message::Response(response));
                    }
                }
            }
            Message::Request(request) => {
                let response = Response::new_err(
                    request.id,
                    ErrorCode::ServerNotInitialized as i32,
                    format!("`{}` before `initialize`", request.method),
                );
                let _ = connection.sender.send(Message::Response(response));
            }
            Message::Notification(notification)
                if notification.method == lsp_types::notification::Exit::METHOD =>
            {
                return Err("`exit` before `initialize`".into());
            }
            Message::Notification(_) | Message::Response(_) => {}
        }
    }
}

/// Runs the server; `Ok(true)` when it ended with `shutdown` and `exit`.
fn serve(connection: Connection) -> Result<bool, String> {
    let (id, params, raw_params) = wait_for_initialize(&connection)?;
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.clone())
        .unwrap_or_default();
    let encoding = if offered.contains(&PositionEncodingKind::UTF8) {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let pull_diagnostics = params
        .capabilities
        .text_document
        .as_ref()
        .and_then(|t| t.diagnostic.as_ref())
        .is_some();
    // Read from the JSON: the protocol names it `workspace.diagnostics`, lsp-types 0.97
    // `workspace.diagnostic`.
    let refresh_support = ["diagnostics", "diagnostic"].iter().any(|key| {
        raw_params["capabilities"]["workspace"][key]["refreshSupport"].as_bool() == Some(true)
    });
    let mut roots: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| uri_to_path(&f.uri))
        .collect();
    #[allow(deprecated)]
    if roots.is_empty() {
        if let Some(root) = params.root_uri.as_ref().and_then(uri_to_path) {
            roots.push(root);
        }
    }
    let code_action_resolve = raw_params["capabilities"]["textDocument"]["codeAction"]
        ["resolveSupport"]["properties"]
        .as_array()
        .is_some_and(|properties| properties.iter().any(|p| p == "edit"));
    let client = params
        .initialization_options
        .as_ref()
        .map(ClientSettings::from_json)
        .unwrap_or_default();
    let watch_files = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);
    let capabilities = ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::new(actions::FIX_ALL_KIND),
            ]),
            resolve_provider: Some(true),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        diagnostic_provider: Some(DiagnosticServerCapabilities::Options(DiagnosticOptions {
            identifier: Some("threadlint".into()),
            inter_file_dependencies: true,
            workspace_diagnostics: false,
            ..Default::default()
        })),
        ..Default::default()
    };
    let result = InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "threadlint".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    // `initialized` is not awaited here: the main loop takes it (and anything a client sends
    // out of order) like any other message.
    connection
        .sender
        .send(Message::Response(Response::new_ok(id, result)))
        .map_err(|e| e.to_string())?;

    let resolver = Arc::new(build_resolver(&client));
    let mut server = Server {
        connection,
        encoding,
        roots,
        documents: HashMap::new(),
        client,
        resolver,
        index: Arc::new(Mutex::new(HashMap::new())),
        pull_diagnostics,
        refresh_support,
        code_action_resolve,
        watch_files,
        next_request: 0,
        shutting_down: false,
    };
    server.start_indexing();
    server.main_loop()
}

impl Server {
    /// Serves until `exit` (or the end of the input); `Ok(true)` when `shutdown` came first.
    fn main_loop(&mut self) -> Result<bool, String> {
        loop {
            // In pull mode dirty documents wait for the client to ask.
            let timeout = self
                .documents
                .values()
                .filter(|_| !self.pull_diagnostics)
                .filter_map(|d| d.dirty_since)
                .map(|since| DEBOUNCE.saturating_sub(since.elapsed()))
                .min();
            let message = match timeout {
                Some(wait) => match self.connection.receiver.recv_timeout(wait) {
                    Ok(message) => Some(message),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                        return Ok(self.shutting_down)
                    }
                },
                None => match self.connection.receiver.recv() {
                    Ok(message) => Some(message),
                    Err(_) => return Ok(self.shutting_down),
                },
            };
            match message {
                None => {}
                Some(Message::Request(request)) => {
                    if self.shutting_down && request.method != "shutdown" {
                        self.respond(Response::new_err(
                            request.id,
                            ErrorCode::InvalidRequest as i32,
                            "the server is shutting down".into(),
                        ));
                        continue;
                    }
                    if request.method == lsp_types::request::Shutdown::METHOD {
                        self.shutting_down = true;
                        self.respond(Response::new_ok(request.id, ()));
                        continue;
                    }
                    let id = request.id.clone();
                    let method = request.method.clone();
                    // A bug in one request must not take the server down.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.handle_request(request)
                    }));
                    let response = match outcome {
                        Ok(response) => response,
                        Err(panic) => {
                            let what = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            self.log(&format!("threadlint: internal error in {method}: {what}"));
                            Response::new_err(
                                id,
                                ErrorCode::InternalError as i32,
                                format!("internal error: {what}"),
                            )
                        }
                    };
                    self.respond(response);
                }
                Some(Message::Notification(notification)) => {
                    if notification.method == lsp_types::notification::Exit::METHOD {
                        return Ok(self.shutting_down);
                    }
                    let method = notification.method.clone();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.handle_notification(notification)
                    }));
                    if outcome.is_err() {
                        self.log(&format!("threadlint: internal error in {method}"));
                    }
                }
                Some(Message::Response(_)) => {}
            }
            // Debounced changes whose time has come, and analyses that a request made early.
            self.publish_due();
        }
    }

    fn next_request_id(&mut self, what: &str) -> RequestId {
        self.next_request += 1;
        RequestId::from(format!("threadlint/{what}/{}", self.next_request))
    }

    fn respond(&self, response: Response) {
        let _ = self.connection.sender.send(Message::Response(response));
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        let _ = self
            .connection
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )));
    }

    fn log(&self, message: &str) {
        self.notify(
            lsp_types::notification::LogMessage::METHOD,
            lsp_types::LogMessageParams {
                typ: lsp_types::MessageType::ERROR,
                message: message.to_string(),
            },
        );
    }

    fn handle_request(&mut self, request: Request) -> Response {
        use lsp_types::request::{
            CodeActionRequest, CodeActionResolveRequest, DocumentDiagnosticRequest, HoverRequest,
        };
        let id = request.id.clone();
        match request.method.as_str() {
            CodeActionRequest::METHOD => self.with_params(id, request, |server, params| {
                Ok(actions::code_actions(server, params))
            }),
            CodeActionResolveRequest::METHOD => self.with_params(id, request, |server, action| {
                Ok(actions::resolve(server, action))
            }),
            HoverRequest::METHOD => self.with_params(id, request, |server, params| {
                Ok(actions::hover(server, params))
            }),
            DocumentDiagnosticRequest::METHOD => self.with_params(
                id,
                request,
                |server, params: lsp_types::DocumentDiagnosticParams| {
                    let key = params.text_document.uri.as_str().to_string();
                    server.analyse(&key);
                    if let Some(document) = server.documents.get_mut(&key) {
                        // The client has these now.
                        document.unpublished = false;
                    }
                    let items = server
                        .documents
                        .get(&key)
                        .map(|d| server.lsp_diagnostics(d))
                        .unwrap_or_default();
                    Ok(DocumentDiagnosticReportResult::Report(
                        DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                            related_documents: None,
                            full_document_diagnostic_report: FullDocumentDiagnosticReport {
                                result_id: None,
                                items,
                            },
                        }),
                    ))
                },
            ),
            // Exercises the panic guard in the tests; debug builds only.
            #[cfg(debug_assertions)]
            "threadlint/testPanic" => panic!("a test asked for a panic"),
            _ => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("unknown method {}", request.method),
            ),
        }
    }

    /// Decodes a request's parameters (answering `InvalidParams` when they do not decode) and
    /// runs `handler`.
    fn with_params<P: serde::de::DeserializeOwned, R: serde::Serialize>(
        &mut self,
        id: RequestId,
        request: Request,
        handler: impl FnOnce(&mut Self, P) -> Result<R, String>,
    ) -> Response {
        match serde_json::from_value::<P>(request.params) {
            Ok(params) => match handler(self, params) {
                Ok(result) => Response::new_ok(id, result),
                Err(message) => Response::new_err(id, ErrorCode::RequestFailed as i32, message),
            },
            Err(e) => Response::new_err(
                id,
                ErrorCode::InvalidParams as i32,
                format!("invalid params: {e}"),
            ),
        }
    }

    fn handle_notification(&mut self, notification: Notification) {
        use lsp_types::notification::{
            DidChangeConfiguration, DidChangeTextDocument, DidChangeWatchedFiles,
            DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
        };
        let params = notification.params;
        match notification.method.as_str() {
            lsp_types::notification::Initialized::METHOD if self.watch_files => {
                self.watch_files = false;
                self.register_file_watchers();
            }
            DidOpenTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params)
                else {
                    return;
                };
                let document = params.text_document;
                let Some(path) = uri_to_path(&document.uri)
                    .or_else(|| self.unsaved_path(&document.uri, &document.language_id))
                else {
                    return;
                };
                let key = document.uri.as_str().to_string();
                self.documents.insert(
                    key.clone(),
                    Document {
                        uri: document.uri,
                        path,
                        text: document.text,
                        version: document.version,
                        dirty_since: None,
                        report: None,
                        last_good: None,
                        unpublished: false,
                    },
                );
                self.analyse_and_publish(&key);
            }
            DidChangeTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params)
                else {
                    return;
                };
                let key = params.text_document.uri.as_str().to_string();
                let encoding = self.encoding;
                let Some(document) = self.documents.get_mut(&key) else {
                    return;
                };
                for change in params.content_changes {
                    apply_change(&mut document.text, change, encoding);
                }
                document.version = params.text_document.version;
                document.dirty_since = Some(Instant::now());
            }
            DidSaveTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(params)
                else {
                    return;
                };
                let key = params.text_document.uri.as_str().to_string();
                self.analyse_and_publish(&key);
            }
            DidCloseTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(params)
                else {
                    return;
                };
                if let Some(document) = self.documents.remove(params.text_document.uri.as_str()) {
                    if !self.pull_diagnostics {
                        self.notify(
                            lsp_types::notification::PublishDiagnostics::METHOD,
                            PublishDiagnosticsParams {
                                uri: document.uri,
                                diagnostics: Vec::new(),
                                version: None,
                            },
                        );
                    }
                }
            }
            DidChangeConfiguration::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidChangeConfigurationParams>(params)
                else {
                    return;
                };
                if !params.settings.is_null() {
                    self.client = ClientSettings::from_json(&params.settings);
                }
                self.reload();
            }
            DidChangeWatchedFiles::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(params)
                else {
                    return;
                };
                let mut reload = false;
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
                        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
                        match engine::index_file(&path, self.resolver.as_ref()) {
                            Some(summary) => {
                                index.insert(path, summary);
                            }
                            None => {
                                index.remove(&path);
                            }
                        }
                    }
                }
                if reload {
                    self.reload();
                } else {
                    self.republish_all();
                }
            }
            _ => {}
        }
    }

    /// A path for a buffer that is not a file (`untitled:Untitled-1`): in the first workspace
    /// folder, so that its configuration applies, with the extension of its language.
    fn unsaved_path(&self, uri: &Uri, language_id: &str) -> Option<PathBuf> {
        let extension = match language_id {
            "python" => "py",
            "rust" => "rs",
            _ => return None,
        };
        let name: String = uri
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let folder = self
            .roots
            .first()
            .cloned()
            .or_else(|| std::env::current_dir().ok())?;
        Some(folder.join(format!(".threadlint-unsaved-{name}.{extension}")))
    }

    /// Settings changed: read configuration again, re-index, re-analyse every open document.
    fn reload(&mut self) {
        self.resolver = Arc::new(build_resolver(&self.client));
        self.start_indexing();
        self.republish_all();
    }

    fn republish_all(&mut self) {
        if self.pull_diagnostics {
            // Analysed again when the client asks, which the refresh tells it to do.
            for document in self.documents.values_mut() {
                document.dirty_since.get_or_insert_with(Instant::now);
            }
            self.refresh();
            return;
        }
        let keys: Vec<String> = self.documents.keys().cloned().collect();
        for key in keys {
            self.analyse_and_publish(&key);
        }
    }

    /// Asks a pull client to pull diagnostics again, if it supports being asked.
    fn refresh(&mut self) {
        if !self.refresh_support {
            return;
        }
        let id = self.next_request_id("refresh");
        let request = Request::new(
            id,
            lsp_types::request::WorkspaceDiagnosticRefresh::METHOD.into(),
            (),
        );
        let _ = self.connection.sender.send(Message::Request(request));
    }

    fn register_file_watchers(&mut self) {
        let watchers = [
            "**/*.py",
            "**/*.rs",
            "**/pyproject.toml",
            "**/threadlint.toml",
            "**/.threadlint.toml",
        ]
        .iter()
        .map(|glob| lsp_types::FileSystemWatcher {
            glob_pattern: lsp_types::GlobPattern::String(glob.to_string()),
            kind: None,
        })
        .collect();
        let registration = lsp_types::Registration {
            id: "threadlint-watch".into(),
            method: lsp_types::notification::DidChangeWatchedFiles::METHOD.into(),
            register_options: serde_json::to_value(
                lsp_types::DidChangeWatchedFilesRegistrationOptions { watchers },
            )
            .ok(),
        };
        let request = Request::new(
            self.next_request_id("registerWatchers"),
            lsp_types::request::RegisterCapability::METHOD.into(),
            lsp_types::RegistrationParams {
                registrations: vec![registration],
            },
        );
        let _ = self.connection.sender.send(Message::Request(request));
    }

    /// Indexes the lock-order summaries of every file under the workspace roots, in the
    /// background.
    fn start_indexing(&self) {
        let roots = self.roots.clone();
        let index = self.index.clone();
        let resolver = self.resolver.clone();
        std::thread::Builder::new()
            .name("threadlint-index".into())
            .stack_size(256 * 1024 * 1024)
            .spawn(move || {
                let files = threadlint_analyzer::discover::files(&roots, resolver.as_ref(), true);
                for path in files {
                    if let Some(summary) = engine::index_file(&path, resolver.as_ref()) {
                        index
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(path, summary);
                    }
                }
            })
            .ok();
    }

    /// Publishes the documents whose debounce ran out, and those a request analysed before it
    /// did (push mode only).
    fn publish_due(&mut self) {
        if self.pull_diagnostics {
            return;
        }
        let due: Vec<String> = self
            .documents
            .iter()
            .filter(|(_, d)| match d.dirty_since {
                Some(since) => since.elapsed() >= DEBOUNCE,
                None => d.unpublished,
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.analyse(&key);
            self.publish(&key);
        }
    }

    /// Analyses a document if it changed since its last analysis.
    fn analyse(&mut self, key: &str) {
        let others: Vec<(PathBuf, LockSummary)> = {
            let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            index.iter().map(|(p, s)| (p.clone(), s.clone())).collect()
        };
        let resolver = self.resolver.clone();
        let Some(document) = self.documents.get_mut(key) else {
            return;
        };
        if document.report.is_some() && document.dirty_since.is_none() {
            return;
        }
        document.dirty_since = None;
        document.unpublished = true;
        let report = engine::check_document(
            &document.path,
            document.text.clone(),
            resolver.as_ref(),
            &others,
        );
        let broken = report
            .diagnostics
            .iter()
            .any(|d| d.name == "invalid-syntax");
        let is_rust =
            engine::language_of(&document.path) == Some(threadlint_rules::model::Language::Rust);
        if is_rust && broken {
            // syn has no error recovery: keep the last good findings, and say why.
            if let Some(good) = &document.last_good {
                let mut merged = report.clone();
                let positions = LineIndex::new(&document.text);
                // The findings outside the text changed since then, moved to where that text
                // is now; those in it are gone. Their fixes were made for the old text.
                let (start, old_end, replacement) =
                    position::changed_part(&good.source, &document.text);
                let (start, old_end) = (start as u32, old_end as u32);
                let moved = |span: Span| -> Option<Span> {
                    if span.end <= start {
                        Some(span)
                    } else if span.start >= old_end {
                        let shift =
                            |offset: u32| offset - old_end + start + replacement.len() as u32;
                        Some(Span::new(shift(span.start), shift(span.end)))
                    } else {
                        None
                    }
                };
                for diagnostic in good.diagnostics.iter().filter(|d| d.code.is_some()) {
                    let Some(span) = moved(diagnostic.span) else {
                        continue;
                    };
                    let mut kept = diagnostic.clone();
                    kept.span = span;
                    kept.fix = None;
                    kept.related.retain_mut(|related| {
                        related.file.is_some()
                            || moved(related.span)
                                .map(|span| related.span = span)
                                .is_some()
                    });
                    kept.message = format!("{} (from the last version that parsed)", kept.message);
                    merged.diagnostics.push(kept);
                }
                merged.lines = Arc::new(positions);
                document.report = Some(merged);
                return;
            }
        } else if !broken {
            document.last_good = Some(report.clone());
        }
        document.report = Some(report);
    }

    /// Analyses a document now and publishes the result. In pull mode the document is only
    /// marked for analysis: the client pulls on open, change and save by itself.
    fn analyse_and_publish(&mut self, key: &str) {
        if let Some(document) = self.documents.get_mut(key) {
            document.dirty_since.get_or_insert_with(Instant::now);
        }
        if self.pull_diagnostics {
            return;
        }
        self.analyse(key);
        self.publish(key);
    }

    /// Sends a document's last analysis (push mode).
    fn publish(&mut self, key: &str) {
        if self.pull_diagnostics {
            return;
        }
        let Some(document) = self.documents.get(key) else {
            return;
        };
        let diagnostics = self.lsp_diagnostics(document);
        self.notify(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri: document.uri.clone(),
                diagnostics,
                version: Some(document.version),
            },
        );
        if let Some(document) = self.documents.get_mut(key) {
            document.unpublished = false;
        }
    }

    fn lsp_diagnostics(&self, document: &Document) -> Vec<LspDiagnostic> {
        let Some(report) = &document.report else {
            return Vec::new();
        };
        report
            .diagnostics
            .iter()
            .map(|diagnostic| {
                let range = position::range(
                    &document.text,
                    &report.lines,
                    diagnostic.span,
                    self.encoding,
                );
                let related: Vec<DiagnosticRelatedInformation> = diagnostic
                    .related
                    .iter()
                    .filter_map(|related| {
                        let (uri, range) = match &related.file {
                            None => (
                                document.uri.clone(),
                                position::range(
                                    &document.text,
                                    &report.lines,
                                    related.span,
                                    self.encoding,
                                ),
                            ),
                            Some(path) => {
                                let path = Path::new(path);
                                // An open document: its URI as the client spelled it, and the
                                // text the client has.
                                let (uri, text) =
                                    match self.documents.values().find(|d| d.path == path) {
                                        Some(open) => (open.uri.clone(), open.text.clone()),
                                        None => (
                                            path_to_uri(path)?,
                                            std::fs::read_to_string(path).ok()?,
                                        ),
                                    };
                                let lines = LineIndex::new(&text);
                                (
                                    uri,
                                    position::range(&text, &lines, related.span, self.encoding),
                                )
                            }
                        };
                        Some(DiagnosticRelatedInformation {
                            location: Location { uri, range },
                            message: related.message.clone(),
                        })
                    })
                    .collect();
                let mut message = diagnostic.message.clone();
                if let Some(help) = &diagnostic.help {
                    message.push_str("\nhelp: ");
                    message.push_str(help);
                }
                LspDiagnostic {
                    range,
                    severity: Some(match diagnostic.severity {
                        Severity::Error => DiagnosticSeverity::ERROR,
                        Severity::Warning => DiagnosticSeverity::WARNING,
                    }),
                    code: Some(NumberOrString::String(
                        diagnostic.code.unwrap_or(diagnostic.name).to_string(),
                    )),
                    code_description: diagnostic
                        .code
                        .and_then(threadlint_rules::registry::find)
                        .and_then(|rule| rule.url().parse().ok())
                        .map(|href| lsp_types::CodeDescription { href }),
                    source: Some("threadlint".into()),
                    message,
                    related_information: (!related.is_empty()).then_some(related),
                    tags: None,
                    data: None,
                }
            })
            .collect()
    }
}

/// Applies one incremental (or full) change to a document's text.
fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent, encoding: Encoding) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let lines = LineIndex::new(text);
            let start = position::offset(text, &lines, range.start, encoding);
            let end = position::offset(text, &lines, range.end, encoding).max(start);
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                text.replace_range(start..end, &change.text);
            }
        }
    }
}
