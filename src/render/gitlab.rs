//! GitLab Code Quality report: a JSON array of issues with `description`, `check_name`,
//! `fingerprint`, `severity` and `location` (`path` relative to the project, `lines.begin`).
//! Fingerprints are stable when unrelated lines move, and unique within the report.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use threadlint_analyzer::fingerprint::{self, Disambiguator};
use threadlint_analyzer::Report;
use threadlint_rules::Severity;

use super::{items, relative_to};

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

pub fn write(report: &Report, root: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let mut disambiguator = Disambiguator::default();
    let issues: Vec<Issue> = items(report)
        .into_iter()
        .map(|item| {
            let diagnostic = item.diagnostic;
            let path = relative_to(&item.file.path, root);
            let code = diagnostic.code.unwrap_or(diagnostic.name);
            let hash = fingerprint::base(&path, item.file, diagnostic);
            Issue {
                kind: "issue",
                description: format!("{code}: {}", diagnostic.message),
                check_name: code.to_string(),
                fingerprint: disambiguator.next(hash),
                severity: match diagnostic.severity {
                    Severity::Error => "critical",
                    Severity::Warning => "major",
                },
                categories: ["Bug Risk"],
                location: Location {
                    path,
                    lines: Lines {
                        begin: item.start.row,
                        end: item.end.row,
                    },
                },
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(std::io::Error::other)?;
    writeln!(out)
}
