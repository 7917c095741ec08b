//! The language server at the protocol level: the built binary is started as `threadlint server`
//! and spoken to in framed JSON-RPC over its standard input and output, as an editor would.
//! Every wait has a deadline, so a server that stalls fails the test instead of hanging it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any single answer may take (debug build, two cores, tests in parallel).
const TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// A small LSP client.
// ---------------------------------------------------------------------------------------------

/// Reads one `Content-Length`-framed message; `None` at the end of the stream.
fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).unwrap_or_else(
        |e| json!({ "unparseable": format!("{e}: {}", String::from_utf8_lossy(&body)) }),
    ))
}

fn frame(message: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap();
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend(body);
    bytes
}

fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(byte as char);
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri
}

fn is_publish_for(message: &Value, uri: &str) -> bool {
    message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri
}

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: mpsc::Receiver<Value>,
    /// Messages received while waiting for something else, oldest first.
    backlog: Vec<Value>,
    /// Every request the server sent to the client (each answered with `null`).
    server_requests: Vec<Value>,
    next_id: i64,
    /// The workspace root (a temporary folder).
    dir: tempfile::TempDir,
    /// The `initialize` result.
    initialized: Value,
}

struct Setup {
    capabilities: Value,
    options: Option<Value>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            capabilities: json!({}),
            options: None,
        }
    }
}

impl Client {
    /// Starts a server without initializing it.
    fn spawn() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_threadlint"))
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let (sender, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            backlog: Vec::new(),
            server_requests: Vec::new(),
            next_id: 0,
            dir: tempfile::tempdir().unwrap(),
            initialized: Value::Null,
        }
    }

    /// Starts and initializes a server whose workspace root is a fresh temporary folder.
    fn start(setup: Setup) -> Client {
        let mut client = Client::spawn();
        let root = file_uri(client.dir.path());
        let mut params = json!({
            "processId": null,
            "rootUri": root,
            "workspaceFolders": [{ "uri": root, "name": "workspace" }],
            "capabilities": setup.capabilities,
        });
        if let Some(options) = setup.options {
            params["initializationOptions"] = options;
        }
        let response = client.request("initialize", params);
        assert!(
            response.get("error").is_none(),
            "initialize failed: {response}"
        );
        client.initialized = response["result"].clone();
        client.notify("initialized", json!({}));
        client
    }

    fn utf8() -> Client {
        Client::start(Setup {
            capabilities: json!({ "general": { "positionEncodings": ["utf-8", "utf-16"] } }),
            options: None,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn uri(&self, name: &str) -> String {
        file_uri(&self.path(name))
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("the server reads its input");
        stdin.flush().unwrap();
    }

    fn send(&mut self, message: &Value) {
        self.send_raw(&frame(message));
    }

    /// Sends several messages in one write, so that they arrive together.
    fn send_batch(&mut self, messages: &[Value]) {
        let bytes: Vec<u8> = messages.iter().flat_map(frame).collect();
        self.send_raw(&bytes);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request_message(&mut self, method: &str, params: Value) -> (i64, Value) {
        self.next_id += 1;
        let id = self.next_id;
        (
            id,
            json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
        )
    }

    /// Sends a request and waits for its response (the whole message: `result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let (id, message) = self.request_message(method, params);
        self.send(&message);
        self.response(id, TIMEOUT)
    }

    /// Sends a request and returns its result, failing on an error.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    fn response(&mut self, id: i64, timeout: Duration) -> Value {
        self.wait_for(&format!("the response to request {id}"), timeout, |m| {
            m["id"] == id && m.get("method").is_none()
        })
    }

    /// The next message from the server before `deadline`; requests from the server are
    /// answered with `null` (and recorded) on the way.
    fn receive(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let message = match self.incoming.recv_timeout(left) {
            Ok(message) => message,
            Err(mpsc::RecvTimeoutError::Timeout) => return None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!(
                    "the server closed its output (exit status {:?})",
                    self.child.try_wait()
                )
            }
        };
        assert!(
            message.get("unparseable").is_none(),
            "the server sent something that is not JSON: {message}"
        );
        if message.get("id").is_some() && message.get("method").is_some() {
            self.server_requests.push(message.clone());
            let answer = json!({ "jsonrpc": "2.0", "id": message["id"], "result": null });
            self.send(&answer);
        }
        Some(message)
    }

    /// Waits for the first message (received earlier or now) that `wanted` accepts.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        if let Some(index) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(index);
        }
        let deadline = Instant::now() + timeout;
        while let Some(message) = self.receive(deadline) {
            if wanted(&message) {
                return message;
            }
            self.backlog.push(message);
        }
        let seen: Vec<String> = self
            .backlog
            .iter()
            .map(|m| m.to_string().chars().take(300).collect())
            .collect();
        panic!(
            "timed out after {timeout:?} waiting for {what}; received meanwhile:\n{}",
            seen.join("\n")
        );
    }

    /// Collects every message that arrives within `period`, into the backlog as well.
    fn drain(&mut self, period: Duration) -> Vec<Value> {
        let deadline = Instant::now() + period;
        while let Some(message) = self.receive(deadline) {
            self.backlog.push(message);
        }
        self.backlog.clone()
    }

    /// Writes `text` to `name` in the workspace and opens it; returns its URI.
    fn open(&mut self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        let uri = file_uri(&path);
        let language = if Path::new(name).extension().is_some_and(|e| e == "rs") {
            "rust"
        } else {
            "python"
        };
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language, "version": 1, "text": text } }),
        );
        uri
    }

    /// The next `publishDiagnostics` for `uri`.
    fn published(&mut self, uri: &str) -> Value {
        self.published_with(uri, TIMEOUT, |_| true)
    }

    /// The first `publishDiagnostics` for `uri` whose parameters `wanted` accepts.
    fn published_with(
        &mut self,
        uri: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for(&format!("diagnostics for {uri}"), timeout, |m| {
            is_publish_for(m, uri) && wanted(&m["params"])
        })["params"]
            .clone()
    }

    /// The diagnostics published for `version` of `uri`.
    fn diagnostics_of_version(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let params = self.published_with(uri, TIMEOUT, |p| p["version"] == version);
        params["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn change(&mut self, uri: &str, version: i64, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }),
        );
    }

    fn code_actions(
        &mut self,
        uri: &str,
        range: &Value,
        diagnostics: Value,
        only: Option<Value>,
    ) -> Vec<Value> {
        let mut context = json!({ "diagnostics": diagnostics });
        if let Some(only) = only {
            context["only"] = only;
        }
        let result = self.call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": context }),
        );
        result.as_array().cloned().unwrap_or_default()
    }

    fn hover(&mut self, uri: &str, line: usize, character: usize) -> Value {
        self.call(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } }),
        )
    }

    /// `shutdown`, `exit`, and the exit status.
    fn shutdown_and_exit(mut self) -> ExitStatus {
        let response = self.request("shutdown", Value::Null);
        assert!(
            response.get("error").is_none(),
            "shutdown failed: {response}"
        );
        assert_eq!(response["result"], Value::Null);
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Units {
    Utf8,
    Utf16,
}

/// The byte offset of an LSP position in `text`.
fn offset_of(text: &str, position: &Value, units: Units) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let character = position["character"].as_u64().unwrap() as usize;
    let mut start = 0;
    for _ in 0..line {
        start += text[start..].find('\n').expect("the line exists") + 1;
    }
    let line_text = &text[start..start + text[start..].find('\n').unwrap_or(text.len() - start)];
    let mut counted = 0;
    for (index, c) in line_text.char_indices() {
        if counted >= character {
            return start + index;
        }
        counted += match units {
            Units::Utf8 => c.len_utf8(),
            Units::Utf16 => c.len_utf16(),
        };
    }
    start + line_text.len()
}

/// The LSP position of byte `offset` in `text`.
fn position_of(text: &str, offset: usize, units: Units) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..offset];
    let character = match units {
        Units::Utf8 => prefix.len(),
        Units::Utf16 => prefix.encode_utf16().count(),
    };
    json!({ "line": line, "character": character })
}

/// Applies LSP text edits (non-overlapping, as the protocol requires) to `text`.
fn apply_edits(text: &str, edits: &[Value], units: Units) -> String {
    let mut resolved: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|edit| {
            let start = offset_of(text, &edit["range"]["start"], units);
            let end = offset_of(text, &edit["range"]["end"], units);
            (start, end, edit["newText"].as_str().unwrap().to_string())
        })
        .collect();
    resolved.sort_by_key(|(start, end, _)| std::cmp::Reverse((*start, *end)));
    let mut text = text.to_string();
    for (start, end, new_text) in resolved {
        text.replace_range(start..end, &new_text);
    }
    text
}

/// The edits of a code action for `uri`.
fn action_edits(action: &Value, uri: &str) -> Vec<Value> {
    action["edit"]["changes"][uri]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no edits for {uri} in {action}"))
}

fn titles(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn find_action<'a>(actions: &'a [Value], starts_with: &str) -> Option<&'a Value> {
    actions.iter().find(|a| {
        a["title"]
            .as_str()
            .is_some_and(|t| t.starts_with(starts_with))
    })
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn whole_range(text: &str) -> Value {
    json!({ "start": { "line": 0, "character": 0 }, "end": position_of(text, text.len(), Units::Utf16) })
}

/// The 0-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))]
        .matches('\n')
        .count()
}

// ---------------------------------------------------------------------------------------------
// Sources.
// ---------------------------------------------------------------------------------------------

/// TL002 at line 9 (0-based), with a safe fix (`if` -> `while`).
const WAIT_IF: &str = "import threading\n\ncond = threading.Condition()\nitems = []\n\n\ndef get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n";

/// TL001 whose fix (`with`) is unsafe: code between acquire and release may raise. The
/// `acquire()` without a timeout is also TL005.
const BARE_ACQUIRE: &str = "import threading\n\nlock = threading.Lock()\ntotal = 0\n\n\ndef add(amount):\n    global total\n    lock.acquire()\n    total += amount\n    lock.release()\n";

/// Two locks taken in opposite orders: TL004.
const INVERSION: &str = "import threading\n\na = threading.Lock()\nb = threading.Lock()\n\n\ndef first():\n    with a:\n        with b:\n            pass\n\n\ndef second():\n    with b:\n        with a:\n            pass\n";

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn initialize_negotiates_utf8_when_offered_and_utf16_otherwise() {
    let cases = [
        (
            json!({ "general": { "positionEncodings": ["utf-16", "utf-8"] } }),
            "utf-8",
        ),
        (
            json!({ "general": { "positionEncodings": ["utf-8"] } }),
            "utf-8",
        ),
        (
            json!({ "general": { "positionEncodings": ["utf-16"] } }),
            "utf-16",
        ),
        (
            json!({ "general": { "positionEncodings": ["utf-32", "utf-16"] } }),
            "utf-16",
        ),
        (json!({}), "utf-16"),
    ];
    for (capabilities, expected) in cases {
        let client = Client::start(Setup {
            capabilities: capabilities.clone(),
            options: None,
        });
        let result = &client.initialized;
        assert_eq!(
            result["capabilities"]["positionEncoding"], expected,
            "offered {capabilities}"
        );
        assert_eq!(result["serverInfo"]["name"], "threadlint");
        let sync = &result["capabilities"]["textDocumentSync"];
        assert_eq!(sync["change"], 2, "incremental sync: {sync}");
        assert_eq!(sync["openClose"], true);
        assert!(sync["save"].is_object() || sync["save"] == true, "{sync}");
        let kinds = &result["capabilities"]["codeActionProvider"]["codeActionKinds"];
        assert!(
            kinds.as_array().unwrap().contains(&json!("quickfix")),
            "{kinds}"
        );
        assert!(
            kinds
                .as_array()
                .unwrap()
                .contains(&json!("source.fixAll.threadlint")),
            "{kinds}"
        );
        assert_eq!(result["capabilities"]["hoverProvider"], true);
        assert!(result["capabilities"]["diagnosticProvider"].is_object());
        assert_eq!(client.shutdown_and_exit().code(), Some(0));
    }
}

#[test]
fn requests_before_initialize_are_refused_and_initialize_still_works() {
    let mut client = Client::spawn();
    let early = client.request("textDocument/hover", json!({ "textDocument": { "uri": "file:///x.py" }, "position": { "line": 0, "character": 0 } }));
    assert_eq!(
        early["error"]["code"], -32002,
        "ServerNotInitialized: {early}"
    );
    let result = client.call(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {} }),
    );
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    client.notify("initialized", json!({}));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn open_publishes_diagnostics_with_code_description_severity_and_source() {
    let mut client = Client::utf8();
    let uri = client.open("queue_user.py", WAIT_IF);
    let params = client.published(&uri);
    assert_eq!(params["version"], 1);
    let diagnostics = params["diagnostics"].as_array().unwrap();
    assert_eq!(codes(diagnostics), ["TL002"], "{params}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["source"], "threadlint");
    assert_eq!(diagnostic["severity"], 2, "warning");
    let href = diagnostic["codeDescription"]["href"].as_str().unwrap();
    assert!(
        href.starts_with("https://") && href.ends_with("TL002.md"),
        "{href}"
    );
    assert_eq!(
        diagnostic["range"],
        json!({ "start": { "line": 9, "character": 12 }, "end": { "line": 9, "character": 23 } })
    );
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("cond.wait()"),
        "{diagnostic}"
    );

    // Saving analyses again; closing clears the diagnostics.
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(
        codes(client.published(&uri)["diagnostics"].as_array().unwrap()),
        ["TL002"]
    );
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(client.published(&uri)["diagnostics"], json!([]));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn lock_order_inversion_carries_related_information() {
    let mut client = Client::utf8();
    let uri = client.open("locks.py", INVERSION);
    let params = client.published(&uri);
    let diagnostics = params["diagnostics"].as_array().unwrap();
    let inversions: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["code"] == "TL004")
        .collect();
    assert!(!inversions.is_empty(), "{params}");
    let withs: Vec<usize> = INVERSION
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "with a:" || l.trim() == "with b:")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(withs.len(), 4);
    for diagnostic in &inversions {
        let related = diagnostic["relatedInformation"]
            .as_array()
            .unwrap_or_else(|| panic!("no relatedInformation: {diagnostic}"));
        assert!(!related.is_empty());
        for info in related {
            assert_eq!(info["location"]["uri"], uri.as_str(), "{info}");
            assert!(
                info["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{info}"
            );
            let line = info["location"]["range"]["start"]["line"].as_u64().unwrap() as usize;
            assert!(
                withs.contains(&line),
                "related line {line} is not a `with`: {info}"
            );
        }
        // The other site is among the related locations: not only the flagged line itself.
        let own = diagnostic["range"]["start"]["line"].as_u64().unwrap();
        assert!(
            related
                .iter()
                .any(|info| info["location"]["range"]["start"]["line"].as_u64().unwrap() != own),
            "{diagnostic}"
        );
    }
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_burst_of_incremental_changes_is_analysed_once_and_final_diagnostics_match_the_text() {
    let mut client = Client::utf8();
    let mut text = WAIT_IF.replace("if not items", "while not items");
    let uri = client.open("burst.py", &text);
    assert_eq!(client.diagnostics_of_version(&uri, 1), Vec::<Value>::new());

    // Five versions in one burst: `while` -> `if` (TL002), lines inserted above, a second
    // function appended, and two changes in one notification.
    let mut messages = Vec::new();
    let mut push_change = |text: &mut String, version: i64, edits: Vec<(usize, usize, &str)>| {
        let mut changes = Vec::new();
        for (start, end, new_text) in edits {
            let range = json!({ "start": position_of(text, start, Units::Utf8), "end": position_of(text, end, Units::Utf8) });
            text.replace_range(start..end, new_text);
            changes.push(json!({ "range": range, "text": new_text }));
        }
        messages.push(json!({
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": { "textDocument": { "uri": uri, "version": version }, "contentChanges": changes },
        }));
    };
    let at = text.find("while").unwrap();
    push_change(&mut text, 2, vec![(at, at + "while".len(), "if")]);
    let at = text.find("def get").unwrap();
    push_change(&mut text, 3, vec![(at, at, "# a comment\n# another\n")]);
    let end = text.len();
    push_change(
        &mut text,
        4,
        vec![(
            end,
            end,
            "\n\ndef put(x):\n    with cond:\n        items.append(x)\n        cond.notify()\n",
        )],
    );
    let at = text.find("# another\n").unwrap();
    push_change(&mut text, 5, vec![(at, at + "# another\n".len(), "")]);
    // Two changes in one notification apply one after the other.
    let end = text.len();
    let second_end = end + "\ndef peek():\n    with cond:\n".len();
    push_change(
        &mut text,
        6,
        vec![
            (end, end, "\ndef peek():\n    with cond:\n"),
            (
                second_end,
                second_end,
                "        if not items:\n            cond.wait()\n",
            ),
        ],
    );
    client.send_batch(&messages);

    let last = client.diagnostics_of_version(&uri, 6);
    // Arriving together, the burst was analysed once, as its last version.
    let intermediate: Vec<&Value> = client
        .backlog
        .iter()
        .filter(|m| is_publish_for(m, &uri) && m["params"]["version"] != 6)
        .collect();
    assert!(
        intermediate.is_empty(),
        "versions analysed in between: {intermediate:?}"
    );

    let mut lines: Vec<u64> = last
        .iter()
        .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    lines.sort_unstable();
    let expected: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "cond.wait()")
        .map(|(i, _)| i as u64)
        .collect();
    assert_eq!(codes(&last), ["TL002", "TL002"], "{last:?}\n{text}");
    assert_eq!(lines, expected, "{last:?}\n{text}");
    // The server's copy of the text is the client's: a fix-all computed on it applies cleanly.
    let actions = client.code_actions(
        &uri,
        &whole_range(&text),
        json!([]),
        Some(json!(["source.fixAll.threadlint"])),
    );
    let fixed = apply_edits(&text, &action_edits(&actions[0], &uri), Units::Utf8);
    assert_eq!(fixed, text.replace("if not items", "while not items"));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_request_right_after_a_change_does_not_swallow_the_published_diagnostics() {
    let mut client = Client::utf8();
    let text = WAIT_IF.replace("if not items", "while not items");
    let uri = client.open("busy.py", &text);
    assert_eq!(client.diagnostics_of_version(&uri, 1), Vec::<Value>::new());
    // Editors ask for code actions and hovers as the cursor moves, often before the change is
    // analysed: the request waits for it, and the change is still published.
    let at = text.find("while").unwrap();
    let range = json!({ "start": position_of(&text, at, Units::Utf8), "end": position_of(&text, at + 5, Units::Utf8) });
    let (id, code_action) = client.request_message(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": [] } }),
    );
    client.send_batch(&[
        json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": range, "text": "if" }],
        } }),
        code_action,
    ]);
    client.response(id, TIMEOUT);
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 2)), ["TL002"]);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn columns_follow_the_negotiated_encoding_after_non_ascii_and_emoji() {
    let text = WAIT_IF.replace(
        "            cond.wait()",
        "            note = \"é🔒\"; cond.wait()",
    );
    let line = line_of(&text, "note = ");
    let line_text = text.lines().nth(line).unwrap();
    let prefix = &line_text[..line_text.find("cond.wait()").unwrap()];
    for (offered, units, expected_column) in
        [("utf-8", Units::Utf8, 29), ("utf-16", Units::Utf16, 26)]
    {
        let mut client = Client::start(Setup {
            capabilities: json!({ "general": { "positionEncodings": [offered] } }),
            options: None,
        });
        assert_eq!(
            client.initialized["capabilities"]["positionEncoding"],
            offered
        );
        let uri = client.open("emoji.py", &text);
        let diagnostics = client.diagnostics_of_version(&uri, 1);
        assert_eq!(codes(&diagnostics), ["TL002"]);
        let start = &diagnostics[0]["range"]["start"];
        let column = match units {
            Units::Utf8 => prefix.len(),
            Units::Utf16 => prefix.encode_utf16().count(),
        };
        assert_eq!(column, expected_column);
        assert_eq!(
            start,
            &json!({ "line": line, "character": column }),
            "{offered}"
        );
        let end = &diagnostics[0]["range"]["end"];
        assert_eq!(end["character"], column + "cond.wait()".len(), "{offered}");

        // An incremental change addressed in the same units: replace the emoji with `ab`.
        let emoji = text.find('🔒').unwrap();
        let range = json!({ "start": position_of(&text, emoji, units), "end": position_of(&text, emoji + '🔒'.len_utf8(), units) });
        client.change(&uri, 2, json!([{ "range": range, "text": "ab" }]));
        let diagnostics = client.diagnostics_of_version(&uri, 2);
        let shifted = match units {
            Units::Utf8 => column - 4 + 2,
            Units::Utf16 => column - 2 + 2,
        };
        assert_eq!(
            diagnostics[0]["range"]["start"],
            json!({ "line": line, "character": shifted }),
            "{offered}"
        );
        // Hover in the same units finds the diagnostic.
        let hover = client.hover(&uri, line, shifted + 2);
        assert!(
            hover["contents"]["value"]
                .as_str()
                .unwrap_or_default()
                .contains("TL002"),
            "{offered}: {hover}"
        );
        assert_eq!(client.shutdown_and_exit().code(), Some(0));
    }
}

#[test]
fn quick_fix_title_names_its_applicability_and_its_edit_removes_the_diagnostic() {
    let mut client = Client::utf8();
    let uri = client.open("fixme.py", WAIT_IF);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    let range = diagnostics[0]["range"].clone();
    let actions = client.code_actions(&uri, &range, json!(diagnostics), None);
    let fix = find_action(&actions, "Fix TL002")
        .unwrap_or_else(|| panic!("no quick fix in {:?}", titles(&actions)));
    let title = fix["title"].as_str().unwrap();
    assert!(title.contains("(safe)"), "{title}");
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(fix["diagnostics"][0]["code"], "TL002");
    let fixed = apply_edits(WAIT_IF, &action_edits(fix, &uri), Units::Utf8);
    assert_eq!(fixed, WAIT_IF.replace("if not items", "while not items"));
    client.change(&uri, 2, json!([{ "text": fixed }]));
    assert_eq!(client.diagnostics_of_version(&uri, 2), Vec::<Value>::new());
    // Nothing is offered where there is no finding.
    let elsewhere =
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 3 } });
    let none = client.code_actions(&uri, &elsewhere, json!([]), Some(json!(["quickfix"])));
    assert!(none.is_empty(), "{:?}", titles(&none));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn unsafe_quick_fix_is_offered_only_when_unsafe_fixes_is_set() {
    // Default: only the suppression.
    let mut client = Client::utf8();
    let uri = client.open("bare.py", BARE_ACQUIRE);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    assert_eq!(codes(&diagnostics), ["TL001"]);
    let range = diagnostics[0]["range"].clone();
    let actions = client.code_actions(&uri, &range, json!(diagnostics), None);
    assert!(
        find_action(&actions, "Fix TL001").is_none(),
        "{:?}",
        titles(&actions)
    );
    assert!(
        find_action(&actions, "Disable TL001 for this line").is_some(),
        "{:?}",
        titles(&actions)
    );

    // Switched on by `workspace/didChangeConfiguration`.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "threadlint": { "unsafeFixes": true } } }),
    );
    let actions = client.code_actions(&uri, &range, json!(diagnostics), None);
    assert!(
        find_action(&actions, "Fix TL001").is_some(),
        "{:?}",
        titles(&actions)
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));

    // On from the start with `initializationOptions`.
    let mut client = Client::start(Setup {
        capabilities: json!({ "general": { "positionEncodings": ["utf-8"] } }),
        options: Some(json!({ "unsafeFixes": true })),
    });
    let uri = client.open("bare.py", BARE_ACQUIRE);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    let actions = client.code_actions(
        &uri,
        &diagnostics[0]["range"].clone(),
        json!(diagnostics),
        None,
    );
    let fix =
        find_action(&actions, "Fix TL001").unwrap_or_else(|| panic!("{:?}", titles(&actions)));
    let title = fix["title"].as_str().unwrap();
    assert!(title.contains("(unsafe)"), "{title}");
    assert_ne!(
        fix["isPreferred"], true,
        "an unsafe fix is not the preferred one"
    );
    let fixed = apply_edits(BARE_ACQUIRE, &action_edits(fix, &uri), Units::Utf8);
    assert!(
        fixed.contains("    with lock:\n        total += amount\n"),
        "{fixed}"
    );
    assert!(!fixed.contains("release"), "{fixed}");
    client.change(&uri, 2, json!([{ "text": fixed }]));
    assert_eq!(client.diagnostics_of_version(&uri, 2), Vec::<Value>::new());
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn disable_for_this_line_adds_a_noqa_comment_and_hover_explains_it() {
    let mut client = Client::utf8();
    let uri = client.open("noqa.py", WAIT_IF);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    let actions = client.code_actions(
        &uri,
        &diagnostics[0]["range"].clone(),
        json!(diagnostics),
        Some(json!(["quickfix"])),
    );
    let disable = find_action(&actions, "Disable TL002 for this line")
        .unwrap_or_else(|| panic!("{:?}", titles(&actions)));
    assert_eq!(disable["kind"], "quickfix");
    let suppressed = apply_edits(WAIT_IF, &action_edits(disable, &uri), Units::Utf8);
    assert_eq!(
        suppressed,
        WAIT_IF.replace("cond.wait()\n", "cond.wait()  # noqa: TL002\n")
    );
    client.change(&uri, 2, json!([{ "text": suppressed }]));
    assert_eq!(client.diagnostics_of_version(&uri, 2), Vec::<Value>::new());

    // Hover over the code in the comment shows the rule.
    let line = line_of(&suppressed, "# noqa");
    let column = suppressed.lines().nth(line).unwrap().find("TL002").unwrap() + 2;
    let hover = client.hover(&uri, line, column);
    let value = hover["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no hover: {hover}"));
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(
        value.contains("TL002") && value.contains("wait-not-in-loop"),
        "{value}"
    );
    // Over `noqa` itself: nothing.
    let column = suppressed.lines().nth(line).unwrap().find("noqa").unwrap() + 1;
    assert_eq!(client.hover(&uri, line, column), Value::Null);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn fix_all_source_action_applies_every_safe_fix() {
    let text = format!("{WAIT_IF}\n\ndef other():\n    with cond:\n        if not items or items[0] is None:\n            cond.wait()\n\n\n{}", &BARE_ACQUIRE["import threading\n\n".len()..]);
    let mut client = Client::utf8();
    let uri = client.open("all.py", &text);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    assert_eq!(
        codes(&diagnostics),
        ["TL002", "TL002", "TL001"],
        "{diagnostics:?}"
    );

    for only in [
        json!(["source.fixAll.threadlint"]),
        json!(["source.fixAll"]),
        json!(["source"]),
    ] {
        let actions = client.code_actions(&uri, &whole_range(&text), json!([]), Some(only.clone()));
        assert_eq!(actions.len(), 1, "{only}: {:?}", titles(&actions));
        assert_eq!(actions[0]["kind"], "source.fixAll.threadlint");
    }
    let quick_only = client.code_actions(
        &uri,
        &whole_range(&text),
        json!([]),
        Some(json!(["quickfix"])),
    );
    assert!(
        quick_only.iter().all(|a| a["kind"] == "quickfix"),
        "{:?}",
        titles(&quick_only)
    );

    let actions = client.code_actions(
        &uri,
        &whole_range(&text),
        json!([]),
        Some(json!(["source.fixAll.threadlint"])),
    );
    let fixed = apply_edits(&text, &action_edits(&actions[0], &uri), Units::Utf8);
    assert_eq!(fixed.matches("while").count(), 2, "{fixed}");
    // One edit over the part that changes, not the whole document.
    let edits = action_edits(&actions[0], &uri);
    assert_eq!(edits.len(), 1);
    assert!(
        edits[0]["newText"].as_str().unwrap().len() < text.len() / 2,
        "{edits:?}"
    );
    client.change(&uri, 2, json!([{ "text": fixed }]));
    // The unsafe TL001 fix was not applied.
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 2)), ["TL001"]);
    // Nothing left to fix: no fix-all.
    let none = client.code_actions(
        &uri,
        &whole_range(&text),
        json!([]),
        Some(json!(["source.fixAll.threadlint"])),
    );
    assert!(none.is_empty(), "{:?}", titles(&none));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn fix_all_offered_at_the_cursor_is_resolved_only_when_chosen() {
    // A client that resolves edits later gets the fix-all action without its edit (computing
    // it takes long on a large file), and the edit from `codeAction/resolve`.
    let mut client = Client::start(Setup {
        capabilities: json!({
            "general": { "positionEncodings": ["utf-8"] },
            "textDocument": { "codeAction": {
                "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix", "source"] } },
                "resolveSupport": { "properties": ["edit"] },
            } },
        }),
        options: None,
    });
    assert_eq!(
        client.initialized["capabilities"]["codeActionProvider"]["resolveProvider"],
        true
    );
    let uri = client.open("resolve.py", WAIT_IF);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    let actions = client.code_actions(
        &uri,
        &diagnostics[0]["range"].clone(),
        json!(diagnostics),
        None,
    );
    let fix_all = actions
        .iter()
        .find(|a| a["kind"] == "source.fixAll.threadlint")
        .unwrap_or_else(|| panic!("{:?}", titles(&actions)))
        .clone();
    assert!(fix_all.get("edit").is_none(), "{fix_all}");
    // The quick fix itself carries its edit.
    assert!(find_action(&actions, "Fix TL002").is_some_and(|a| a["edit"].is_object()));
    let resolved = client.call("codeAction/resolve", fix_all);
    let fixed = apply_edits(WAIT_IF, &action_edits(&resolved, &uri), Units::Utf8);
    assert_eq!(fixed, WAIT_IF.replace("if not items", "while not items"));
    // Asked for by kind (a source action menu, fix on save): the edit comes at once.
    let asked = client.code_actions(
        &uri,
        &whole_range(WAIT_IF),
        json!([]),
        Some(json!(["source.fixAll"])),
    );
    assert!(asked[0]["edit"].is_object(), "{asked:?}");
    // A resolve for a document that is gone, or an action that is not ours: returned unchanged.
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let stale = json!({ "title": "x", "kind": "source.fixAll.threadlint", "data": { "uri": uri } });
    assert_eq!(client.call("codeAction/resolve", stale.clone()), stale);
    let foreign = json!({ "title": "y", "kind": "refactor" });
    assert_eq!(client.call("codeAction/resolve", foreign.clone()), foreign);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn hover_over_a_diagnostic_shows_the_rule_documentation() {
    let mut client = Client::utf8();
    let uri = client.open("hover.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);
    let hover = client.hover(&uri, 9, 16);
    assert_eq!(hover["contents"]["kind"], "markdown");
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains("TL002") && value.contains("wait-not-in-loop"),
        "{value}"
    );
    assert!(
        value.len() > 200,
        "the rule's documentation, not only its name: {value}"
    );
    assert_eq!(
        client.hover(&uri, 0, 3),
        Value::Null,
        "no finding on `import threading`"
    );
    // A position past the end of the text, or in a document never opened: no hover, no crash.
    assert_eq!(client.hover(&uri, 500, 0), Value::Null);
    let unknown = client.uri("never_opened.py");
    assert_eq!(client.hover(&unknown, 0, 0), Value::Null);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn pull_diagnostics_for_clients_that_ask() {
    let mut client = Client::start(Setup {
        capabilities: json!({
            "general": { "positionEncodings": ["utf-8"] },
            "textDocument": { "diagnostic": { "dynamicRegistration": false, "relatedDocumentSupport": false } },
            "workspace": { "diagnostics": { "refreshSupport": true } },
        }),
        options: None,
    });
    let uri = client.open("pull.py", WAIT_IF);
    let report = client.call(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["kind"], "full", "{report}");
    let items = report["items"].as_array().unwrap();
    assert_eq!(codes(items), ["TL002"]);
    assert_eq!(
        items[0]["codeDescription"]["href"]
            .as_str()
            .map(|h| h.ends_with("TL002.md")),
        Some(true)
    );

    client.change(
        &uri,
        2,
        json!([{ "text": WAIT_IF.replace("if not items", "while not items") }]),
    );
    let report = client.call(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["items"], json!([]), "{report}");
    // The client pulls: nothing is pushed.
    let pushed: Vec<Value> = client
        .drain(Duration::from_millis(600))
        .into_iter()
        .filter(|m| is_publish_for(m, &uri))
        .collect();
    assert!(pushed.is_empty(), "{pushed:?}");
    // Settings changed: the client is asked to pull again, and the next pull has them.
    client.change(&uri, 3, json!([{ "text": WAIT_IF }]));
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "threadlint": { "ignore": ["TL002"] } } }),
    );
    client.wait_for("a diagnostic refresh", TIMEOUT, |m| {
        m["method"] == "workspace/diagnostic/refresh"
    });
    let report = client.call(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["items"], json!([]), "{report}");
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "threadlint": { "ignore": [] } } }),
    );
    client.wait_for("a diagnostic refresh", TIMEOUT, |m| {
        m["method"] == "workspace/diagnostic/refresh"
    });
    // Refresh requests have distinct ids.
    let mut ids: Vec<String> = client
        .server_requests
        .iter()
        .map(|r| r["id"].to_string())
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "{:?}", client.server_requests);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn no_refresh_requests_for_clients_without_refresh_support() {
    let mut client = Client::start(Setup {
        capabilities: json!({ "textDocument": { "diagnostic": { "dynamicRegistration": false } } }),
        options: None,
    });
    let uri = client.open("pull.py", WAIT_IF);
    let report = client.call(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(codes(report["items"].as_array().unwrap()), ["TL002"]);
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    client.drain(Duration::from_millis(500));
    let refreshes: Vec<&Value> = client
        .server_requests
        .iter()
        .filter(|r| r["method"] == "workspace/diagnostic/refresh")
        .collect();
    assert!(refreshes.is_empty(), "{refreshes:?}");
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn unsaved_buffers_are_checked_too() {
    let mut client = Client::utf8();
    for (uri, language, text, code) in [
        ("untitled:Untitled-1", "python", WAIT_IF, "TL002"),
        ("untitled:Untitled-2", "python", INVERSION, "TL004"),
    ] {
        client.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language, "version": 1, "text": text } }),
        );
        let diagnostics = client.diagnostics_of_version(uri, 1);
        assert!(
            codes(&diagnostics).contains(&code.to_string()),
            "{uri}: {diagnostics:?}"
        );
        // Related locations point into the same buffer, by its own URI.
        if code == "TL004" {
            assert!(
                diagnostics.iter().all(|d| d["relatedInformation"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())),
                "{diagnostics:?}"
            );
        }
        for diagnostic in &diagnostics {
            for info in diagnostic["relatedInformation"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert_eq!(info["location"]["uri"], uri, "{info}");
            }
        }
        let actions = client.code_actions(
            uri,
            &diagnostics[0]["range"].clone(),
            json!(diagnostics),
            None,
        );
        assert!(!actions.is_empty());
    }
    // A language threadlint does not check: ignored.
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": "untitled:Untitled-3", "languageId": "markdown", "version": 1, "text": "# hi" } }),
    );
    assert_eq!(client.hover("untitled:Untitled-3", 0, 0), Value::Null);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn syntax_error_mid_edit_still_reports_what_parses() {
    let text = format!(
        "{WAIT_IF}\n\n{}",
        &BARE_ACQUIRE["import threading\n\n".len()..]
    );
    let mut client = Client::utf8();
    let uri = client.open("editing.py", &text);
    assert_eq!(
        codes(&client.diagnostics_of_version(&uri, 1)),
        ["TL002", "TL001"]
    );
    // Half-typed function between the two findings.
    let at = text.find("lock = threading.Lock()").unwrap();
    let position = position_of(&text, at, Units::Utf8);
    client.change(&uri, 2, json!([{ "range": { "start": position, "end": position }, "text": "def half_typed(x, \n\n" }]));
    let diagnostics = client.diagnostics_of_version(&uri, 2);
    let found = codes(&diagnostics);
    assert!(found.contains(&"TL002".to_string()), "{diagnostics:?}");
    assert!(
        found.contains(&"invalid-syntax".to_string()),
        "{diagnostics:?}"
    );
    let syntax = diagnostics
        .iter()
        .find(|d| d["code"] == "invalid-syntax")
        .unwrap();
    assert_eq!(
        syntax["severity"], 1,
        "a syntax error is an error: {syntax}"
    );
    // Finishing the line brings the last finding back.
    let end = json!({ "line": position["line"], "character": "def half_typed(x, ".len() });
    client.change(
        &uri,
        3,
        json!([{ "range": { "start": end, "end": end }, "text": "y):\n    pass" }]),
    );
    let diagnostics = client.diagnostics_of_version(&uri, 3);
    assert_eq!(codes(&diagnostics), ["TL002", "TL001"], "{diagnostics:?}");
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn rust_buffer_that_stops_parsing_keeps_its_findings_where_their_code_is_now() {
    let text = "use std::sync::{Arc, Condvar, Mutex};\n\nfn wait_unguarded(pair: Arc<(Mutex<bool>, Condvar)>) {\n    let (lock, cvar) = &*pair;\n    let ready = lock.lock().unwrap();\n    let _ready = cvar.wait(ready).unwrap();\n}\n";
    let mut client = Client::utf8();
    let uri = client.open("wait.rs", text);
    let diagnostics = client.diagnostics_of_version(&uri, 1);
    assert_eq!(codes(&diagnostics), ["TL002"]);
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 5, "character": 17 })
    );
    // `syn` has no error recovery: three lines typed above, one of them unfinished.
    let top = json!({ "line": 1, "character": 0 });
    client.change(&uri, 2, json!([{ "range": { "start": top, "end": top }, "text": "fn half_typed( {\n// one\n// two\n" }]));
    let diagnostics = client.diagnostics_of_version(&uri, 2);
    assert_eq!(
        codes(&diagnostics),
        ["invalid-syntax", "TL002"],
        "{diagnostics:?}"
    );
    let kept = &diagnostics[1];
    assert_eq!(
        kept["range"]["start"],
        json!({ "line": 8, "character": 17 }),
        "moved with its code: {kept}"
    );
    assert_eq!(kept["range"]["end"], json!({ "line": 8, "character": 33 }));
    assert!(
        kept["message"]
            .as_str()
            .unwrap()
            .contains("from the last version that parsed"),
        "{kept}"
    );
    // Its fix was made for the old text: not offered. The suppression is, as `//` comment.
    let actions = client.code_actions(&uri, &kept["range"].clone(), json!([kept]), None);
    assert!(
        find_action(&actions, "Fix TL002").is_none(),
        "{:?}",
        titles(&actions)
    );
    let disable = find_action(&actions, "Disable TL002 for this line")
        .unwrap_or_else(|| panic!("{:?}", titles(&actions)));
    assert!(
        action_edits(disable, &uri)[0]["newText"]
            .as_str()
            .unwrap()
            .ends_with("// noqa: TL002"),
        "{disable}"
    );
    // An edit inside the finding's own code: the old finding is dropped, not misplaced.
    let wait = json!({ "line": 8, "character": 22 });
    client.change(&uri, 3, json!([{ "range": { "start": wait, "end": { "line": 8, "character": 26 } }, "text": "notify_one" }]));
    assert_eq!(
        codes(&client.diagnostics_of_version(&uri, 3)),
        ["invalid-syntax"]
    );
    // Parsing again: fresh findings.
    client.change(&uri, 4, json!([{ "text": text }]));
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 4)), ["TL002"]);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn garbage_input_gets_errors_not_a_crash() {
    let mut client = Client::utf8();
    let uri = client.open("alive.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);

    // A body that is not JSON: a ParseError response with a null id.
    client.send_raw(b"Content-Length: 14\r\n\r\n{\"jsonrpc\": 2.");
    let parse_error = client.wait_for("a ParseError", TIMEOUT, |m| m["error"]["code"] == -32700);
    assert_eq!(parse_error["id"], Value::Null, "{parse_error}");
    // JSON that is not a message: InvalidRequest.
    client.send(&json!({ "jsonrpc": "2.0", "id": 77, "result": 1, "method": 5 }));
    client.send(&json!([1, 2, 3]));
    let invalid = client.wait_for("an InvalidRequest", TIMEOUT, |m| {
        m["error"]["code"] == -32600
    });
    assert!(invalid.get("id").is_some(), "{invalid}");
    // A header that is not `Content-Length`, then a body that is not UTF-8.
    client.send_raw(b"Content-Type: nonsense\r\n\r\n");
    client.send_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc");

    // An unknown method: MethodNotFound.
    let unknown = client.request("threadlint/noSuchMethod", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // Parameters of the wrong shape: InvalidParams.
    for (method, params) in [
        ("textDocument/hover", json!({ "textDocument": 5 })),
        ("textDocument/codeAction", json!("not an object")),
        (
            "textDocument/diagnostic",
            json!({ "textDocument": { "uri": "file:///x.py" }, "previousResultId": [] }),
        ),
        (
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": -1, "character": 0 } }),
        ),
    ] {
        let response = client.request(method, params.clone());
        assert_eq!(
            response["error"]["code"], -32602,
            "{method} {params}: {response}"
        );
    }
    // Notifications with bad parameters and unknown notifications are dropped.
    client.notify("textDocument/didOpen", json!(42));
    client.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "range": "x", "text": 1 }] }));
    client.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "range": { "start": { "line": 900, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "" }] }));
    client.notify("$/setTrace", json!({ "value": "verbose" }));
    client.notify("threadlint/whatever", json!(null));
    // A notification-shaped message for a request-only method, and a response nobody asked for.
    client.notify("textDocument/hover", json!({}));
    client.send(&json!({ "jsonrpc": "2.0", "id": 4242, "result": null }));

    // Still alive and still right.
    let hover = client.hover(&uri, 9, 14);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("TL002"),
        "{hover}"
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_huge_content_length_is_refused_and_the_next_message_read() {
    let mut client = Client::utf8();
    // Lengths that cannot be allocated, or that are over the limit, with no body after them.
    for header in [
        "Content-Length: 18446744073709551615\r\n\r\n",
        "Content-Length: 99999999999999999999999999\r\n\r\n",
        "Content-Length: 4294967296\r\n\r\n",
    ] {
        client.send_raw(header.as_bytes());
        let refused = client.wait_for("an error for the oversized frame", TIMEOUT, |m| {
            m["error"]["code"] == -32700
        });
        assert_eq!(refused["id"], Value::Null, "{refused}");
    }
    // Still in sync: a document opened after them is analysed and requests are answered.
    let uri = client.open("after_huge.py", WAIT_IF);
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 1)), ["TL002"]);
    let hover = client.hover(&uri, 9, 14);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("TL002"),
        "{hover}"
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn garbage_then_a_valid_request_is_answered_and_exit_still_ends_the_server() {
    let mut client = Client::utf8();
    let uri = client.open("after_garbage.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);
    // Lines that are not headers, then bytes without a line break right before a frame.
    client.send_raw(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    client.send_raw(b"\x00\x01\xfe binary junk without a line break");
    let hover = client.hover(&uri, 9, 14);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("TL002"),
        "{hover}"
    );
    // The garbage was answered, not ignored silently.
    let errors: Vec<Value> = client
        .drain(Duration::from_millis(50))
        .into_iter()
        .filter(|m| m["error"]["code"] == -32700)
        .collect();
    assert!(!errors.is_empty(), "no error for the garbage");
    assert!(errors.iter().all(|e| e["id"] == Value::Null), "{errors:?}");
    // A frame whose length claims more than its body: the next message may be lost with it,
    // the ones after are not.
    let (_, lost) = client.request_message("threadlint/noSuchMethod", json!({}));
    let mut short = frame(&lost);
    let declared = format!(
        "Content-Length: {}",
        serde_json::to_vec(&lost).unwrap().len()
    );
    short.splice(
        ..declared.len(),
        format!("Content-Length: {}", 10_000).bytes(),
    );
    client.send_raw(&short);
    client.notify("threadlint/padding", json!({ "text": "x".repeat(10_000) }));
    let hover = client.hover(&uri, 9, 14);
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .contains("TL002"));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn cancel_request_is_ignored_gracefully() {
    let mut client = Client::utf8();
    let uri = client.open("cancel.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);
    let (id, request) = client.request_message(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": whole_range(WAIT_IF), "context": { "diagnostics": [] } }),
    );
    client.send_batch(&[
        request,
        json!({ "jsonrpc": "2.0", "method": "$/cancelRequest", "params": { "id": id } }),
    ]);
    // Answered either way: with a result, or with RequestCancelled.
    let response = client.response(id, TIMEOUT);
    assert!(
        response.get("result").is_some() || response["error"]["code"] == -32800,
        "{response}"
    );
    // Cancelling what was never asked, or with a malformed id, is no error either.
    client.notify("$/cancelRequest", json!({ "id": 999 }));
    client.notify("$/cancelRequest", json!({ "id": "not-a-request" }));
    client.notify("$/cancelRequest", json!({}));
    let stray = client.drain(Duration::from_millis(300));
    assert!(
        stray
            .iter()
            .all(|m| m.get("id").is_none() || m["id"] != 999),
        "{stray:?}"
    );
    let hover = client.hover(&uri, 9, 14);
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .contains("TL002"));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn five_megabyte_document_is_answered_within_bounds() {
    let mut text = String::from("import threading\n\nlock = threading.Lock()\ncond = threading.Condition()\nitems = []\n\n\n");
    let mut index = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!("def worker_{index}(queue):\n    with lock:\n        queue.append({index})\n    return len(queue)\n\n\n"));
        index += 1;
    }
    text.push_str("def get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n");
    let wait_line = text.lines().count() - 2;
    let generous = Duration::from_mins(2);

    let mut client = Client::start(Setup {
        capabilities: json!({
            "general": { "positionEncodings": ["utf-8"] },
            "textDocument": { "codeAction": { "resolveSupport": { "properties": ["edit"] } } },
        }),
        options: None,
    });
    let started = Instant::now();
    let uri = client.open("huge.py", &text);
    let params = client.published_with(&uri, generous, |p| p["version"] == 1);
    let first = started.elapsed();
    let diagnostics = params["diagnostics"].as_array().unwrap();
    assert_eq!(codes(diagnostics), ["TL002"], "{index} functions");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], wait_line);

    // Requests are still answered, and an edit at the end is analysed.
    let (id, hover) = client.request_message(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": wait_line, "character": 14 } }),
    );
    client.send(&hover);
    let hover = client.response(id, generous);
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("TL002"),
        "{hover}"
    );
    // Code actions at the cursor come back at once (the fix-all edit is left to resolve), and
    // small: no copy of the document.
    for line in [3, wait_line] {
        let asked = Instant::now();
        let range = json!({ "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 0 } });
        let (id, request) = client.request_message(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": [] } }),
        );
        client.send(&request);
        let response = client.response(id, generous);
        assert!(
            response.to_string().len() < 10_000,
            "{}",
            response.to_string().len()
        );
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "code actions took {:?}",
            asked.elapsed()
        );
    }
    let position = json!({ "line": wait_line - 1, "character": 8 });
    client.change(&uri, 2, json!([{ "range": { "start": position, "end": { "line": wait_line - 1, "character": 10 } }, "text": "while" }]));
    let params = client.published_with(&uri, generous, |p| p["version"] == 2);
    assert_eq!(params["diagnostics"], json!([]));
    let total = started.elapsed();
    eprintln!("5 MB document ({index} functions): first diagnostics after {first:?}, all done after {total:?}");
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_quarter_million_term_expression_is_analysed_without_overflowing_the_stack() {
    // `check` runs files on threads with large stacks; the server must too.
    let mut text = String::from(WAIT_IF);
    text.push_str("\nx = ");
    text.push_str(&vec!["y"; 250_000].join(" + "));
    text.push('\n');
    let mut client = Client::utf8();
    let uri = client.open("long_expression.py", &text);
    let diagnostics = client.published_with(&uri, Duration::from_mins(2), |p| p["version"] == 1)
        ["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // What `check` reports: the rest of the file is analysed as usual.
    let found = codes(&diagnostics);
    assert!(found.contains(&"TL002".to_string()), "{diagnostics:?}");
    assert!(
        !found.contains(&"internal-error".to_string()),
        "{diagnostics:?}"
    );
    // Still serving: an edit is analysed, and a request about the file answered.
    let small = client.open("small.py", WAIT_IF);
    assert_eq!(codes(&client.diagnostics_of_version(&small, 1)), ["TL002"]);
    let actions = client.code_actions(
        &uri,
        &json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }),
        json!([]),
        Some(json!(["source.fixAll.threadlint"])),
    );
    assert!(actions.len() <= 1, "{:?}", titles(&actions));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_panic_while_analysing_one_document_is_reported_on_it_and_the_server_goes_on() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the test-only panicking analysis exists in debug builds only");
        return;
    }
    let mut client = Client::utf8();
    let broken = client.open(
        "panics.py",
        "import threading\n# threadlint-test: panic while analysing\n",
    );
    let diagnostics = client.diagnostics_of_version(&broken, 1);
    assert_eq!(codes(&diagnostics), ["internal-error"], "{diagnostics:?}");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the document asked for a panic")),
        "{diagnostics:?}"
    );
    let log = client.wait_for("a log message", TIMEOUT, |m| {
        m["method"] == "window/logMessage"
    });
    assert!(
        log["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("panics.py")),
        "{log}"
    );
    // Other documents, and the same one once fixed, are analysed as before.
    let fine = client.open("fine.py", WAIT_IF);
    assert_eq!(codes(&client.diagnostics_of_version(&fine, 1)), ["TL002"]);
    client.change(&broken, 2, json!([{ "text": WAIT_IF }]));
    assert_eq!(codes(&client.diagnostics_of_version(&broken, 2)), ["TL002"]);
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn shutdown_is_answered_while_a_twenty_megabyte_document_is_analysed() {
    let mut text = String::from("import threading\n\nlock = threading.Lock()\n\n\n");
    let mut index = 0;
    while text.len() < 20 * 1024 * 1024 {
        text.push_str(&format!("def worker_{index}(queue):\n    with lock:\n        queue.append({index})\n    return len(queue)\n\n\n"));
        index += 1;
    }
    let mut client = Client::utf8();
    let uri = client.uri("twenty.py");
    std::fs::write(client.path("twenty.py"), &text).unwrap();
    let open = json!({
        "jsonrpc": "2.0",
        "method": "textDocument/didOpen",
        "params": { "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": text } },
    });
    let (id, shutdown) = client.request_message("shutdown", Value::Null);
    client.send_batch(&[open, shutdown]);
    // Answered before the analysis ends (it takes far longer than reading the message).
    let response = client.wait_for("the shutdown response", Duration::from_mins(1), |m| {
        (m["id"] == id && m.get("method").is_none()) || is_publish_for(m, &uri)
    });
    assert_eq!(
        response["id"], id,
        "diagnostics came first: shutdown waited"
    );
    assert_eq!(response["result"], Value::Null, "{response}");
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit().code(), Some(0));
}

#[test]
fn an_edit_during_a_long_analysis_makes_its_result_stale() {
    let mut text = String::from("import threading\n\nlock = threading.Lock()\n\n\n");
    let mut index = 0;
    while text.len() < 3 * 1024 * 1024 {
        text.push_str(&format!("def worker_{index}(queue):\n    with lock:\n        queue.append({index})\n    return len(queue)\n\n\n"));
        index += 1;
    }
    let mut client = Client::utf8();
    let uri = client.uri("stale.py");
    let open = json!({
        "jsonrpc": "2.0",
        "method": "textDocument/didOpen",
        "params": { "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": text } },
    });
    // While version 1 is analysed, the whole text is replaced by one with a finding.
    let change = json!({
        "jsonrpc": "2.0",
        "method": "textDocument/didChange",
        "params": { "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": WAIT_IF }] },
    });
    // Sent apart, so that the analysis of version 1 (over a second in a debug build) most
    // likely runs when the change arrives; sent together, the two are taken in at once and
    // version 1 is never analysed, which is right as well.
    client.send(&open);
    std::thread::sleep(Duration::from_millis(300));
    client.send(&change);
    let diagnostics = client.diagnostics_of_version(&uri, 2);
    assert_eq!(codes(&diagnostics), ["TL002"]);
    let stale: Vec<&Value> = client
        .backlog
        .iter()
        .filter(|m| is_publish_for(m, &uri))
        .collect();
    assert!(stale.is_empty(), "a stale version was published: {stale:?}");
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn a_request_waiting_for_an_analysis_can_be_cancelled() {
    let mut text = String::from(WAIT_IF);
    let mut index = 0;
    while text.len() < 3 * 1024 * 1024 {
        text.push_str(&format!(
            "\n\ndef worker_{index}(queue):\n    with cond:\n        queue.append({index})\n"
        ));
        index += 1;
    }
    let mut client = Client::utf8();
    let uri = client.open("cancelled.py", &text);
    client.diagnostics_of_version(&uri, 1);
    // An edit, a request that needs its analysis (over a second in a debug build), and the
    // cancellation of that request, together.
    let (id, hover) = client.request_message(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 9, "character": 14 } }),
    );
    client.send_batch(&[
        json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "# edited\n" }],
        } }),
        hover,
        json!({ "jsonrpc": "2.0", "method": "$/cancelRequest", "params": { "id": id } }),
    ]);
    let response = client.wait_for("the hover response", TIMEOUT, |m| {
        (m["id"] == id && m.get("method").is_none()) || is_publish_for(m, &uri)
    });
    assert_eq!(response["error"]["code"], -32800, "{response}");
    // The analysis goes on, and a later request is answered from it.
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 2)), ["TL002"]);
    let hover = client.hover(&uri, 10, 14);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("TL002"),
        "{hover}"
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn diagnostics_after_an_edit_arrive_without_a_fixed_delay_when_idle() {
    let mut client = Client::utf8();
    let uri = client.open("latency.py", WAIT_IF);
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 1)), ["TL002"]);
    // One edit at a time, each after the last one's diagnostics: nothing to coalesce, so
    // each is analysed at once. The fastest of several rounds must beat a 200 ms debounce
    // by far; one slow round on a busy machine does not matter.
    let mut fastest = Duration::MAX;
    for version in 2..=6 {
        let text = if version % 2 == 0 {
            WAIT_IF.replace("if not items", "while not items")
        } else {
            WAIT_IF.to_string()
        };
        let sent = Instant::now();
        client.change(&uri, version, json!([{ "text": text }]));
        let diagnostics = client.diagnostics_of_version(&uri, version);
        fastest = fastest.min(sent.elapsed());
        let expected: &[&str] = if version % 2 == 0 { &[] } else { &["TL002"] };
        assert_eq!(codes(&diagnostics), expected, "version {version}");
    }
    assert!(
        fastest < Duration::from_millis(150),
        "the fastest edit took {fastest:?} to be diagnosed"
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn settings_come_from_initialization_options_and_config_files() {
    // `ignore` from initializationOptions.
    let mut client = Client::start(Setup {
        capabilities: json!({}),
        options: Some(json!({ "ignore": ["TL002"] })),
    });
    let uri = client.open("ignored.py", WAIT_IF);
    assert_eq!(client.diagnostics_of_version(&uri, 1), Vec::<Value>::new());
    // didChangeConfiguration replaces it.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "threadlint": { "ignore": [] } } }),
    );
    assert_eq!(
        codes(client.published(&uri)["diagnostics"].as_array().unwrap()),
        ["TL002"]
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));

    // A configuration file in the workspace, reloaded when it changes.
    let mut client = Client::start(Setup {
        capabilities: json!({ "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } }),
        options: None,
    });
    let uri = client.open("configured.py", WAIT_IF);
    assert_eq!(codes(&client.diagnostics_of_version(&uri, 1)), ["TL002"]);
    let registration = client.wait_for("a file watcher registration", TIMEOUT, |m| {
        m["method"] == "client/registerCapability"
    });
    let watchers =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"].to_string();
    assert!(
        watchers.contains("threadlint.toml") && watchers.contains("pyproject.toml"),
        "{watchers}"
    );
    let config = client.path("threadlint.toml");
    std::fs::write(&config, "ignore = [\"TL002\"]\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": file_uri(&config), "type": 1 }] }),
    );
    assert_eq!(client.published(&uri)["diagnostics"], json!([]));
    std::fs::remove_file(&config).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": file_uri(&config), "type": 3 }] }),
    );
    assert_eq!(
        codes(client.published(&uri)["diagnostics"].as_array().unwrap()),
        ["TL002"]
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn initialized_without_params_still_registers_file_watchers() {
    let mut client = Client::spawn();
    let root = file_uri(client.dir.path());
    let response = client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": root,
            "capabilities": { "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } },
        }),
    );
    assert!(response.get("error").is_none(), "{response}");
    client.send(&json!({ "jsonrpc": "2.0", "method": "initialized" }));
    client.wait_for("a file watcher registration", TIMEOUT, |m| {
        m["method"] == "client/registerCapability"
    });
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

#[test]
fn shutdown_then_exit_exits_with_status_zero_and_exit_alone_with_one() {
    let mut client = Client::utf8();
    let uri = client.open("bye.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);
    // After shutdown, requests are refused; exit ends the process with 0.
    let response = client.request("shutdown", Value::Null);
    assert_eq!(response["result"], Value::Null, "{response}");
    let refused = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 9, "character": 14 } }),
    );
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit().code(), Some(0));

    // Exit without shutdown: status 1, as the protocol asks.
    let mut client = Client::utf8();
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit().code(), Some(1));

    // The client going away (end of input) also ends the server.
    let mut client = Client::utf8();
    client.stdin = None;
    assert!(client.wait_exit().code().is_some());
}

#[test]
fn a_panic_in_one_request_is_answered_and_logged() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the test-only panicking request exists in debug builds only");
        return;
    }
    let mut client = Client::utf8();
    let uri = client.open("panic.py", WAIT_IF);
    client.diagnostics_of_version(&uri, 1);
    let response = client.request("threadlint/testPanic", json!({}));
    assert_eq!(
        response["error"]["code"], -32603,
        "InternalError: {response}"
    );
    let log = client.wait_for("a log message", TIMEOUT, |m| {
        m["method"] == "window/logMessage"
    });
    assert!(
        log["params"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("threadlint/testPanic"),
        "{log}"
    );
    let hover = client.hover(&uri, 9, 14);
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .contains("TL002"));
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}

/// A cycle across files: the open document takes two locks of another module in one order, an
/// unopened file of the workspace takes them in the other. The server reports the inversion in
/// the open document, with the other half as related information in the other file.
#[test]
fn a_lock_order_cycle_across_files_is_reported_in_the_open_document() {
    let mut client = Client::start(Setup {
        capabilities: json!({ "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } }),
        options: None,
    });
    let package = client.path("shop");
    std::fs::create_dir_all(&package).unwrap();
    let files = [
        ("shop/__init__.py", ""),
        (
            "shop/locks.py",
            "import threading\n\nORDERS = threading.Lock()\nSTOCK = threading.Lock()\n",
        ),
        (
            "shop/restock.py",
            "from .locks import ORDERS, STOCK\n\n\ndef restock():\n    with STOCK:\n        with ORDERS:\n            pass\n",
        ),
    ];
    let mut changes = Vec::new();
    for (name, text) in files {
        std::fs::write(client.path(name), text).unwrap();
        changes.push(json!({ "uri": client.uri(name), "type": 1 }));
    }
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": changes }),
    );
    let uri = client.open(
        "shop/orders.py",
        "from .locks import ORDERS, STOCK\n\n\ndef place():\n    with ORDERS:\n        with STOCK:\n            pass\n",
    );
    let params = client.published_with(&uri, TIMEOUT, |params| {
        params["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["code"] == "TL004"))
    });
    let diagnostics = params["diagnostics"].as_array().unwrap();
    let inversion = diagnostics.iter().find(|d| d["code"] == "TL004").unwrap();
    assert_eq!(inversion["range"]["start"]["line"], 5, "{inversion}");
    let related = inversion["relatedInformation"].as_array().unwrap();
    assert!(
        related
            .iter()
            .any(|r| r["location"]["uri"] == client.uri("shop/restock.py").as_str()),
        "{inversion}"
    );
    assert_eq!(client.shutdown_and_exit().code(), Some(0));
}
