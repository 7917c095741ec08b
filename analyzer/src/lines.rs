//! Byte offsets to rows and columns (1-based; columns in characters, or in the unit a client
//! asks for).

use threadlint_rules::model::Span;

/// Where each line of a source starts.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Per line: it holds only ASCII, so a column is a byte count and needs no counting of
    /// characters (which costs the line's length per lookup, quadratic on a long line with
    /// many findings). Empty when the whole text is ASCII (most files): every line is.
    ascii: Vec<bool>,
}

/// A 1-based row and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub row: usize,
    pub column: usize,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|newline| newline as u32 + 1));
        let ascii = if bytes.is_ascii() {
            Vec::new()
        } else {
            let mut ends = starts[1..].iter().map(|&next| next as usize - 1);
            starts
                .iter()
                .map(|&start| {
                    let end = ends.next().unwrap_or(bytes.len());
                    bytes[start as usize..end].is_ascii()
                })
                .collect()
        };
        LineIndex { starts, ascii }
    }

    /// The 0-based line that holds `offset`.
    pub fn line_of(&self, offset: u32) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> u32 {
        self.starts.get(line).copied().unwrap_or(u32::MAX)
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The text of 0-based `line`, without its line ending.
    pub fn line_text<'s>(&self, source: &'s str, line: usize) -> &'s str {
        let start = self.line_start(line) as usize;
        let end = self
            .starts
            .get(line + 1)
            .map_or(source.len(), |&next| next as usize);
        let text = source
            .get(start.min(source.len())..end.min(source.len()))
            .unwrap_or("");
        text.trim_end_matches(['\n', '\r'])
    }

    /// 1-based row and character column of `offset`.
    pub fn location(&self, source: &str, offset: u32) -> Location {
        let line = self.line_of(offset);
        let start = self.line_start(line) as usize;
        let offset = (offset as usize).min(source.len());
        let column = if self.ascii.is_empty() || self.ascii.get(line).copied().unwrap_or(false) {
            offset.saturating_sub(start)
        } else {
            source
                .get(start..offset)
                .map_or(offset.saturating_sub(start), |prefix| {
                    prefix.chars().count()
                })
        };
        Location {
            row: line + 1,
            column: column + 1,
        }
    }

    pub fn span_locations(&self, source: &str, span: Span) -> (Location, Location) {
        (
            self.location(source, span.start),
            self.location(source, span.end),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(source: &str, offset: usize) -> (usize, usize) {
        let location = LineIndex::new(source).location(source, offset as u32);
        (location.row, location.column)
    }

    #[test]
    fn rows_and_columns_count_characters_on_non_ascii_lines_only() {
        let ascii = "a = 1\r\nlock.acquire()\n\nend";
        assert_eq!(at(ascii, 0), (1, 1));
        assert_eq!(at(ascii, ascii.find("acquire").unwrap_or_default()), (2, 6));
        assert_eq!(at(ascii, ascii.find("end").unwrap_or_default()), (4, 1));
        assert_eq!(at(ascii, ascii.len()), (4, 4));
        let mixed = "naïve = 1\nlock.acquire()\ncafé.wait()\n";
        assert_eq!(at(mixed, mixed.find("= 1").unwrap_or_default()), (1, 7));
        assert_eq!(at(mixed, mixed.find("acquire").unwrap_or_default()), (2, 6));
        assert_eq!(at(mixed, mixed.find("wait").unwrap_or_default()), (3, 6));
        let index = LineIndex::new(mixed);
        assert_eq!(index.line_count(), 4);
        assert_eq!(index.line_text(mixed, 2), "café.wait()");
    }
}
