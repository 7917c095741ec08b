//! proc-macro2 locates tokens by line (1-based) and column (0-based, in characters); the model
//! wants byte offsets. This index converts one to the other, with a fast path for ASCII lines.

use proc_macro2::{LineColumn, Span as TokenSpan};
use threadlint_rules::model::Span;

pub struct Positions<'a> {
    /// The text syn parsed: the source without a leading byte-order mark.
    text: &'a str,
    /// Bytes before `text` in the source (the byte-order mark).
    base: u32,
    line_starts: Vec<u32>,
    ascii: Vec<bool>,
}

impl<'a> Positions<'a> {
    pub fn new(text: &'a str, base: u32) -> Self {
        let mut line_starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(i as u32 + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            } else if byte >= 0x80 {
                line_ascii = false;
            }
        }
        ascii.push(line_ascii);
        Positions {
            text,
            base,
            line_starts,
            ascii,
        }
    }

    /// The byte offset in the source of a line and character column.
    pub fn offset(&self, at: LineColumn) -> u32 {
        let Some(line) = at.line.checked_sub(1) else {
            return self.base;
        };
        let Some(&start) = self.line_starts.get(line) else {
            return self.base + self.text.len() as u32;
        };
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len() as u32, |&next| next);
        let offset = if self.ascii[line] {
            (start + at.column as u32).min(end)
        } else {
            let text = self.text.get(start as usize..end as usize).unwrap_or("");
            let within = text
                .char_indices()
                .nth(at.column)
                .map_or(text.len(), |(byte, _)| byte);
            start + within as u32
        };
        self.base + offset
    }

    /// The byte range a token span covers.
    pub fn span(&self, span: TokenSpan) -> Span {
        let start = self.offset(span.start());
        let end = self.offset(span.end());
        Span::new(start, end.max(start))
    }

    /// From the start of `first` to the end of `last`.
    pub fn join(&self, first: TokenSpan, last: TokenSpan) -> Span {
        let start = self.offset(first.start());
        let end = self.offset(last.end());
        Span::new(start, end.max(start))
    }
}
