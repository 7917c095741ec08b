//! Byte offsets <-> LSP positions in the encoding the client negotiated (UTF-8 bytes or UTF-16
//! code units), and `file://` URIs <-> paths.

use std::path::{Path, PathBuf};

use lsp_types::{Position, Range, Uri};
use threadlint_analyzer::lines::LineIndex;
use threadlint_rules::model::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// The character offset of byte `column` in `line`, in `encoding` units.
fn units(line: &str, bytes: usize, encoding: Encoding) -> u32 {
    let prefix = line.get(..bytes.min(line.len())).unwrap_or(line);
    match encoding {
        Encoding::Utf8 => prefix.len() as u32,
        Encoding::Utf16 => prefix.encode_utf16().count() as u32,
    }
}

pub fn position(source: &str, lines: &LineIndex, offset: u32, encoding: Encoding) -> Position {
    let offset = offset.min(source.len() as u32);
    let line = lines.line_of(offset);
    let start = lines.line_start(line) as usize;
    let text = &source[start.min(source.len())..];
    let character = units(text, offset as usize - start, encoding);
    Position {
        line: line as u32,
        character,
    }
}

pub fn range(source: &str, lines: &LineIndex, span: Span, encoding: Encoding) -> Range {
    Range {
        start: position(source, lines, span.start, encoding),
        end: position(source, lines, span.end, encoding),
    }
}

/// The byte offset of an LSP position; positions past the end of a line or of the text are
/// clamped, as the protocol asks.
pub fn offset(source: &str, lines: &LineIndex, position: Position, encoding: Encoding) -> usize {
    let line = position.line as usize;
    if line >= lines.line_count() {
        return source.len();
    }
    let start = lines.line_start(line) as usize;
    offset_in_line(
        lines.line_text(source, line),
        start,
        position.character,
        encoding,
    )
}

/// The byte offset of an LSP position, as [`offset`], found by scanning the text up to its
/// line: an edit of a large document needs two offsets, which costs far less than a line index
/// of the whole text built on the message loop at every keystroke.
pub fn offset_by_scan(source: &str, position: Position, encoding: Encoding) -> usize {
    let mut start = 0;
    for _ in 0..position.line {
        match source[start..].find('\n') {
            Some(newline) => start += newline + 1,
            None => return source.len(),
        }
    }
    let end = source[start..]
        .find('\n')
        .map_or(source.len(), |newline| start + newline);
    let text = source[start..end].trim_end_matches(['\n', '\r']);
    offset_in_line(text, start, position.character, encoding)
}

/// The offset of `character` (in `encoding` units) in the line `text` that starts at `start`.
fn offset_in_line(text: &str, start: usize, character: u32, encoding: Encoding) -> usize {
    let mut counted = 0u32;
    for (index, c) in text.char_indices() {
        if counted >= character {
            return start + index;
        }
        counted += match encoding {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
        };
    }
    start + text.len()
}

/// The part of `old` that differs from `new`: `old[start..end]` becomes the returned text.
/// Both ends fall on character boundaries.
pub fn changed_part<'n>(old: &str, new: &'n str) -> (usize, usize, &'n str) {
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let longest = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(longest)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    (prefix, old.len() - suffix, &new[prefix..new.len() - suffix])
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The path of a `file://` URI.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    // `file:///path` or `file://host/path`: keep the path.
    let path = &rest[rest.find('/')?..];
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(a), Some(b)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push(a * 16 + b);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let path = String::from_utf8(decoded).ok()?;
    Some(PathBuf::from(path))
}

pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    format!(
        "file://{}",
        crate::render::percent_encode_path(&absolute.to_string_lossy())
    )
    .parse()
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_utf8_columns_after_non_ascii_and_emoji() {
        let source = "x = 'é🔒'; lock.acquire()\n";
        let lines = LineIndex::new(source);
        let byte = source.find("lock").unwrap() as u32;
        assert_eq!(
            position(source, &lines, byte, Encoding::Utf8).character,
            byte
        );
        // é is 1 UTF-16 unit, 🔒 is 2: 5 + 1 + 2 + 3 = 11.
        assert_eq!(
            position(source, &lines, byte, Encoding::Utf16).character,
            11
        );
        for encoding in [Encoding::Utf8, Encoding::Utf16] {
            let p = position(source, &lines, byte, encoding);
            assert_eq!(offset(source, &lines, p, encoding), byte as usize);
        }
    }

    #[test]
    fn uris_round_trip() {
        let uri = path_to_uri(Path::new("/tmp/a b/ü.py")).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%BC.py");
        assert_eq!(uri_to_path(&uri).unwrap(), PathBuf::from("/tmp/a b/ü.py"));
    }

    #[test]
    fn changed_part_is_the_smallest_replacement_on_character_boundaries() {
        assert_eq!(changed_part("a if b", "a while b"), (2, 4, "while"));
        assert_eq!(changed_part("same", "same"), (4, 4, ""));
        assert_eq!(changed_part("x = 'é'", "x = 'è'"), (5, 7, "è"));
        assert_eq!(changed_part("aaa", "aaaa"), (3, 3, "a"));
        assert_eq!(changed_part("🔒a", "🔓a"), (0, 4, "🔓"));
        for (old, new) in [("abc", "xbc"), ("é", "e"), ("", "new"), ("old", "")] {
            let (start, end, replacement) = changed_part(old, new);
            assert_eq!(
                format!("{}{replacement}{}", &old[..start], &old[end..]),
                new
            );
        }
    }

    #[test]
    fn offsets_by_scan_are_the_offsets_of_the_line_index() {
        for source in [
            "",
            "\n",
            "a\nb",
            "x = 1\r\ny = 'é'\r\n",
            "🔒 = lock\n\n  🔓\nlast",
        ] {
            let lines = LineIndex::new(source);
            for line in 0..lines.line_count() as u32 + 2 {
                for character in 0..source.len() as u32 + 2 {
                    for encoding in [Encoding::Utf8, Encoding::Utf16] {
                        let position = Position { line, character };
                        assert_eq!(
                            offset_by_scan(source, position, encoding),
                            offset(source, &lines, position, encoding),
                            "{source:?} {position:?} {encoding:?}"
                        );
                    }
                }
            }
        }
    }
}
