//! Framed JSON-RPC over standard input and output.
//!
//! `lsp_server::Connection::stdio` ends the connection on the first message it cannot decode
//! (a body that is not JSON, a header without `Content-Length`), which takes the server down
//! with it. This reader answers such a message with `ParseError` or `InvalidRequest` and goes on
//! with the next one; only the end of the input (or `exit`) ends it. Input that is not a frame
//! (garbage, a body over [`MAX_BODY_BYTES`], a `Content-Length` that is not a number) is
//! answered too and skipped up to the next `Content-Length` header. Memory follows the bytes
//! that arrive, never the length a header claims.

use std::io::{self, BufRead, Read, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{ErrorCode, Message};
use serde_json::{json, Value};
use threadlint_analyzer::engine;

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

/// The largest message body accepted. An editor sends a document's whole text in `didOpen` and
/// in full-text changes; this is room for the largest file the engine reads
/// ([`engine::MAX_FILE_BYTES`]) even when JSON escaping doubles it.
pub const MAX_BODY_BYTES: usize = 4 * engine::MAX_FILE_BYTES as usize;

/// Header lines longer than this are not headers: only their end is kept, where the next
/// frame's `Content-Length` may follow garbage that has no line break.
const MAX_HEADER_LINE: usize = 4096;

const CONTENT_LENGTH: &[u8] = b"content-length:";

/// One frame of input.
#[derive(Debug)]
enum Frame {
    Body(Vec<u8>),
    /// Input that is not a frame (garbage, headers without a usable `Content-Length`, a body
    /// over the limit), skipped up to the next `Content-Length` header.
    Skipped(String),
    End,
}

/// Input with bytes pushed back in front of it: the part of an undecodable body from a
/// `Content-Length` header on, which is where the next message most likely starts.
struct Input<R> {
    pending: Vec<u8>,
    position: usize,
    inner: R,
}

impl<R: BufRead> Input<R> {
    fn new(inner: R) -> Self {
        Input {
            pending: Vec::new(),
            position: 0,
            inner,
        }
    }

    fn push_back(&mut self, bytes: &[u8]) {
        let mut pending = bytes.to_vec();
        pending.extend_from_slice(&self.pending[self.position..]);
        self.pending = pending;
        self.position = 0;
    }
}

impl<R: BufRead> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position < self.pending.len() {
            Ok(&self.pending[self.position..])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, amount: usize) {
        if self.position < self.pending.len() {
            self.position += amount;
            if self.position >= self.pending.len() {
                self.pending = Vec::new();
                self.position = 0;
            }
        } else {
            self.inner.consume(amount);
        }
    }
}

/// Reads one line (without its end) keeping at most its last `MAX_HEADER_LINE` bytes;
/// `None` at the end of the input.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(any.then_some(line));
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        line.extend_from_slice(chunk);
        let used = chunk.len();
        input.consume(used);
        if line.len() > 2 * MAX_HEADER_LINE {
            line.drain(..line.len() - MAX_HEADER_LINE);
        }
        if done {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if line.len() > MAX_HEADER_LINE {
                line.drain(..line.len() - MAX_HEADER_LINE);
            }
            return Ok(Some(line));
        }
    }
}

/// Where the last `Content-Length` header starts in `bytes`, in any case: after garbage, the
/// next frame's header is the last thing on the line.
fn find_content_length(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(CONTENT_LENGTH.len())
        .rposition(|w| w.eq_ignore_ascii_case(CONTENT_LENGTH))
}

/// A header line: a name of visible characters without spaces, a colon, a value.
fn is_header(line: &[u8]) -> bool {
    match line.iter().position(|&b| b == b':') {
        Some(colon) => colon > 0 && line[..colon].iter().all(u8::is_ascii_graphic),
        None => false,
    }
}

fn describe(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        format!("{short:?}...")
    } else {
        format!("{short:?}")
    }
}

/// Reads the next frame. Anything that is not a header block followed by its body is skipped
/// up to the next `Content-Length` header, so one bad frame never desynchronises the rest.
fn read_frame<R: BufRead>(input: &mut Input<R>) -> io::Result<Frame> {
    let mut length: Option<Result<usize, String>> = None;
    let mut in_headers = false;
    let mut skipped: Option<String> = None;
    loop {
        let Some(mut line) = read_line(input)? else {
            return Ok(match skipped {
                Some(why) => Frame::Skipped(why),
                None => Frame::End,
            });
        };
        if line.is_empty() {
            if in_headers {
                break;
            }
            // Blank lines between messages.
            continue;
        }
        let garbage = match find_content_length(&line) {
            Some(start) if start > 0 => {
                // Garbage, then the next frame's header on the same line.
                let why = format!("not a frame: {}", describe(&line[..start]));
                line.drain(..start);
                Some(why)
            }
            Some(_) => None,
            None if is_header(&line) => None,
            None => Some(format!("not a frame: {}", describe(&line))),
        };
        if let Some(why) = garbage {
            if in_headers {
                // Headers broken off by garbage: the frame they began is lost.
                in_headers = false;
                length = None;
            }
            skipped.get_or_insert(why);
        }
        if let Some(why) = skipped.take() {
            if is_header(&line) {
                // The skipped input is reported first; this header is read again next time.
                line.push(b'\n');
                input.push_back(&line);
                return Ok(Frame::Skipped(why));
            }
            skipped = Some(why);
            continue;
        }
        in_headers = true;
        if line.starts_with(b"C") || line.starts_with(b"c") {
            if let Some(value) = line
                .get(CONTENT_LENGTH.len()..)
                .filter(|_| line[..CONTENT_LENGTH.len()].eq_ignore_ascii_case(CONTENT_LENGTH))
            {
                let value = String::from_utf8_lossy(value);
                length = Some(match value.trim().parse::<u64>() {
                    Ok(n) if n <= MAX_BODY_BYTES as u64 => Ok(n as usize),
                    Ok(n) => Err(format!(
                        "a message of {n} bytes is over the limit of {} MiB",
                        MAX_BODY_BYTES / (1024 * 1024)
                    )),
                    Err(_) => Err(format!("bad Content-Length: {}", describe(&line))),
                });
            }
        }
    }
    match length {
        Some(Ok(length)) => {
            // Grown as bytes arrive, never allocated up front from the header's word.
            let mut body = Vec::with_capacity(length.min(64 * 1024));
            input.take(length as u64).read_to_end(&mut body)?;
            if body.len() < length {
                return Ok(Frame::End);
            }
            Ok(Frame::Body(body))
        }
        Some(Err(why)) => Ok(Frame::Skipped(why)),
        None => Ok(Frame::Skipped("no Content-Length header".into())),
    }
}

/// An error response; the id is `null` when it could not be read, as JSON-RPC asks.
fn error_response(id: Value, code: ErrorCode, message: String) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code as i32, "message": message } })
}

/// Decodes one body: a message, or the error response that says why it is not one.
fn decode(body: &[u8]) -> Result<Message, Value> {
    let error = error_response;
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

/// Reads the next message, or the error response for input that is not one; `None` at the end
/// of the input.
fn read_message<R: BufRead>(input: &mut Input<R>) -> io::Result<Option<Result<Message, Value>>> {
    Ok(Some(match read_frame(input)? {
        Frame::End => return Ok(None),
        Frame::Skipped(why) => Err(error_response(
            Value::Null,
            ErrorCode::ParseError,
            format!("skipped input: {why}"),
        )),
        Frame::Body(body) => {
            let decoded = decode(&body);
            if decoded.is_err() {
                // A `Content-Length` that claimed too much swallows the next frame's header:
                // read on from there.
                if let Some(start) = find_content_length(&body).filter(|&start| start > 0) {
                    input.push_back(&body[start..]);
                }
            }
            decoded
        }
    }))
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
            let mut input = Input::new(stdin.lock());
            loop {
                let message = match read_message(&mut input) {
                    Ok(Some(Ok(message))) => message,
                    Ok(Some(Err(response))) => {
                        eprintln!("threadlint server: {}", response["error"]["message"]);
                        let _ = write_frame(&response.to_string());
                        continue;
                    }
                    Ok(None) | Err(_) => break,
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
        let mut input = Input::new(io::Cursor::new(input.to_vec()));
        let mut out = Vec::new();
        while let Some(message) = read_message(&mut input).unwrap() {
            out.push(match message {
                Ok(Message::Request(r)) => format!("request {}", r.method),
                Ok(Message::Notification(n)) => format!("notification {}", n.method),
                Ok(Message::Response(_)) => "response".into(),
                Err(response) => format!("error {}", response["error"]["code"]),
            });
        }
        out
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    const SHUTDOWN: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
    const EXIT: &[u8] = br#"{"jsonrpc":"2.0","method":"exit"}"#;

    #[test]
    fn malformed_messages_are_answered_and_skipped() {
        let mut input = Vec::new();
        input.extend_from_slice(b"Content-Length: 5\r\n\r\n{nope");
        input.extend_from_slice(b"Content-Length: 7\r\n\r\n[1,2,3]");
        input.extend_from_slice(b"Content-Type: x\r\n\r\n");
        input.extend(framed(SHUTDOWN));
        input.extend_from_slice(b"Content-Length:13\n\n{\"method\":42}");
        assert_eq!(
            frames(&input),
            [
                "error -32700",
                "error -32600",
                "error -32700",
                "request shutdown",
                "error -32600"
            ]
        );
    }

    #[test]
    fn garbage_between_frames_is_answered_once_and_the_next_frame_read() {
        let mut input = framed(SHUTDOWN);
        input.extend_from_slice(b"hello\r\nthis is not a frame\r\n\r\n");
        input.extend(framed(EXIT));
        // Garbage without a line break, right before a header.
        input.extend_from_slice(b"\x00\xffgarbage");
        input.extend(framed(SHUTDOWN));
        assert_eq!(
            frames(&input),
            [
                "request shutdown",
                "error -32700",
                "notification exit",
                "error -32700",
                "request shutdown"
            ]
        );
    }

    #[test]
    fn a_huge_content_length_is_refused_without_allocating_it() {
        for length in [
            "18446744073709551615",
            "99999999999999999999999",
            "300000000",
        ] {
            let mut input = format!("Content-Length: {length}\r\n\r\n").into_bytes();
            input.extend(framed(SHUTDOWN));
            assert_eq!(
                frames(&input),
                ["error -32700", "request shutdown"],
                "{length}"
            );
        }
    }

    #[test]
    fn a_length_that_claims_too_much_loses_at_most_one_message_not_the_stream() {
        let input = |extra: usize| {
            let mut input =
                format!("Content-Length: {}\r\n\r\n", SHUTDOWN.len() + extra).into_bytes();
            input.extend_from_slice(SHUTDOWN);
            input.extend(framed(EXIT));
            input.extend(framed(SHUTDOWN));
            input
        };
        // The whole next header swallowed: read again from the body.
        let header = format!("Content-Length: {}\r\n", EXIT.len()).len();
        assert_eq!(
            frames(&input(header)),
            ["error -32700", "notification exit", "request shutdown"]
        );
        // Part of it swallowed: that message is lost (and its remains answered), not the rest.
        assert_eq!(
            frames(&input(10)),
            [
                "error -32700",
                "error -32700",
                "error -32700",
                "request shutdown"
            ]
        );
    }

    #[test]
    fn a_body_cut_short_by_the_end_of_input_ends_the_stream() {
        let mut input = framed(SHUTDOWN);
        input.extend_from_slice(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"");
        assert_eq!(frames(&input), ["request shutdown"]);
    }

    #[test]
    fn an_endless_header_line_keeps_only_its_end() {
        let mut input = vec![b'x'; 3 * 1024 * 1024];
        input.extend(framed(SHUTDOWN));
        let mut reader = Input::new(io::Cursor::new(input));
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Frame::Skipped(_)
        ));
        assert!(matches!(read_frame(&mut reader).unwrap(), Frame::Body(_)));
    }
}
