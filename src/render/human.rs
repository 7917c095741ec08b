//! Output for people: `full` (source excerpts through codespan-reporting), `concise` (one line
//! each) and `grouped` (by file).

use std::io::Write;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label, Severity as RenderedSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use threadlint_analyzer::engine::FileReport;
use threadlint_analyzer::{Diagnostic, Report};
use threadlint_rules::{Applicability, Severity};

/// `[*]` marks a diagnostic whose fix `--fix` applies.
pub fn fix_marker(diagnostic: &Diagnostic, unsafe_fixes: bool) -> &'static str {
    match &diagnostic.fix {
        Some(fix) if fix.applicability.is_applied(unsafe_fixes) => " [*]",
        _ => "",
    }
}

pub fn label(diagnostic: &Diagnostic) -> String {
    match diagnostic.code {
        Some(code) => code.to_string(),
        None => diagnostic.name.to_string(),
    }
}

pub fn concise(report: &Report, unsafe_fixes: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for (file, diagnostic) in report.diagnostics() {
        let start = file.lines.location(&file.source, diagnostic.span.start);
        writeln!(
            out,
            "{}:{}:{}: {}{} {}",
            file.display_path(),
            start.row,
            start.column,
            label(diagnostic),
            fix_marker(diagnostic, unsafe_fixes),
            diagnostic.message
        )?;
    }
    Ok(())
}

pub fn full(report: &Report, unsafe_fixes: bool, out: &mut dyn WriteColor) -> std::io::Result<()> {
    let config = term::Config::default();
    for file in &report.files {
        if file.diagnostics.is_empty() {
            continue;
        }
        let mut files = SimpleFiles::new();
        let this = files.add(file.display_path(), file.source.to_string());
        let mut others = std::collections::HashMap::new();
        for diagnostic in &file.diagnostics {
            let mut labels = vec![Label::primary(this, clamp(file, diagnostic.span.range()))
                .with_message(primary_label(diagnostic))];
            for related in &diagnostic.related {
                let id = match &related.file {
                    None => this,
                    Some(path) => *others.entry(path.clone()).or_insert_with(|| {
                        let text = std::fs::read_to_string(path).unwrap_or_default();
                        files.add(path.clone(), text)
                    }),
                };
                let text_len = files.get(id).map_or(0, |f| f.source().len());
                let range = related.span.range();
                let range = range.start.min(text_len)..range.end.min(text_len);
                labels.push(Label::secondary(id, range).with_message(related.message.clone()));
            }
            let mut notes = Vec::new();
            if let Some(help) = &diagnostic.help {
                notes.push(format!("help: {help}"));
            }
            if let Some(fix) = &diagnostic.fix {
                let how = match fix.applicability {
                    Applicability::Safe => "fixable with `--fix`",
                    Applicability::Unsafe if unsafe_fixes => "fixable with `--fix`",
                    Applicability::Unsafe => "fixable with `--fix --unsafe-fixes`",
                    Applicability::DisplayOnly => "suggested, not applied automatically",
                };
                notes.push(format!("fix: {} ({how})", fix.message));
            }
            if let Some(code) = diagnostic.code {
                if let Some(rule) = threadlint_rules::registry::find(code) {
                    notes.push(format!("see: `threadlint rule {code}` or {}", rule.url()));
                }
            }
            let severity = match diagnostic.severity {
                Severity::Error => RenderedSeverity::Error,
                Severity::Warning => RenderedSeverity::Warning,
            };
            let rendered = Rendered::new(severity)
                .with_code(label(diagnostic))
                .with_message(diagnostic.message.clone())
                .with_labels(labels)
                .with_notes(notes);
            term::emit_to_write_style(out, &config, &files, &rendered)
                .map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}

fn clamp(file: &FileReport, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let len = file.source.len();
    range.start.min(len)..range.end.min(len)
}

fn primary_label(diagnostic: &Diagnostic) -> String {
    match diagnostic.code {
        Some(_) => diagnostic.name.replace('-', " "),
        None => String::new(),
    }
}

pub fn grouped(report: &Report, unsafe_fixes: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for file in &report.files {
        if file.diagnostics.is_empty() {
            continue;
        }
        writeln!(out, "{}:", file.display_path())?;
        let locations: Vec<_> = file
            .diagnostics
            .iter()
            .map(|d| file.lines.location(&file.source, d.span.start))
            .collect();
        let width = locations
            .iter()
            .map(|l| format!("{}:{}", l.row, l.column).len())
            .max()
            .unwrap_or(0);
        for (diagnostic, location) in file.diagnostics.iter().zip(locations) {
            let position = format!("{}:{}", location.row, location.column);
            writeln!(
                out,
                "  {position:<width$} {}{} {}",
                label(diagnostic),
                fix_marker(diagnostic, unsafe_fixes),
                diagnostic.message
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
