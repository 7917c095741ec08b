//! Framed JSON-RPC over standard input and output.
//!
//! `lsp_server::Connection::stdio` ends the connection on the first message it cannot decode
//! (a body that is not JSON, a header without `Content-Length`), which takes the server down
//! with it. This reader answers such a message with `ParseError` or `InvalidRequest` and goes on
//! with the next one; only the end of the input (or `exit`) ends it.

use std::io::{self, BufRead, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{ErrorCode, Message};
use serde_json::{json, Value};

pub struct IoThreads {
    writer: JoinHandle<()>,
}

impl IoThreads {
    /// Waits until every message sent so far is written. The reader is not waited for: it may
    /// be blocked on input that never comes.
    pub fn join_writer(self) {
        let _ = self.writer.join();
    }
}

/// Writes one framed message. Standard output is locked for the whole frame, so the writer
/// thread and the reader (answering malformed input) never interleave.
fn write_frame(text: &str) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write!(out, "Content-Length: {}\r\n\r\n", text.len())?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// One frame of input.
enum Frame {
    Body(Vec<u8>),
    /// Headers without a usable `Content-Length`: skipped.
    BadHeader(String),
    End,
}

fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut bad = None;
    let mut seen_any = false;
    loop {
        let mut line = Vec::new();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Frame::End);
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if !seen_any {
                // Blank lines between messages.
                continue;
            }
            break;
        }
        seen_any = true;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad = Some(format!("bad Content-Length: {line:?}")),
                }
            }
            Some(_) => {}
            None => bad = Some(format!("malformed header: {line:?}")),
        }
    }
    match (length, bad) {
        (Some(length), None) => {
            let mut body = vec![0; length];
            input.read_exact(&mut body)?;
            Ok(Frame::Body(body))
        }
        (_, Some(why)) => Ok(Frame::BadHeader(why)),
        (None, None) => Ok(Frame::BadHeader("no Content-Length header".into())),
    }
}

/// Decodes one body: a message, or the error response that says why it is not one.
fn decode(body: &[u8]) -> Result<Message, Value> {
    let error = |id: Value, code: ErrorCode, message: String| {
        // The id is `null` when it could not be read, as JSON-RPC asks.
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code as i32, "message": message } })
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Err(error(
                Value::Null,
                ErrorCode::ParseError,
                format!("invalid JSON: {e}"),
            ))
        }
    };
    if !value.is_object() {
        return Err(error(
            Value::Null,
            ErrorCode::InvalidRequest,
            "a message must be a JSON object".into(),
        ));
    }
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    serde_json::from_value::<Message>(value).map_err(|e| {
        error(
            id,
            ErrorCode::InvalidRequest,
            format!("not a JSON-RPC message: {e}"),
        )
    })
}

/// Starts the reader and writer threads on standard input and output.
pub fn stdio() -> io::Result<(Sender<Message>, Receiver<Message>, IoThreads)> {
    let (writer_sender, writer_receiver) = crossbeam_channel::unbounded::<Message>();
    let writer = std::thread::Builder::new()
        .name("threadlint-lsp-writer".into())
        .spawn(move || {
            for message in writer_receiver {
                let Ok(text) = serde_json::to_string(&WithVersion {
                    jsonrpc: "2.0",
                    message: &message,
                }) else {
                    continue;
                };
                if write_frame(&text).is_err() {
                    break;
                }
            }
        })?;
    let (reader_sender, reader_receiver) = crossbeam_channel::unbounded::<Message>();
    std::thread::Builder::new()
        .name("threadlint-lsp-reader".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            loop {
                let message = match read_frame(&mut input) {
                    Ok(Frame::End) | Err(_) => break,
                    Ok(Frame::BadHeader(why)) => {
                        eprintln!("threadlint server: skipped a message: {why}");
                        continue;
                    }
                    Ok(Frame::Body(body)) => match decode(&body) {
                        Ok(message) => message,
                        Err(response) => {
                            eprintln!("threadlint server: {}", response["error"]["message"]);
                            let _ = write_frame(&response.to_string());
                            continue;
                        }
                    },
                };
                let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                if reader_sender.send(message).is_err() || exit {
                    break;
                }
            }
        })?;
    Ok((writer_sender, reader_receiver, IoThreads { writer }))
}

/// A message with its `"jsonrpc": "2.0"` member.
#[derive(serde::Serialize)]
struct WithVersion<'a> {
    jsonrpc: &'static str,
    #[serde(flatten)]
    message: &'a Message,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut input = io::Cursor::new(input.to_vec());
        let mut out = Vec::new();
        loop {
            match read_frame(&mut input).unwrap() {
                Frame::End => return out,
                Frame::BadHeader(why) => out.push(format!("bad: {why}")),
                Frame::Body(body) => out.push(match decode(&body) {
                    Ok(Message::Request(r)) => format!("request {}", r.method),
                    Ok(Message::Notification(n)) => format!("notification {}", n.method),
                    Ok(Message::Response(_)) => "response".into(),
                    Err(response) => format!("error {}", response["error"]["code"]),
                }),
            }
        }
    }

    #[test]
    fn malformed_messages_are_answered_and_skipped() {
        let good = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        let mut input = Vec::new();
        input.extend_from_slice(b"Content-Length: 5\r\n\r\n{nope");
        input.extend_from_slice(b"Content-Length: 7\r\n\r\n[1,2,3]");
        input.extend_from_slice(b"Content-Type: x\r\n\r\n");
        input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", good.len()).as_bytes());
        input.extend_from_slice(good);
        input.extend_from_slice(b"Content-Length:13\n\n{\"method\":42}");
        assert_eq!(
            frames(&input),
            [
                "error -32700",
                "error -32600",
                "bad: no Content-Length header",
                "request shutdown",
                "error -32600"
            ]
        );
    }
}
