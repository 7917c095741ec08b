//! `json` (an array) and `json-lines`, with ruff's field names so tools that read ruff's
//! output read this.

use std::io::Write;

use serde::Serialize;
use threadlint_analyzer::engine::display_path;
use threadlint_analyzer::lines::Location;
use threadlint_analyzer::Report;

use super::{items, Item};

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

/// One thread's way to a finding (a lock-order cycle has one per side).
#[derive(Serialize)]
struct JsonTrace {
    message: String,
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonStep {
    filename: String,
    location: JsonLocation,
    end_location: JsonLocation,
    message: String,
    /// `acquire` or `call`.
    kind: &'static str,
    /// Calls deep from where the trace starts.
    depth: u32,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    traces: Vec<JsonTrace>,
    url: Option<String>,
    noqa_row: usize,
}

fn convert(item: &Item) -> JsonDiagnostic {
    let (file, diagnostic) = (item.file, item.diagnostic);
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
    JsonDiagnostic {
        code: diagnostic.code,
        name: diagnostic.name,
        severity: diagnostic.severity.as_str(),
        message: diagnostic.message.clone(),
        filename: file.display_path(),
        location: item.start.into(),
        end_location: item.end.into(),
        fix,
        related: item
            .related
            .iter()
            .map(|related| JsonRelated {
                filename: display_path(&related.path),
                location: related.start.into(),
                end_location: related.end.into(),
                message: related.message.clone(),
            })
            .collect(),
        traces: item
            .traces
            .iter()
            .map(|trace| JsonTrace {
                message: trace.message.clone(),
                steps: trace
                    .steps
                    .iter()
                    .map(|(step, kind, depth)| JsonStep {
                        filename: display_path(&step.path),
                        location: step.start.into(),
                        end_location: step.end.into(),
                        message: step.message.clone(),
                        kind: kind.as_str(),
                        depth: *depth,
                    })
                    .collect(),
            })
            .collect(),
        url: diagnostic
            .code
            .and_then(threadlint_rules::registry::find)
            .map(threadlint_rules::Rule::url),
        noqa_row: item.start.row,
    }
}

pub fn array(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let values: Vec<JsonDiagnostic> = items(report).iter().map(convert).collect();
    serde_json::to_writer_pretty(&mut *out, &values).map_err(std::io::Error::other)?;
    writeln!(out)
}

pub fn lines(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for item in items(report) {
        serde_json::to_writer(&mut *out, &convert(&item)).map_err(std::io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}
