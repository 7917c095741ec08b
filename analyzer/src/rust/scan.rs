//! A lexical pre-pass over Rust source: the `//` comments (syn drops comments, suppressions need
//! them), the deepest delimiter nesting (to refuse sources that would exhaust the parser's
//! stack), and the first lexical problem, to explain a tokenizer failure in plain words.

use threadlint_rules::model::Span;

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every line comment (`//`, `///`, `//!`), from its `//` to the end of its line.
    pub comments: Vec<Span>,
    /// The deepest nesting the parser may recurse through: of `(`, `[` and `{`; of generic
    /// `<`..`>` within a statement; of prefix operators in a row (`- - !&*x`, `|| ||`,
    /// `return return`); of right-nested `a = b = c` and `fn() -> fn() ->` in one statement.
    pub max_depth: usize,
    /// The first lexical problem: an unterminated literal or comment, an unbalanced delimiter.
    pub problem: Option<(Span, String)>,
    /// Numeric literals longer than [`LONG_NUMBER`] bytes.
    pub long_numbers: Vec<Span>,
}

/// The parser computes an integer literal's value with a cost that grows with the square of
/// its digits; literals longer than this are blanked before parsing (see [`blank_long_numbers`]).
pub const LONG_NUMBER: usize = 256;

/// `source` with the digits of each long numeric literal after its first turned into `_`: the
/// literal keeps its length and kind (and stays valid Rust), its value becomes small, and the
/// parser no longer spends quadratic time on it. No rule reads such a value.
pub fn blank_long_numbers(source: &str, numbers: &[Span]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for number in numbers {
        let (start, end) = (
            number.start as usize,
            (number.end as usize).min(bytes.len()),
        );
        let token = &source[start..end];
        let (first, hex) = match token.get(..2) {
            Some("0x" | "0X") => (start + 2, true),
            Some("0o" | "0O" | "0b" | "0B") => (start + 2, false),
            _ => (start, false),
        };
        let is_digit = |b: u8| b.is_ascii_digit() || b == b'_' || (hex && b.is_ascii_hexdigit());
        let mut i = first + 1;
        while i < end && is_digit(bytes[i]) {
            bytes[i] = b'_';
            i += 1;
        }
    }
    // Only ASCII digits were replaced by an ASCII byte.
    String::from_utf8(bytes).unwrap_or_else(|_| source.to_string())
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// Scans `source`, skipping string, raw-string, byte-string, char literals and (nested) block
/// comments so that a `//` inside them is not taken for a comment.
pub fn scan(source: &str) -> Scan {
    let bytes = source.as_bytes();
    let mut result = Scan::default();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut nesting = Nesting::default();
    let mut i = 0;
    let problem = |result: &mut Scan, start: usize, end: usize, message: String| {
        if result.problem.is_none() {
            result.problem = Some((Span::new(start as u32, end as u32), message));
        }
    };
    while i < bytes.len() {
        let byte = bytes[i];
        nesting.byte(bytes, i);
        match byte {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
                let text_end = if end > i && bytes[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                result.comments.push(Span::new(i as u32, text_end as u32));
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    problem(
                        &mut result,
                        start,
                        start + 2,
                        "unterminated block comment".into(),
                    );
                }
            }
            b'"' => i = skip_string(source, i, &mut result),
            b'r' | b'b' | b'c' if i == 0 || !is_ident_byte(bytes[i - 1]) => {
                // `r"..."`, `r#"..."#`, `b"..."`, `br"..."`, `c"..."`, `cr#"..."#`, `b'x'`.
                let mut j = i + 1;
                if byte != b'r' && bytes.get(j) == Some(&b'r') {
                    j += 1;
                }
                let raw = bytes[i] == b'r' || (j > i + 1 && bytes[j - 1] == b'r');
                if raw {
                    let hashes_start = j;
                    while bytes.get(j) == Some(&b'#') {
                        j += 1;
                    }
                    let hashes = j - hashes_start;
                    if bytes.get(j) == Some(&b'"') {
                        i = skip_raw_string(source, i, j + 1, hashes, &mut result);
                        continue;
                    }
                    // A raw identifier (`r#type`) or a plain identifier starting with `r`.
                    let start = if hashes > 0 { j } else { i };
                    let end = skip_ident(bytes, start);
                    nesting.word(&source[start..end]);
                    i = end;
                    continue;
                }
                match bytes.get(j) {
                    Some(b'"') => i = skip_string(source, j, &mut result),
                    Some(b'\'') if byte == b'b' && j == i + 1 => {
                        i = skip_quote(source, j, &mut result);
                    }
                    _ => {
                        let end = skip_ident(bytes, i);
                        nesting.word(&source[i..end]);
                        i = end;
                    }
                }
            }
            b'\'' => i = skip_quote(source, i, &mut result),
            b'(' | b'[' | b'{' => {
                open.push((byte, i));
                result.max_depth = result.max_depth.max(open.len());
                i += 1;
            }
            b')' | b']' | b'}' => {
                let expected = match byte {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((opener, _)) if opener == expected => {}
                    Some((opener, at)) => {
                        let message = format!(
                            "mismatched closing delimiter `{}`: `{}` opened at byte {at} is still open",
                            byte as char, opener as char
                        );
                        problem(&mut result, i, i + 1, message);
                    }
                    None => problem(
                        &mut result,
                        i,
                        i + 1,
                        format!("unexpected closing delimiter `{}`", byte as char),
                    ),
                }
                i += 1;
            }
            b'0'..=b'9' => {
                let end = skip_ident(bytes, i);
                if end - i > LONG_NUMBER {
                    result.long_numbers.push(Span::new(i as u32, end as u32));
                }
                nesting.word(&source[i..end]);
                i = end;
            }
            _ if is_ident_byte(byte) => {
                let end = skip_ident(bytes, i);
                nesting.word(&source[i..end]);
                i = end;
            }
            _ => i += 1,
        }
    }
    result.max_depth = result.max_depth.max(nesting.max);
    if let Some(&(opener, at)) = open.last() {
        problem(
            &mut result,
            at,
            at + 1,
            format!("unclosed delimiter `{}`", opener as char),
        );
    }
    result
}

/// Counters for the kinds of nesting that brackets do not show.
#[derive(Default)]
struct Nesting {
    angle: usize,
    prefix_run: usize,
    assigns: usize,
    arrows: usize,
    max: usize,
}

impl Nesting {
    /// Sees the punctuation byte at `i` (literals and comments are skipped by the caller).
    fn byte(&mut self, bytes: &[u8], i: usize) {
        let before = if i > 0 { bytes[i - 1] } else { b' ' };
        let after = bytes.get(i + 1).copied().unwrap_or(b' ');
        match bytes[i] {
            b';' | b'{' | b'}' => {
                self.angle = 0;
                self.assigns = 0;
                self.arrows = 0;
                self.prefix_run = 0;
            }
            b'<' => self.angle += 1,
            b'>' if before == b'-' => {
                self.arrows += 1;
                self.prefix_run = 0;
            }
            b'>' if before != b'=' => self.angle = self.angle.saturating_sub(1),
            b'=' if !matches!(
                before,
                b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'&' | b'|'
            ) && !matches!(after, b'=' | b'>') =>
            {
                self.assigns += 1;
                self.prefix_run += 1;
            }
            b'-' | b'!' | b'*' | b'&' | b'|' => self.prefix_run += 1,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            // Words are seen whole by `word`.
            byte if is_ident_byte(byte) => {}
            _ => self.prefix_run = 0,
        }
        self.max = self
            .max
            .max(self.angle)
            .max(self.prefix_run)
            .max(self.assigns)
            .max(self.arrows);
    }

    /// Prefix keywords continue a run; any other word ends it.
    fn word(&mut self, word: &str) {
        if matches!(
            word,
            "return"
                | "break"
                | "move"
                | "box"
                | "yield"
                | "dyn"
                | "impl"
                | "mut"
                | "const"
                | "async"
                | "static"
                | "ref"
                | "raw"
        ) {
            self.prefix_run += 1;
            self.max = self.max.max(self.prefix_run);
        } else {
            self.prefix_run = 0;
        }
    }
}

fn skip_ident(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < bytes.len() && is_ident_byte(bytes[i]) {
        i += 1;
    }
    i
}

/// From the opening `"` at `start` to just past the closing one.
fn skip_string(source: &str, start: usize, result: &mut Scan) -> usize {
    let bytes = source.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    if result.problem.is_none() {
        result.problem = Some((
            Span::new(start as u32, start as u32 + 1),
            "unterminated string literal".into(),
        ));
    }
    bytes.len()
}

/// `body` is just past the opening `"` of a raw string with `hashes` `#`s.
fn skip_raw_string(
    source: &str,
    start: usize,
    body: usize,
    hashes: usize,
    result: &mut Scan,
) -> usize {
    let closing: String = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    if let Some(found) = source.get(body..).and_then(|rest| rest.find(&closing)) {
        body + found + closing.len()
    } else {
        if result.problem.is_none() {
            result.problem = Some((
                Span::new(start as u32, body as u32),
                "unterminated raw string literal".into(),
            ));
        }
        source.len()
    }
}

/// A `'` starts a char literal (`'a'`, `'\n'`, `'\''`, `'é'`) or a lifetime/label (`'a`).
fn skip_quote(source: &str, start: usize, result: &mut Scan) -> usize {
    let bytes = source.as_bytes();
    let rest = &source[start + 1..];
    let mut chars = rest.chars();
    match chars.next() {
        Some('\\') => {
            // An escape: skip the escaped char, then up to the closing quote on this line.
            let mut i = start + 2;
            if let Some(c) = source[i..].chars().next() {
                i += c.len_utf8();
            }
            while i < bytes.len() && bytes[i] != b'\'' && bytes[i] != b'\n' {
                i += 1;
            }
            if bytes.get(i) == Some(&b'\'') {
                i + 1
            } else {
                if result.problem.is_none() {
                    result.problem = Some((
                        Span::new(start as u32, start as u32 + 1),
                        "unterminated character literal".into(),
                    ));
                }
                i
            }
        }
        Some(c) => {
            if chars.next() == Some('\'') {
                start + 1 + c.len_utf8() + 1
            } else {
                // A lifetime or a label.
                start + 1
            }
        }
        None => start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment_texts(source: &str) -> Vec<&str> {
        scan(source)
            .comments
            .iter()
            .map(|s| &source[s.range()])
            .collect()
    }

    #[test]
    fn finds_line_comments_outside_literals() {
        let source = "let s = \"// no\"; // yes\nlet r = r#\"// \"no\" \"#; /* // no */ let c = '/'; // two\r\n";
        assert_eq!(comment_texts(source), vec!["// yes", "// two"]);
    }

    #[test]
    fn nested_block_comments_and_lifetimes() {
        let source =
            "/* a /* b */ // c */ fn f<'a>(x: &'a str) -> char { '\\'' } // d\nlet b = b'\"'; // e";
        assert_eq!(comment_texts(source), vec!["// d", "// e"]);
    }

    #[test]
    fn non_ascii_char_literals() {
        let source = "let c = 'é'; let s = \"ü\"; // ok";
        assert_eq!(comment_texts(source), vec!["// ok"]);
        assert!(scan(source).problem.is_none());
    }

    #[test]
    fn depth_and_problems() {
        assert_eq!(scan("fn f() { (([x])) }").max_depth, 4);
        assert!(scan("fn f() { ").problem.unwrap().1.contains("unclosed"));
        assert!(scan("fn f() { ) }")
            .problem
            .unwrap()
            .1
            .contains("mismatched"));
        assert!(scan("let s = \"abc")
            .problem
            .unwrap()
            .1
            .contains("unterminated string"));
        assert!(scan("let s = r##\"abc\"#")
            .problem
            .unwrap()
            .1
            .contains("raw string"));
        assert!(scan("/* x").problem.unwrap().1.contains("block comment"));
    }

    #[test]
    fn nesting_that_brackets_do_not_show() {
        let generics = format!("type T = {}u8{};", "Vec<".repeat(300), ">".repeat(300));
        assert!(scan(&generics).max_depth >= 300);
        assert!(scan(&format!("fn f() {{ {}1; }}", "-".repeat(300))).max_depth >= 300);
        assert!(scan(&format!("fn f() {{ {}1; }}", "a = ".repeat(300))).max_depth >= 300);
        assert!(scan(&format!("fn f() {{ {}1; }}", "return ".repeat(300))).max_depth >= 300);
        assert!(scan(&format!("type T = {}u8;", "fn() -> ".repeat(300))).max_depth >= 300);
        // Ordinary code stays shallow.
        let ordinary = "fn f<T: Into<Vec<u8>>>(a: &mut T) -> Result<(), Box<dyn Error>> { let x = !*a && b <= c; if a < b { x = 1; } }";
        assert!(scan(ordinary).max_depth < 8, "{}", scan(ordinary).max_depth);
    }

    #[test]
    fn raw_identifiers_and_byte_raw_strings() {
        let source = "let r#type = br#\"//x\"#; let cr = 1; // real";
        assert_eq!(comment_texts(source), vec!["// real"]);
    }
}
