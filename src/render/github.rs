//! GitHub Actions workflow commands: `::error file=..,line=..::message`.
//!
//! GitHub's rules: paths relative to the workspace; `col`/`endColumn` only when the annotation
//! is on one line; `%`, CR and LF escaped in the message, and also `:` and `,` in properties.
//! A step shows at most 10 annotations of each level, so a closing `::notice` says how many
//! more there are.

use std::io::Write;
use std::path::Path;

use threadlint_analyzer::Report;
use threadlint_rules::Severity;

use super::{items, relative_to};

/// GitHub shows this many annotations of each level per step.
const SHOWN_PER_LEVEL: usize = 10;

pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn write(report: &Report, root: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let (mut errors, mut warnings) = (0usize, 0usize);
    for item in items(report) {
        let diagnostic = item.diagnostic;
        let level = match diagnostic.severity {
            Severity::Error => {
                errors += 1;
                "error"
            }
            Severity::Warning => {
                warnings += 1;
                "warning"
            }
        };
        let path = relative_to(&item.file.path, root);
        let mut properties = format!("file={},line={}", escape_property(&path), item.start.row);
        if item.start.row == item.end.row {
            properties.push_str(&format!(",col={}", item.start.column));
        }
        properties.push_str(&format!(",endLine={}", item.end.row));
        if item.start.row == item.end.row {
            properties.push_str(&format!(",endColumn={}", item.end.column));
        }
        let code = diagnostic.code.unwrap_or(diagnostic.name);
        properties.push_str(&format!(
            ",title={}",
            escape_property(&format!("threadlint ({code})"))
        ));
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        writeln!(out, "::{level} {properties}::{}", escape_data(&message))?;
    }
    let hidden = errors.saturating_sub(SHOWN_PER_LEVEL) + warnings.saturating_sub(SHOWN_PER_LEVEL);
    if hidden > 0 {
        writeln!(
            out,
            "::notice title=threadlint::{}",
            escape_data(&format!(
                "{hidden} more finding{} than GitHub shows as annotations ({errors} errors, {warnings} warnings in all): see this step's log, or upload `--output-format sarif` to code scanning",
                if hidden == 1 { "" } else { "s" }
            ))
        )?;
    }
    Ok(())
}
