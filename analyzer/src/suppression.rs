//! `# noqa` comments: which findings a line suppresses, and codes that name no rule.
//!
//! `# noqa: TL002, TL005` suppresses those codes on its line; a bare `# noqa` suppresses every
//! code; `# threadlint: noqa` on a line of its own (outside any block) skips the whole file.
//! Rust sources use the same words in `//` comments.

use threadlint_rules::model::Span;

use crate::lines::LineIndex;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Codes {
    All,
    Some(Vec<String>),
}

/// One `noqa` comment.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Noqa {
    /// 0-based line.
    pub line: usize,
    pub codes: Codes,
    /// The whole comment.
    pub span: Span,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Suppressions {
    /// Sorted by line, so that a finding's line is found by binary search.
    pub lines: Vec<Noqa>,
    pub file_exempt: bool,
}

impl Suppressions {
    /// Reads the suppressions from the comments of a file. `comments` are the comment spans
    /// (including the `#` or `//`).
    pub fn from_comments(source: &str, index: &LineIndex, comments: &[Span]) -> Self {
        let mut result = Suppressions::default();
        for &comment in comments {
            let Some(text) = source.get(comment.range()) else {
                continue;
            };
            let body = text.trim_start_matches(['#', '/']).trim();
            let line = index.line_of(comment.start);
            let own_line = index.line_text(source, line).trim_start().starts_with(text);
            if let Some(rest) = strip_prefix_ci(body, "threadlint:") {
                if own_line
                    && strip_prefix_ci(rest.trim(), "noqa").is_some_and(|r| r.trim().is_empty())
                {
                    let indent = index.line_text(source, line).len()
                        - index.line_text(source, line).trim_start().len();
                    if indent == 0 {
                        result.file_exempt = true;
                    }
                }
                continue;
            }
            if let Some(codes) = parse_noqa(body) {
                result.lines.push(Noqa {
                    line,
                    codes,
                    span: comment,
                });
            }
        }
        result.lines.sort_by_key(|noqa| noqa.line);
        result
    }

    /// Whether a finding of `code` that starts on 0-based `line` is suppressed.
    pub fn suppresses(&self, line: usize, code: Option<&str>) -> bool {
        let first = self.lines.partition_point(|noqa| noqa.line < line);
        self.lines[first..]
            .iter()
            .take_while(|noqa| noqa.line == line)
            .any(|noqa| match &noqa.codes {
                Codes::All => true,
                Codes::Some(codes) => code.is_some_and(|c| codes.iter().any(|x| x == c)),
            })
    }
}

fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `noqa`, `noqa: A, B`, `noqa:A B`; also finds `noqa` after other text in the comment
/// (`# type: ignore  # noqa: TL001` arrives as one comment token).
fn parse_noqa(body: &str) -> Option<Codes> {
    let lower = body.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("noqa") {
        let at = search + found;
        let before_ok =
            at == 0 || body[..at].trim_end().ends_with('#') || body[..at].trim().is_empty();
        let rest = &body[at + 4..];
        if before_ok {
            let rest_trim = rest.trim_start();
            if let Some(list) = rest_trim.strip_prefix(':') {
                let codes: Vec<String> = list
                    .split([',', ' ', '\t'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .take_while(|c| looks_like_code(c))
                    .map(str::to_ascii_uppercase)
                    .collect();
                return Some(if codes.is_empty() {
                    Codes::All
                } else {
                    Codes::Some(codes)
                });
            }
            if rest.is_empty() || rest.starts_with([' ', '\t', '#']) {
                return Some(Codes::All);
            }
        }
        search = at + 4;
    }
    None
}

/// A token that can be a rule code: letters then digits (`TL002`, `E501`, `PLW2101`).
fn looks_like_code(text: &str) -> bool {
    let letters = text.chars().take_while(char::is_ascii_alphabetic).count();
    letters > 0 && letters < text.len() && text[letters..].chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_bare_noqa() {
        assert_eq!(parse_noqa("noqa"), Some(Codes::All));
        assert_eq!(
            parse_noqa("noqa: TL002"),
            Some(Codes::Some(vec!["TL002".into()]))
        );
        assert_eq!(
            parse_noqa("NOQA:TL001,tl005"),
            Some(Codes::Some(vec!["TL001".into(), "TL005".into()]))
        );
        assert_eq!(
            parse_noqa("type: ignore # noqa: TL003"),
            Some(Codes::Some(vec!["TL003".into()]))
        );
        assert_eq!(
            parse_noqa("noqa: TL002 because it is fine"),
            Some(Codes::Some(vec!["TL002".into()]))
        );
        assert_eq!(parse_noqa("this is not a noqalike word"), None);
    }

    #[test]
    fn file_level_exemption_needs_its_own_top_level_line() {
        let source = "# threadlint: noqa\nx = 1\n";
        let index = LineIndex::new(source);
        let s = Suppressions::from_comments(source, &index, &[Span::new(0, 18)]);
        assert!(s.file_exempt);
        let source = "x = 1  # threadlint: noqa\n";
        let index = LineIndex::new(source);
        let s = Suppressions::from_comments(source, &index, &[Span::new(7, 25)]);
        assert!(!s.file_exempt);
    }
}
