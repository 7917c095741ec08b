//! Rust findings kept while a buffer does not parse. `syn` has no error recovery, so a Rust
//! file with a syntax error has no findings of its own; while the user types, the findings of
//! the last version that parsed stay, moved to where their code is now.

use std::sync::Arc;

use threadlint_analyzer::engine::FileReport;
use threadlint_analyzer::lines::LineIndex;
use threadlint_rules::model::Span;

use super::position;

/// What the message of a carried-over finding ends with.
pub const CARRIED_OVER: &str = " (from the last version that parsed)";

/// The report of `broken` (a version of the text that does not parse) with the rule findings
/// of `last_good` added: those outside the text changed since then, moved to where that text
/// is now in `text` (the text of `broken`); those in it are dropped, and so are related
/// locations of the same file in it. Their fixes were made for the old text: none is kept.
pub fn carry_over(last_good: &FileReport, broken: FileReport, text: &str) -> FileReport {
    let (start, old_end, replacement) = position::changed_part(&last_good.source, text);
    let (start, old_end) = (start as u32, old_end as u32);
    let new_end = start + replacement.len() as u32;
    let moved = |span: Span| -> Option<Span> {
        if span.end <= start {
            Some(span)
        } else if span.start >= old_end {
            let shift = |offset: u32| offset - old_end + new_end;
            Some(Span::new(shift(span.start), shift(span.end)))
        } else {
            None
        }
    };
    let mut merged = broken;
    for diagnostic in last_good.diagnostics.iter().filter(|d| d.code.is_some()) {
        let Some(span) = moved(diagnostic.span) else {
            continue;
        };
        let mut kept = diagnostic.clone();
        kept.span = span;
        kept.fix = None;
        kept.traces.clear();
        kept.related.retain_mut(|related| {
            related.file.is_some() || moved(related.span).map(|s| related.span = s).is_some()
        });
        kept.message.push_str(CARRIED_OVER);
        merged.diagnostics.push(kept);
    }
    merged.lines = Arc::new(LineIndex::new(text));
    merged
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use threadlint_analyzer::engine::Diagnostic;
    use threadlint_rules::{Applicability, Edit, Fix, Related, Severity};

    use super::*;

    fn report(text: &str, diagnostics: Vec<Diagnostic>) -> FileReport {
        FileReport {
            path: PathBuf::from("lib.rs"),
            source: Arc::from(text),
            lines: Arc::new(LineIndex::new(text)),
            diagnostics,
        }
    }

    /// A finding on the first occurrence of `needle` in `text`.
    fn finding(code: &'static str, text: &str, needle: &str) -> Diagnostic {
        let start = text.find(needle).expect("the needle is in the text") as u32;
        let span = Span::new(start, start + needle.len() as u32);
        Diagnostic {
            code: Some(code),
            name: "a-rule",
            severity: Severity::Warning,
            message: format!("`{needle}` is wrong"),
            help: None,
            span,
            related: Vec::new(),
            traces: Vec::new(),
            fix: Some(Fix {
                message: "fix it".into(),
                applicability: Applicability::Safe,
                edits: vec![Edit {
                    span,
                    content: String::new(),
                }],
            }),
        }
    }

    fn syntax_error(text: &str) -> Diagnostic {
        Diagnostic {
            code: None,
            name: "invalid-syntax",
            severity: Severity::Error,
            message: "expected `)`".into(),
            help: None,
            span: Span::new(0, text.len() as u32),
            related: Vec::new(),
            traces: Vec::new(),
            fix: None,
        }
    }

    /// What `span` covers in `text`.
    fn text_at(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    const GOOD: &str = "fn a() { first(); }\nfn b() { second(); }\nfn c() { third(); }\n";

    #[test]
    fn findings_before_and_after_the_edit_follow_their_code_and_lose_their_fixes() {
        let good = report(
            GOOD,
            vec![
                finding("TL002", GOOD, "first()"),
                finding("TL009", GOOD, "third()"),
            ],
        );
        let text = GOOD.replace("fn b() {", "fn half_typed( {\n// more\nfn b() {");
        let broken = report(&text, vec![syntax_error(&text)]);
        let merged = carry_over(&good, broken, &text);
        let names: Vec<&str> = merged.diagnostics.iter().map(|d| d.name).collect();
        assert_eq!(names, ["invalid-syntax", "a-rule", "a-rule"]);
        assert_eq!(text_at(&text, merged.diagnostics[1].span), "first()");
        assert_eq!(text_at(&text, merged.diagnostics[2].span), "third()");
        assert!(merged.diagnostics[1..]
            .iter()
            .all(|d| d.fix.is_none() && d.message.ends_with(CARRIED_OVER)));
        // Row and column lookups are for the new text.
        let third = merged.diagnostics[2].span.start;
        assert_eq!(merged.lines.line_of(third), 4);
    }

    #[test]
    fn a_finding_inside_the_changed_text_is_dropped() {
        let good = report(GOOD, vec![finding("TL002", GOOD, "second()")]);
        let text = GOOD.replace("second()", "secon(");
        let broken = report(&text, vec![syntax_error(&text)]);
        let merged = carry_over(&good, broken, &text);
        assert_eq!(merged.diagnostics.len(), 1);
        assert_eq!(merged.diagnostics[0].name, "invalid-syntax");
    }

    #[test]
    fn related_locations_move_or_go_with_their_code_other_files_stay() {
        let mut cycle = finding("TL004", GOOD, "third()");
        let related = |file: Option<&str>, needle: &str| {
            let start = GOOD.find(needle).expect("in the text") as u32;
            Related {
                file: file.map(str::to_string),
                span: Span::new(start, start + needle.len() as u32),
                message: format!("{needle} here"),
            }
        };
        cycle.related = vec![
            related(None, "first()"),
            related(None, "second()"),
            related(Some("other.rs"), "second()"),
        ];
        let good = report(GOOD, vec![cycle]);
        let text = GOOD.replace("second()", "second(,)");
        let broken = report(&text, Vec::new());
        let merged = carry_over(&good, broken, &text);
        let kept = &merged.diagnostics[0];
        let messages: Vec<&str> = kept.related.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(messages, ["first() here", "second() here"]);
        assert_eq!(kept.related[1].file.as_deref(), Some("other.rs"));
        assert_eq!(kept.related[1].span, related(None, "second()").span);
        assert_eq!(text_at(&text, kept.span), "third()");
    }

    #[test]
    fn problems_of_the_good_version_are_not_carried_over() {
        let mut problem = syntax_error(GOOD);
        problem.name = "unknown-noqa-code";
        let good = report(GOOD, vec![problem]);
        let text = "fn (".to_string();
        let broken = report(&text, vec![syntax_error(&text)]);
        let merged = carry_over(&good, broken, &text);
        assert_eq!(merged.diagnostics.len(), 1);
        assert_eq!(merged.diagnostics[0].name, "invalid-syntax");
    }
}
