//! Source-text helpers for building fixes: lines, indentation, and the checks that keep an edit
//! from changing more than the statement it rewrites; and how messages quote code ([`short`]).

use crate::model::Span;

/// Byte offset of the start of the line holding `offset`.
pub fn line_start(source: &str, offset: u32) -> u32 {
    let offset = (offset as usize).min(source.len());
    source[..offset].rfind('\n').map_or(0, |i| i + 1) as u32
}

/// Byte offset just past the end of the line holding `offset` (after its `\n`, if any).
pub fn line_end_inclusive(source: &str, offset: u32) -> u32 {
    let offset = (offset as usize).min(source.len());
    source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i + 1) as u32
}

/// The leading whitespace of the line holding `offset`.
pub fn indentation(source: &str, offset: u32) -> &str {
    let start = line_start(source, offset) as usize;
    let line = &source[start..];
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..width]
}

/// The statement stands alone on its lines: only indentation before it, and only whitespace
/// (or, with `allow_comment`, a comment) after it.
pub fn stands_alone(source: &str, statement: Span, allow_comment: bool) -> bool {
    let start = line_start(source, statement.start) as usize;
    let before = source.get(start..statement.start as usize).unwrap_or("x");
    let end = line_end_inclusive(source, statement.end) as usize;
    let after = source
        .get(statement.end as usize..end)
        .unwrap_or("x")
        .trim();
    before.trim().is_empty() && (after.is_empty() || (allow_comment && after.starts_with('#')))
}

/// One level of indentation as the file writes it: a tab if the given indentation uses tabs,
/// else the smallest indentation of any line (4 spaces when the file has none).
pub fn indent_unit(source: &str, near: &str) -> String {
    if near.contains('\t') {
        return "\t".into();
    }
    let smallest = source
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .filter(|&width| width > 0)
        .min()
        .unwrap_or(4);
    " ".repeat(smallest)
}

/// Edits that indent every non-blank line starting in `start..end` (line starts) by `unit`.
pub fn indent_lines(source: &str, start: u32, end: u32, unit: &str) -> Vec<crate::Edit> {
    let mut edits = Vec::new();
    let mut offset = start as usize;
    while offset < end as usize && offset < source.len() {
        let line_end = line_end_inclusive(source, offset as u32) as usize;
        if !source[offset..line_end].trim().is_empty() {
            edits.push(crate::Edit {
                span: Span::new(offset as u32, offset as u32),
                content: unit.to_string(),
            });
        }
        offset = line_end;
    }
    edits
}

/// Re-indenting text that may hold a multi-line string literal would change the string.
pub fn may_hold_multiline_string(text: &str) -> bool {
    text.contains("\"\"\"") || text.contains("'''") || text.contains("\\\n")
}

pub fn text(source: &str, span: Span) -> &str {
    source.get(span.range()).unwrap_or("")
}

/// Nothing but blank lines and comments between two offsets: the statements they end and
/// start are adjacent.
pub fn only_trivia_between(source: &str, from: u32, to: u32) -> bool {
    let Some(between) = source.get(from as usize..to as usize) else {
        return false;
    };
    between.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line.starts_with("//")
    })
}

/// How wide a quoted name may be in a message (an object, a variable): [`short`].
pub const NAME_WIDTH: usize = 40;

/// How wide a quoted snippet may be in a message (a call, a test): [`short`].
pub const SNIPPET_WIDTH: usize = 60;

/// Code as a one-line message quotes it: its first line, trimmed, cut to `width` characters
/// (the last three `...`) when it is longer or spans lines.
pub fn short(code: &str, width: usize) -> String {
    let line = code.lines().next().unwrap_or("").trim();
    if line.chars().count() > width || code.trim().contains('\n') {
        let cut: String = line.chars().take(width.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

/// The code in `span` between backquotes; when it spans lines or is longer than
/// [`SNIPPET_WIDTH`], its callee with `(...)`, or "This call" when even that does not fit on a
/// line (a message starts with it).
pub fn quoted_call(source: &str, span: Span) -> String {
    let code = text(source, span);
    if code.is_empty() {
        return "This call".to_string();
    }
    if !code.contains('\n') && code.len() <= SNIPPET_WIDTH {
        return format!("`{code}`");
    }
    // A long call by its callee, when that fits on a line: `self._cond.wait_for(...)`. The
    // callee is what comes before the parenthesis that the last one closes (in
    // `spawn(..).join()`, `spawn(..).join`).
    let code = code.trim_end();
    let mut depth = 0usize;
    let mut open = None;
    for (at, c) in code.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    open = Some(at);
                    break;
                }
            }
            _ => {}
        }
    }
    match open {
        Some(open)
            if open > 0
                && code.ends_with(')')
                && !code[..open].contains('\n')
                && open + 5 <= SNIPPET_WIDTH =>
        {
            format!("`{}(...)`", code[..open].trim_end())
        }
        _ => "This call".to_string(),
    }
}

/// Code over several lines as one line (runs of whitespace become one space), cut to `width`
/// characters (the last three `...`) when longer.
pub fn one_line(code: &str, width: usize) -> String {
    let line = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > width {
        let cut: String = line.chars().take(width.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        line
    }
}

/// A name written over several lines, joined without its line comments
/// (`pair // the pair\n    .1` -> `pair.1`).
pub fn joined(name: &str) -> String {
    name.lines()
        .map(|line| line.split("//").next().unwrap_or("").trim())
        .collect()
}

#[cfg(test)]
mod quoting_tests {
    use super::*;

    #[test]
    fn short_keeps_a_short_line_and_cuts_a_long_or_multiline_one() {
        assert_eq!(short("  self._lock  ", NAME_WIDTH), "self._lock");
        assert_eq!(short("abcdef", 5), "ab...");
        assert_eq!(short("call(\n    x)", NAME_WIDTH), "call(...");
        assert_eq!(short("", NAME_WIDTH), "");
    }

    #[test]
    fn a_long_call_is_quoted_by_its_callee() {
        let quote = |code: &str| quoted_call(code, Span::new(0, code.len() as u32));
        assert_eq!(quote("lock.acquire()"), "`lock.acquire()`");
        assert_eq!(
            quote("self._cond.wait_for(\n    lambda: not self.busy, timeout=t\n)"),
            "`self._cond.wait_for(...)`"
        );
        // The callee of the outer call spans lines: nothing short names it.
        assert_eq!(
            quote("thread::spawn(move || {\n    work();\n}).join()"),
            "This call"
        );
        assert_eq!(quote(""), "This call");
    }

    #[test]
    fn joined_drops_line_breaks_and_comments() {
        assert_eq!(joined("pair // the pair\n    .1"), "pair.1");
        assert_eq!(joined("rx.recv"), "rx.recv");
    }
}
