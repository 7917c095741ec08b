//! Rendering a report: `full` (source excerpts through codespan-reporting), `concise` (one line
//! each) and `json` (ruff-compatible field names).

use std::io::Write;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label, Severity as RenderedSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use serde::Serialize;
use threadlint_analyzer::engine::{display_path, FileReport};
use threadlint_analyzer::lines::Location;
use threadlint_analyzer::{Diagnostic, Report};
use threadlint_rules::{Applicability, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Each diagnostic with the source it points at, its labels and a help line.
    Full,
    /// One line per diagnostic: `path:row:col: CODE [*] message`.
    Concise,
    /// A JSON array, with ruff's field names.
    Json,
}

/// `[*]` marks a diagnostic whose fix `--fix` applies.
fn fix_marker(diagnostic: &Diagnostic, unsafe_fixes: bool) -> &'static str {
    match &diagnostic.fix {
        Some(fix) if fix.applicability.is_applied(unsafe_fixes) => " [*]",
        _ => "",
    }
}

fn label(diagnostic: &Diagnostic) -> String {
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
                let text_len = files.get(id).map(|f| f.source().len()).unwrap_or(0);
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

#[derive(Serialize)]
struct JsonLocation {
    row: usize,
    column: usize,
}

impl From<Location> for JsonLocation {
    fn from(location: Location) -> Self {
        JsonLocation {
            row: location.row,
            column: location.column,
        }
    }
}

#[derive(Serialize)]
struct JsonEdit {
    content: String,
    location: JsonLocation,
    end_location: JsonLocation,
}

#[derive(Serialize)]
struct JsonFix {
    applicability: &'static str,
    message: String,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonRelated {
    filename: String,
    location: JsonLocation,
    end_location: JsonLocation,
    message: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: Option<&'static str>,
    name: &'static str,
    severity: &'static str,
    message: String,
    filename: String,
    location: JsonLocation,
    end_location: JsonLocation,
    fix: Option<JsonFix>,
    related: Vec<JsonRelated>,
    url: Option<String>,
    noqa_row: usize,
}

pub fn json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut items = Vec::new();
    let mut other_files = std::collections::HashMap::new();
    for (file, diagnostic) in report.diagnostics() {
        let (start, end) = file.lines.span_locations(&file.source, diagnostic.span);
        let fix = diagnostic.fix.as_ref().map(|fix| JsonFix {
            applicability: fix.applicability.as_str(),
            message: fix.message.clone(),
            edits: fix
                .edits
                .iter()
                .map(|edit| {
                    let (location, end_location) = file.lines.span_locations(&file.source, edit.span);
                    JsonEdit {
                        content: edit.content.clone(),
                        location: location.into(),
                        end_location: end_location.into(),
                    }
                })
                .collect(),
        });
        let related = diagnostic
            .related
            .iter()
            .map(|related| {
                let (filename, (location, end_location)) = match &related.file {
                    None => (file.display_path(), file.lines.span_locations(&file.source, related.span)),
                    Some(path) => {
                        let (source, lines) = other_files.entry(path.clone()).or_insert_with(|| {
                            let source = std::fs::read_to_string(path).unwrap_or_default();
                            let lines = threadlint_analyzer::lines::LineIndex::new(&source);
                            (source, lines)
                        });
                        (display_path(std::path::Path::new(path)), lines.span_locations(source, related.span))
                    }
                };
                JsonRelated {
                    filename,
                    location: location.into(),
                    end_location: end_location.into(),
                    message: related.message.clone(),
                }
            })
            .collect();
        items.push(JsonDiagnostic {
            code: diagnostic.code,
            name: diagnostic.name,
            severity: diagnostic.severity.as_str(),
            message: diagnostic.message.clone(),
            filename: file.display_path(),
            location: start.into(),
            end_location: end.into(),
            fix,
            related,
            url: diagnostic
                .code
                .and_then(threadlint_rules::registry::find)
                .map(|rule| rule.url()),
            noqa_row: start.row,
        });
    }
    serde_json::to_writer_pretty(&mut *out, &items).map_err(std::io::Error::other)?;
    writeln!(out)
}
