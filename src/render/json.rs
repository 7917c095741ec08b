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
