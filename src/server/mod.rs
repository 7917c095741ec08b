//! `threadlint server`: the language server (LSP over stdio).
//!
//! One thread reads messages and keeps the open documents; it never analyses. Analyses (the
//! same pipeline as `check`, on the buffer text), fixes and the workspace index run on threads
//! of their own with `check`'s large stacks and report back to it, so requests (`shutdown`
//! among them) are answered while a large file is analysed. Diagnostics are pushed as soon as
//! an analysis ends, and answered for clients that pull them. Files of the workspace that are
//! not open are indexed in the background, so lock-order findings that span files stay right
//! while one file is edited.

mod actions;
mod carry_over;
mod dispatch;
mod handlers;
mod position;
mod transport;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, Diagnostic as LspDiagnostic,
    DiagnosticOptions, DiagnosticRelatedInformation, DiagnosticServerCapabilities,
    DiagnosticSeverity, HoverProviderCapability, InitializeParams, InitializeResult, Location,
    NumberOrString, PositionEncodingKind, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentContentChangeEvent, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use threadlint_analyzer::config::{Overrides, Resolver, Source};
use threadlint_analyzer::engine::{self, FileReport};
use threadlint_analyzer::lines::LineIndex;
use threadlint_analyzer::selection::Selector;
use threadlint_analyzer::Problem;
use threadlint_rules::lock_order::LockSummary;
use threadlint_rules::model::Span;
use threadlint_rules::Severity;

use position::{path_to_uri, uri_to_path, Encoding};

use dispatch::{NotificationDispatcher, Reply, RequestDispatcher};

/// The stack of the threads that analyse and fix documents, as large as `check` gives its
/// workers: deeply nested code must not overflow it.
const JOB_STACK_BYTES: usize = 256 * 1024 * 1024;

/// An open document.
struct Document {
    uri: Uri,
    path: PathBuf,
    text: String,
    version: i32,
    /// Changes whenever something its analysis depends on changes: its text, the settings,
    /// other files of the workspace.
    generation: u64,
    /// The last analysis (for diagnostics, code actions and hover) and its generation.
    report: Option<(u64, FileReport)>,
    /// The generation being analysed, if any: one analysis at a time per document, so edits
    /// that arrive meanwhile are analysed together once it ends.
    running: Option<u64>,
    /// Rust: the last report of a version that parsed, kept while the buffer does not parse.
    last_good: Option<FileReport>,
    /// The next analysis is sent even if it finds what the client already has (the document
    /// was opened, edited or saved, or the settings changed).
    must_publish: bool,
    /// The diagnostics the client has (pushed, or answered to a pull).
    published: Option<Vec<LspDiagnostic>>,
    /// Requests that wait for the analysis of the current generation.
    waiting: Vec<Request>,
}

impl Document {
    fn is_analysed(&self) -> bool {
        matches!(&self.report, Some((generation, _)) if *generation == self.generation)
    }

    fn report(&self) -> Option<&FileReport> {
        self.report.as_ref().map(|(_, report)| report)
    }
}

/// What the threads the server starts tell its message loop.
enum Event {
    /// An analysis of `generation` of a document ended.
    Analysed {
        key: String,
        generation: u64,
        report: FileReport,
        last_good: Option<FileReport>,
        /// Why the analysis failed (a panic), to be logged.
        failure: Option<String>,
    },
    /// A response computed off the loop, and what to log with it.
    Respond(Response, Option<String>),
    /// Lock-order summaries of workspace files changed: open documents are checked again.
    Indexed,
}

/// Why a document is analysed again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stale {
    /// Opened, edited, saved, or settings changed: the result is sent in any case.
    Publish,
    /// Other files changed: the result is sent only if it differs from what the client has.
    IfChanged,
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
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            select: list("select"),
            ignore: list("ignore").unwrap_or_default(),
            extend_select: list("extendSelect").unwrap_or_default(),
        }
    }
}

pub struct Server {
    connection: Connection,
    /// The method of the last notification handled (empty after a request or a response).
    last_message: String,
    encoding: Encoding,
    roots: Vec<PathBuf>,
    documents: HashMap<String, Document>,
    client: ClientSettings,
    resolver: Arc<Resolver>,
    /// Lock-order summaries of workspace files, by path (filled in the background).
    index: Arc<Mutex<WorkspaceIndex>>,
    /// Where jobs off the message loop report to it.
    events: (Sender<Event>, Receiver<Event>),
    next_generation: u64,
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
        last_message: String::new(),
        encoding,
        roots,
        documents: HashMap::new(),
        client,
        resolver,
        index: Arc::new(Mutex::new(WorkspaceIndex::default())),
        events: crossbeam_channel::unbounded(),
        next_generation: 0,
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

/// Custom requests.
mod ext {
    /// Panics in its handler: exercises the panic guard in the tests; debug builds only.
    #[cfg(debug_assertions)]
    pub enum TestPanic {}

    #[cfg(debug_assertions)]
    impl lsp_types::request::Request for TestPanic {
        type Params = serde_json::Value;
        type Result = ();
        const METHOD: &'static str = "threadlint/testPanic";
    }
}

/// How long after an edit the next one still joins its burst.
const BURST_GAP: Duration = Duration::from_millis(3);
/// How long a burst of edits can hold back their analysis.
const BURST_LIMIT: Duration = Duration::from_millis(20);

fn is_edit(method: &str) -> bool {
    method == <lsp_types::notification::DidChangeTextDocument as lsp_types::notification::Notification>::METHOD
}

/// In debug builds, a document containing this text panics while it is analysed, which
/// exercises the isolation of analyses in the tests.
#[cfg(debug_assertions)]
const TEST_PANIC_MARKER: &str = "threadlint-test: panic while analysing";

impl Server {
    /// Serves until `exit` (or the end of the input); `Ok(true)` when `shutdown` came first.
    ///
    /// Nothing slow runs here: analyses, fixes and indexing run on threads of their own and
    /// report back as [`Event`]s, so `shutdown` and other requests are answered at once.
    fn main_loop(&mut self) -> Result<bool, String> {
        let events = self.events.1.clone();
        loop {
            crossbeam_channel::select! {
                recv(self.connection.receiver) -> message => {
                    let Ok(message) = message else {
                        return Ok(self.shutting_down);
                    };
                    if let Some(code) = self.handle_message(message) {
                        return Ok(code);
                    }
                }
                recv(events) -> event => {
                    if let Ok(event) = event {
                        // Publishing converts positions and answers waiting requests: a bug
                        // there must not take the server down either.
                        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.handle_event(event);
                        }));
                        if let Err(panic) = outcome {
                            let what = dispatch::panic_message(panic.as_ref());
                            self.log(&format!("threadlint: internal error: {what}"));
                        }
                    }
                }
            }
            // Messages that arrived together (a burst of edits) are taken in before analysing,
            // so the burst is analysed once, as its last version. An edit that follows an
            // edit within a few milliseconds (the client still writing the burst, or this
            // thread reading it on a busy machine) joins it.
            let burst_ends = Instant::now() + BURST_LIMIT;
            loop {
                let message = match self.connection.receiver.try_recv() {
                    Ok(message) => message,
                    Err(_) if !is_edit(&self.last_message) || Instant::now() >= burst_ends => {
                        break;
                    }
                    Err(_) => match self.connection.receiver.recv_timeout(BURST_GAP) {
                        Ok(message) => message,
                        Err(_) => break,
                    },
                };
                if let Some(code) = self.handle_message(message) {
                    return Ok(code);
                }
            }
            self.start_analyses();
        }
    }

    /// Handles one message; `Some(status)` when it was `exit`.
    fn handle_message(&mut self, message: Message) -> Option<bool> {
        self.last_message = match &message {
            Message::Notification(notification) => notification.method.clone(),
            _ => String::new(),
        };
        match message {
            Message::Request(request) => self.handle_request(request),
            Message::Notification(notification) => {
                if notification.method == lsp_types::notification::Exit::METHOD {
                    return Some(self.shutting_down);
                }
                self.handle_notification(notification);
            }
            Message::Response(_) => {}
        }
        None
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Analysed {
                key,
                generation,
                report,
                last_good,
                failure,
            } => {
                if let Some(why) = failure {
                    self.log(&why);
                }
                self.analysed(&key, generation, report, last_good);
            }
            Event::Respond(response, failure) => {
                if let Some(why) = failure {
                    self.log(&why);
                }
                self.respond(response);
            }
            Event::Indexed => self.mark_all_stale(Stale::IfChanged),
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

    fn handle_request(&mut self, request: Request) {
        use lsp_types::request::{
            CodeActionRequest, CodeActionResolveRequest, DocumentDiagnosticRequest, HoverRequest,
            Shutdown,
        };
        if self.shutting_down && request.method != Shutdown::METHOD {
            self.respond(Response::new_err(
                request.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            ));
            return;
        }
        let mut dispatcher = RequestDispatcher::new(self, request);
        dispatcher
            .on::<Shutdown>(|server, _, ()| {
                server.shutting_down = true;
                Reply::Now(Ok(()))
            })
            .on::<CodeActionRequest>(handlers::code_action)
            .on::<CodeActionResolveRequest>(handlers::code_action_resolve)
            .on::<HoverRequest>(handlers::hover)
            .on::<DocumentDiagnosticRequest>(handlers::document_diagnostic);
        #[cfg(debug_assertions)]
        dispatcher.on::<ext::TestPanic>(|_, _, _| panic!("a test asked for a panic"));
        dispatcher.finish();
    }

    fn handle_notification(&mut self, notification: Notification) {
        use lsp_types::notification::{
            Cancel, DidChangeConfiguration, DidChangeTextDocument, DidChangeWatchedFiles,
            DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Initialized,
        };
        NotificationDispatcher::new(self, notification)
            .on::<Initialized>(handlers::initialized)
            .on::<DidOpenTextDocument>(handlers::did_open)
            .on::<DidChangeTextDocument>(handlers::did_change)
            .on::<DidSaveTextDocument>(handlers::did_save)
            .on::<DidCloseTextDocument>(handlers::did_close)
            .on::<DidChangeConfiguration>(handlers::did_change_configuration)
            .on::<DidChangeWatchedFiles>(handlers::did_change_watched_files)
            .on::<Cancel>(handlers::cancel)
            .finish();
    }

    /// The request is answered once the document's current text is analysed.
    fn wait_for_analysis(&mut self, key: &str, request: Request) {
        match self.documents.get_mut(key) {
            Some(document) => document.waiting.push(request),
            // Closed meanwhile: answered now, as for a document never opened.
            None => self.handle_request(request),
        }
    }

    /// Whether a request about `key` must wait for its analysis: the document is open and its
    /// current text not analysed yet.
    fn must_wait(&self, key: &str) -> bool {
        self.documents.get(key).is_some_and(|d| !d.is_analysed())
    }

    fn new_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Marks a document for analysis (started when the messages at hand are handled).
    fn mark_stale(&mut self, key: &str, why: Stale) {
        let generation = self.new_generation();
        if let Some(document) = self.documents.get_mut(key) {
            document.generation = generation;
            document.must_publish |= why == Stale::Publish;
        }
    }

    fn mark_all_stale(&mut self, why: Stale) {
        let keys: Vec<String> = self.documents.keys().cloned().collect();
        for key in keys {
            self.mark_stale(&key, why);
        }
    }

    /// Starts an analysis for every document whose current text is not analysed and that is
    /// not being analysed already, as many at a time as there are cores (after a settings
    /// change every open document is due at once). Those with requests waiting go first.
    fn start_analyses(&mut self) {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let running = self
            .documents
            .values()
            .filter(|d| d.running.is_some())
            .count();
        let mut due: Vec<(bool, String)> = self
            .documents
            .iter()
            .filter(|(_, d)| !d.is_analysed() && d.running.is_none())
            .map(|(key, d)| (d.waiting.is_empty(), key.clone()))
            .collect();
        due.sort();
        for (_, key) in due.into_iter().take(cores.saturating_sub(running)) {
            self.start_analysis(key);
        }
    }

    fn start_analysis(&mut self, key: String) {
        let Some(document) = self.documents.get_mut(&key) else {
            return;
        };
        let generation = document.generation;
        document.running = Some(generation);
        let path = document.path.clone();
        let text = document.text.clone();
        let last_good = document.last_good.clone();
        let resolver = self.resolver.clone();
        let index = self.index.clone();
        let job_key = key.clone();
        let started = spawn_job("analysis", self.events.0.clone(), move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                analyse(&path, &text, resolver.as_ref(), &index, last_good.clone())
            }));
            match outcome {
                Ok((report, last_good)) => Event::Analysed {
                    key: job_key,
                    generation,
                    report,
                    last_good,
                    failure: None,
                },
                Err(panic) => {
                    let what = dispatch::panic_message(panic.as_ref());
                    Event::Analysed {
                        failure: Some(format!(
                            "threadlint: internal error while analysing {}: {what}",
                            path.display()
                        )),
                        report: internal_error_report(&path, &text, &what),
                        key: job_key,
                        generation,
                        last_good,
                    }
                }
            }
        });
        if let Err(e) = started {
            let path = self.documents[&key].path.clone();
            let text = self.documents[&key].text.clone();
            let what = format!("no thread to analyse it: {e}");
            self.log(&format!("threadlint: {}: {what}", path.display()));
            let report = internal_error_report(&path, &text, &what);
            self.analysed(&key, generation, report, None);
        }
    }

    /// An analysis ended: kept if it is of the document's current text (a newer edit makes it
    /// stale, and its result is dropped), then published and the requests waiting for it
    /// answered.
    fn analysed(
        &mut self,
        key: &str,
        generation: u64,
        report: FileReport,
        last_good: Option<FileReport>,
    ) {
        let Some(document) = self.documents.get_mut(key) else {
            return;
        };
        if document.running == Some(generation) {
            document.running = None;
        }
        if last_good.is_some() {
            document.last_good = last_good;
        }
        if generation != document.generation {
            return;
        }
        document.report = Some((generation, report));
        self.publish(key);
        let waiting = self
            .documents
            .get_mut(key)
            .map(|d| std::mem::take(&mut d.waiting))
            .unwrap_or_default();
        for request in waiting {
            self.handle_request(request);
        }
    }

    /// Sends a document's analysis (push mode) when it must be sent or differs from what the
    /// client has; in pull mode, asks the client to pull again when it differs.
    fn publish(&mut self, key: &str) {
        let Some(document) = self.documents.get(key) else {
            return;
        };
        let diagnostics = self.lsp_diagnostics(document);
        let changed = document.published.as_ref() != Some(&diagnostics);
        let must = document.must_publish;
        let (uri, version) = (document.uri.clone(), document.version);
        if self.pull_diagnostics {
            if changed && !must && document.published.is_some() {
                self.refresh();
            }
            if let Some(document) = self.documents.get_mut(key) {
                document.must_publish = false;
            }
            return;
        }
        if self.shutting_down || !(must || changed) {
            return;
        }
        self.notify(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri,
                diagnostics: diagnostics.clone(),
                version: Some(version),
            },
        );
        if let Some(document) = self.documents.get_mut(key) {
            document.must_publish = false;
            document.published = Some(diagnostics);
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
        self.mark_all_stale(Stale::Publish);
        if self.pull_diagnostics {
            self.refresh();
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
    /// background; open documents are checked again when it is done.
    fn start_indexing(&self) {
        let roots = self.roots.clone();
        let index = self.index.clone();
        let resolver = self.resolver.clone();
        let _ = spawn_job("index", self.events.0.clone(), move || {
            let files = threadlint_analyzer::discover::files(&roots, resolver.as_ref(), true);
            reindex(&files, resolver.as_ref(), &index);
            Event::Indexed
        });
    }

    /// Indexes files that changed on disk, in the background; open documents are checked
    /// again when it is done.
    fn reindex(&self, paths: Vec<PathBuf>) {
        let index = self.index.clone();
        let resolver = self.resolver.clone();
        let _ = spawn_job("index", self.events.0.clone(), move || {
            reindex(&paths, resolver.as_ref(), &index);
            Event::Indexed
        });
    }

    fn lsp_diagnostics(&self, document: &Document) -> Vec<LspDiagnostic> {
        let Some(report) = document.report() else {
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
            let start = position::offset_by_scan(text, range.start, encoding);
            let end = position::offset_by_scan(text, range.end, encoding).max(start);
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                text.replace_range(start..end, &change.text);
            }
        }
    }
}

/// Runs `job` on a thread of its own with a large stack and sends what it returns to the
/// message loop.
fn spawn_job(
    name: &str,
    events: Sender<Event>,
    job: impl FnOnce() -> Event + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(format!("threadlint-{name}"))
        .stack_size(JOB_STACK_BYTES)
        .spawn(move || {
            let _ = events.send(job());
        })
        .map(drop)
}

/// The lock-order summaries of the workspace's files, and the other files as the last
/// analysed document saw them.
#[derive(Default)]
struct WorkspaceIndex {
    summaries: HashMap<PathBuf, LockSummary>,
    /// Changes with every change of `summaries`.
    version: u64,
    /// The context made for `(version, document)`: an edit of the same document while the
    /// workspace stays as it is reuses it.
    prepared: Option<(
        u64,
        PathBuf,
        Arc<threadlint_analyzer::document::DocumentContext>,
    )>,
}

impl WorkspaceIndex {
    /// The other files of the workspace as the document at `path` sees them now.
    fn context_for(&mut self, path: &Path) -> Arc<threadlint_analyzer::document::DocumentContext> {
        if let Some((version, prepared_path, context)) = &self.prepared {
            if *version == self.version && prepared_path == path {
                return context.clone();
            }
        }
        let context = Arc::new(threadlint_analyzer::document::DocumentContext::new(
            path,
            &self.summaries,
        ));
        self.prepared = Some((self.version, path.to_path_buf(), context.clone()));
        context
    }

    fn changed(&mut self) {
        self.version += 1;
        self.prepared = None;
    }
}

/// Analyses a document's text with the lock-order summaries of the other files; returns the
/// report and the last report of a Rust text that parsed.
fn analyse(
    path: &Path,
    text: &str,
    resolver: &Resolver,
    index: &Mutex<WorkspaceIndex>,
    last_good: Option<FileReport>,
) -> (FileReport, Option<FileReport>) {
    #[cfg(debug_assertions)]
    assert!(
        !text.contains(TEST_PANIC_MARKER),
        "the document asked for a panic"
    );
    let context = index
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .context_for(path);
    let report =
        threadlint_analyzer::document::check_document(path, text.to_string(), resolver, &context);
    if engine::language_of(path) != Some(threadlint_rules::model::Language::Rust) {
        return (report, None);
    }
    let broken = report
        .diagnostics
        .iter()
        .any(|d| d.problem_kind() == Some(Problem::InvalidSyntax));
    match (broken, last_good) {
        (false, _) => (report.clone(), Some(report)),
        (true, Some(good)) => (carry_over::carry_over(&good, report, text), Some(good)),
        (true, None) => (report, None),
    }
}

/// The report of a document whose analysis failed: one diagnostic that says so.
fn internal_error_report(path: &Path, text: &str, what: &str) -> FileReport {
    FileReport {
        path: path.to_path_buf(),
        source: Arc::from(text),
        lines: Arc::new(LineIndex::new(text)),
        diagnostics: vec![engine::Diagnostic::problem(
            Problem::InternalError,
            Severity::Error,
            Span::new(0, 0),
            format!("threadlint could not analyse this file: {what}"),
        )],
    }
}

/// Updates the lock-order summaries of `paths` (removed when a file is gone or has none). A
/// file whose indexing panics is left out.
fn reindex(paths: &[PathBuf], resolver: &Resolver, index: &Mutex<WorkspaceIndex>) {
    for path in paths {
        if engine::language_of(path).is_none() {
            continue;
        }
        let summary = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            threadlint_analyzer::document::index_file(path, resolver)
        }))
        .ok()
        .flatten();
        let mut index = index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match summary {
            Some(summary) => index.summaries.insert(path.clone(), summary),
            None => index.summaries.remove(path),
        };
        index.changed();
    }
    // Files that use other files' objects see them through the project index.
    let mut index = index
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        threadlint_analyzer::document::link_summaries(&mut index.summaries, resolver);
    }));
    index.changed();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lsp_types::notification::PublishDiagnostics;

    use super::*;

    fn server(dir: &Path) -> (Server, Connection) {
        let (server_side, client_side) = Connection::memory();
        let client = ClientSettings::default();
        let server = Server {
            connection: server_side,
            last_message: String::new(),
            encoding: Encoding::Utf16,
            roots: vec![dir.to_path_buf()],
            documents: HashMap::new(),
            resolver: Arc::new(build_resolver(&client)),
            client,
            index: Arc::default(),
            events: crossbeam_channel::unbounded(),
            next_generation: 0,
            pull_diagnostics: false,
            refresh_support: false,
            code_action_resolve: false,
            watch_files: false,
            next_request: 0,
            shutting_down: false,
        };
        (server, client_side)
    }

    /// Does what the message loop does between messages until no analysis runs.
    fn settle(server: &mut Server) {
        server.start_analyses();
        while server.documents.values().any(|d| d.running.is_some()) {
            let event = server
                .events
                .1
                .recv_timeout(Duration::from_mins(1))
                .expect("the analysis ends");
            server.handle_event(event);
            server.start_analyses();
        }
    }

    /// The codes of each `publishDiagnostics` sent so far.
    fn published(client: &Connection) -> Vec<Vec<String>> {
        client
            .receiver
            .try_iter()
            .filter_map(|message| match message {
                Message::Notification(n) if n.method == PublishDiagnostics::METHOD => {
                    serde_json::from_value::<PublishDiagnosticsParams>(n.params).ok()
                }
                _ => None,
            })
            .map(|params| {
                params
                    .diagnostics
                    .iter()
                    .filter_map(|d| match &d.code {
                        Some(NumberOrString::String(code)) => Some(code.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    const FIRST_A_THEN_B: &str =
        "import threading\n\na = threading.Lock()\nb = threading.Lock()\n\n\ndef first():\n    with a:\n        with b:\n            pass\n";

    #[test]
    fn open_documents_are_checked_again_when_the_index_changes_and_sent_if_different() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("open.py");
        let text = FIRST_A_THEN_B.replace("with a:\n        with b:", "with b:\n        with a:");
        std::fs::write(&path, &text).expect("written");
        let (mut server, client) = server(dir.path());
        let uri: Uri = path_to_uri(&path).expect("a file URI");
        handlers::did_open(
            &mut server,
            lsp_types::DidOpenTextDocumentParams {
                text_document: lsp_types::TextDocumentItem {
                    uri,
                    language_id: "python".into(),
                    version: 1,
                    text,
                },
            },
        );
        settle(&mut server);
        assert_eq!(published(&client), [Vec::<String>::new()]);

        // The index changes without a finding of the open document changing: checked again,
        // nothing sent.
        server.handle_event(Event::Indexed);
        assert!(server.documents.values().all(|d| !d.is_analysed()));
        settle(&mut server);
        assert!(published(&client).is_empty());

        // Another file now takes this file's two locks (imported) in the other order: the
        // open document's cycle appears when the index says so.
        let other = dir.path().join("other.py");
        std::fs::write(
            &other,
            "from open import a, b\n\n\ndef first():\n    with a:\n        with b:\n            pass\n",
        )
        .expect("written");
        let resolver = server.resolver.clone();
        let mut summaries: HashMap<PathBuf, LockSummary> = [&path, &other]
            .into_iter()
            .map(|p| {
                (
                    p.clone(),
                    threadlint_analyzer::document::index_file(p, resolver.as_ref())
                        .expect("a summary"),
                )
            })
            .collect();
        threadlint_analyzer::document::link_summaries(&mut summaries, resolver.as_ref());
        let summary = summaries.remove(&other).expect("the other file's summary");
        assert!(!summary.edges.is_empty());
        let mut index = server
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.summaries.insert(other, summary);
        index.changed();
        drop(index);
        settle(&mut server);
        assert!(published(&client).is_empty(), "checked before it was told");
        server.handle_event(Event::Indexed);
        settle(&mut server);
        assert_eq!(published(&client), [vec!["TL004".to_string()]]);
    }

    #[test]
    fn after_a_settings_change_open_documents_are_analysed_a_few_at_a_time() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (mut server, client) = server(dir.path());
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        for n in 0..cores + 3 {
            let path = dir.path().join(format!("open_{n}.py"));
            handlers::did_open(
                &mut server,
                lsp_types::DidOpenTextDocumentParams {
                    text_document: lsp_types::TextDocumentItem {
                        uri: path_to_uri(&path).expect("a file URI"),
                        language_id: "python".into(),
                        version: 1,
                        text: FIRST_A_THEN_B.into(),
                    },
                },
            );
        }
        settle(&mut server);
        assert_eq!(published(&client).len(), cores + 3);
        server.reload();
        server.start_analyses();
        let running = server
            .documents
            .values()
            .filter(|d| d.running.is_some())
            .count();
        assert_eq!(running, cores);
        settle(&mut server);
        assert!(server.documents.values().all(Document::is_analysed));
        assert_eq!(published(&client).len(), cores + 3);
    }
}
