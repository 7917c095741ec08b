//! SARIF 2.1.0 through `serde-sarif`'s types: one run; the driver lists every rule; results
//! carry a region (columns in Unicode code points), related locations linked from the message,
//! code flows (a lock-order cycle: one thread flow per side, with the calls made holding the
//! first lock), a `primaryLocationLineHash` and fixes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, CodeFlow, Fix, Location, Message,
    MultiformatMessageString, PhysicalLocation, Region, Replacement, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, ThreadFlow,
    ThreadFlowLocation, Tool, ToolComponent,
};
use threadlint_analyzer::fingerprint::{self, Disambiguator};
use threadlint_analyzer::lines::Location as Position;
use threadlint_analyzer::Report;
use threadlint_rules::{Severity, RULES};

use super::{file_uri, inside, items, percent_encode_path};

const SRCROOT: &str = "%SRCROOT%";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
    }
}

fn region(start: Position, end: Position) -> Region {
    Region::builder()
        .start_line(start.row as i64)
        .start_column(start.column as i64)
        .end_line(end.row as i64)
        .end_column(end.column as i64)
        .build()
}

/// Relative to `%SRCROOT%` inside the repository; an absolute `file://` URI outside it.
fn artifact(path: &Path, root: &Path) -> ArtifactLocation {
    match inside(path, root) {
        Some(relative) => ArtifactLocation::builder()
            .uri(percent_encode_path(&relative))
            .uri_base_id(SRCROOT)
            .build(),
        None => ArtifactLocation::builder().uri(file_uri(path)).build(),
    }
}

fn plain(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

/// The first paragraph of the rule's "What it does" section.
fn full_description(doc: &str) -> String {
    doc.split("## What it does")
        .nth(1)
        .unwrap_or(doc)
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn rules() -> Vec<ReportingDescriptor> {
    RULES
        .iter()
        .map(|rule| {
            let doc = rule.documentation();
            ReportingDescriptor::builder()
                .id(rule.code)
                .name(rule.name)
                .short_description(
                    MultiformatMessageString::builder()
                        .text(rule.summary)
                        .build(),
                )
                .full_description(
                    MultiformatMessageString::builder()
                        .text(full_description(&doc))
                        .build(),
                )
                .help(
                    MultiformatMessageString::builder()
                        .text(format!("{} See {}", rule.summary, rule.url()))
                        .markdown(doc)
                        .build(),
                )
                .help_uri(rule.url())
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::Value::String(level(rule.severity).to_string()))
                        .build(),
                )
                .build()
        })
        .collect()
}

/// The threads that lead to a finding, as one code flow: a thread flow each, its locations in
/// the order they are reached, a call's callee one nesting level deeper.
fn code_flow(traces: &[super::TraceItem], root: &Path) -> CodeFlow {
    let threads = traces
        .iter()
        .map(|trace| {
            let locations = trace
                .steps
                .iter()
                .map(|(step, kind, depth)| {
                    let location = Location::builder()
                        .message(plain(step.message.clone()))
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(artifact(&step.path, root))
                                .region(region(step.start, step.end))
                                .build(),
                        )
                        .build();
                    ThreadFlowLocation::builder()
                        .location(location)
                        .kinds(vec![kind.as_str().to_string()])
                        .nesting_level(i64::from(*depth))
                        .build()
                })
                .collect::<Vec<_>>();
            ThreadFlow::builder()
                .message(plain(trace.message.clone()))
                .locations(locations)
                .build()
        })
        .collect::<Vec<_>>();
    let message = match traces {
        [one] => one.message.clone(),
        _ => format!(
            "{} threads, each taking the locks in its own order",
            traces.len()
        ),
    };
    CodeFlow::builder()
        .message(plain(message))
        .thread_flows(threads)
        .build()
}

pub fn write(report: &Report, root: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let mut disambiguator = Disambiguator::default();
    let mut results = Vec::new();
    for item in items(report) {
        let diagnostic = item.diagnostic;
        let location = Location::builder()
            .physical_location(
                PhysicalLocation::builder()
                    .artifact_location(artifact(&item.file.path, root))
                    .region(region(item.start, item.end))
                    .build(),
            )
            .build();
        let mut text = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            text.push_str(&format!(". Help: {help}"));
        }
        let related: Vec<Location> = item
            .related
            .iter()
            .enumerate()
            .map(|(index, related)| {
                Location::builder()
                    .id(index as i64 + 1)
                    .message(plain(related.message.clone()))
                    .physical_location(
                        PhysicalLocation::builder()
                            .artifact_location(artifact(&related.path, root))
                            .region(region(related.start, related.end))
                            .build(),
                    )
                    .build()
            })
            .collect();
        if !related.is_empty() {
            let links: Vec<String> = item
                .related
                .iter()
                .enumerate()
                .map(|(index, related)| {
                    format!(
                        "[{}]({})",
                        related.message.replace(['[', ']'], ""),
                        index + 1
                    )
                })
                .collect();
            text.push_str(&format!(". Related: {}", links.join("; ")));
        }
        let hash = fingerprint::base("", item.file, diagnostic);
        let mut fingerprints = BTreeMap::new();
        fingerprints.insert(
            "primaryLocationLineHash".to_string(),
            disambiguator.next(hash),
        );
        let fixes = diagnostic.fix.as_ref().map(|fix| {
            let replacements = fix
                .edits
                .iter()
                .map(|edit| {
                    let (start, end) = item.file.lines.span_locations(&item.file.source, edit.span);
                    Replacement::builder()
                        .deleted_region(region(start, end))
                        .inserted_content(
                            ArtifactContent::builder()
                                .text(edit.content.clone())
                                .build(),
                        )
                        .build()
                })
                .collect::<Vec<_>>();
            vec![Fix::builder()
                .description(plain(format!(
                    "{} ({})",
                    fix.message,
                    fix.applicability.as_str()
                )))
                .artifact_changes(vec![ArtifactChange::builder()
                    .artifact_location(artifact(&item.file.path, root))
                    .replacements(replacements)
                    .build()])
                .build()]
        });
        let code = diagnostic.code.unwrap_or(diagnostic.name);
        let mut result = SarifResult::builder()
            .rule_id(code)
            .level(level(diagnostic.severity))
            .message(plain(text))
            .locations(vec![location])
            .partial_fingerprints(fingerprints)
            .build();
        if !related.is_empty() {
            result.related_locations = Some(related);
        }
        if !item.traces.is_empty() {
            result.code_flows = Some(vec![code_flow(&item.traces, root)]);
        }
        if let Some(index) = RULES.iter().position(|r| Some(r.code) == diagnostic.code) {
            result.rule_index = Some(index as i64);
        }
        result.fixes = fixes;
        results.push(result);
    }
    let mut root_uri = file_uri(root);
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    let mut base_ids = BTreeMap::new();
    base_ids.insert(
        SRCROOT.to_string(),
        ArtifactLocation::builder().uri(root_uri).build(),
    );
    let driver = ToolComponent::builder()
        .name("threadlint")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri(threadlint_rules::HOMEPAGE)
        .rules(rules())
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(serde_json::Value::String("unicodeCodePoints".into()))
        .original_uri_base_ids(base_ids)
        .build();
    let sarif = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(serde_json::Value::String("2.1.0".into()))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif).map_err(std::io::Error::other)?;
    writeln!(out)
}
