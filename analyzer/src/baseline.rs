//! Baselines for adopting threadlint on existing code: record today's findings, then report
//! only new ones. Findings are matched by fingerprint (code, path, message and the flagged
//! line's normalised text), not by line number, so unrelated edits that move lines keep old
//! findings hidden; identical findings are counted, so a second copy of a baselined finding
//! is new.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Report;
use crate::fingerprint;

#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    code: String,
    path: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    version: u32,
    findings: Vec<Entry>,
}

fn key(
    report_path: &str,
    file: &crate::diagnostic::FileReport,
    diagnostic: &crate::diagnostic::Diagnostic,
) -> String {
    format!("{:016x}", fingerprint::base(report_path, file, diagnostic))
}

/// Writes every finding of `report` to `path`.
pub fn write(report: &Report, path: &Path) -> Result<usize, String> {
    let findings: Vec<Entry> = report
        .diagnostics()
        .map(|(file, diagnostic)| {
            let shown = file.display_path();
            Entry {
                fingerprint: key(&shown, file, diagnostic),
                code: diagnostic.code.unwrap_or(diagnostic.name).to_string(),
                message: diagnostic.message.clone(),
                path: shown,
            }
        })
        .collect();
    let count = findings.len();
    let text = serde_json::to_string_pretty(&BaselineFile {
        version: 1,
        findings,
    })
    .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))?;
    Ok(count)
}

/// Removes from `report` the findings recorded in the baseline at `path`; returns how many
/// were hidden.
pub fn apply(report: &mut Report, path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    let baseline: BaselineFile = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a threadlint baseline: {e}", path.display()))?;
    let mut remaining: HashMap<String, usize> = HashMap::new();
    for entry in baseline.findings {
        *remaining.entry(entry.fingerprint).or_default() += 1;
    }
    let mut hidden = 0;
    for file in &mut report.files {
        let shown = file.display_path();
        let snapshot = file.clone();
        file.diagnostics.retain(|diagnostic| {
            let fingerprint = key(&shown, &snapshot, diagnostic);
            match remaining.get_mut(&fingerprint) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    hidden += 1;
                    false
                }
                _ => true,
            }
        });
    }
    Ok(hidden)
}
