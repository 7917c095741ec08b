//! The language server's view of the pipeline: per-file summaries of a workspace
//! ([`index_file`], [`link_summaries`]) and one in-memory document checked against them
//! ([`check_document`]).

use std::path::{Path, PathBuf};

use threadlint_rules::lock_order::{self, LockSummary};

use threadlint_rules::project::ProjectIndex;
use threadlint_rules::Context;

use crate::engine::*;

/// The lock-order summary of a file on disk, for a workspace index (the language server keeps
/// one for files that are not open).
pub fn index_file(path: &Path, settings: &dyn SettingsSource) -> Option<LockSummary> {
    summarize_file(path, settings, None)
}

fn summarize_file(
    path: &Path,
    settings: &dyn SettingsSource,
    index: Option<&ProjectIndex>,
) -> Option<LockSummary> {
    let file_settings = settings.settings_for(path);
    let source = read_source(path).ok()?;
    let language = language_of(path)?;
    run_isolated(|| {
        let parsed = parse_linked(language, &source, Some(path), index);
        parsed.model.as_ref().map(|model| {
            let context = Context::new(model, &source, &file_settings.rules);
            lock_order::summarize(&context, &display_path(path))
        })
    })
    .ok()
    .flatten()
}

/// Brings a workspace index of per-file summaries (from [`index_file`]) up to the project-wide
/// view: the files that use another file's objects, classes or factories are summarised again
/// with the project index, as a `check` run does.
pub fn link_summaries(
    summaries: &mut std::collections::HashMap<PathBuf, LockSummary>,
    settings: &dyn SettingsSource,
) {
    let index = ProjectIndex::new(summaries.values());
    if index.is_empty() {
        return;
    }
    let relink: Vec<PathBuf> = summaries
        .iter()
        .filter(|(_, summary)| index.resolves_any(&summary.lookups))
        .map(|(path, _)| path.clone())
        .collect();
    for path in relink {
        if let Some(summary) = summarize_file(&path, settings, Some(&index)) {
            summaries.insert(path, summary);
        }
    }
}

/// The other files of a workspace as the analyses of one document take them: their lock-order
/// summaries and the project index over them. Made once and shared by every analysis of that
/// document until the workspace changes, so an edit costs the document's own analysis.
pub struct DocumentContext {
    /// `(path, display path, summary)` of every other file, by path.
    others: Vec<(PathBuf, String, LockSummary)>,
    index: ProjectIndex,
}

impl DocumentContext {
    /// The context of the document at `path` among the workspace files `summaries`.
    pub fn new<'a>(
        path: &Path,
        summaries: impl IntoIterator<Item = (&'a PathBuf, &'a LockSummary)>,
    ) -> Self {
        let mut others: Vec<(PathBuf, String, LockSummary)> = summaries
            .into_iter()
            .filter(|(other, _)| other.as_path() != path)
            .map(|(other, summary)| (other.clone(), display_path(other), summary.clone()))
            .collect();
        others.sort_by(|a, b| a.0.cmp(&b.0));
        let index = ProjectIndex::new(others.iter().map(|(_, _, summary)| summary));
        DocumentContext { others, index }
    }
}

/// Checks one in-memory document (an editor buffer) together with the lock-order summaries of
/// other files, so that whole-program findings stay right while only this file changes.
pub fn check_document(
    path: &Path,
    text: String,
    settings: &dyn SettingsSource,
    context: &DocumentContext,
) -> FileReport {
    let mut document = analyse(
        path.to_path_buf(),
        Some(text),
        settings.settings_for(path),
        None,
        &Counters::default(),
        // One document: cheap to parse, and it may use another file's locks without naming
        // any concurrency API.
        Pass::Unfiltered,
    );
    let index = &context.index;
    let imports_project = document
        .summary
        .as_ref()
        .is_some_and(|summary| index.resolves_any(&summary.lookups));
    if imports_project {
        document = analyse(
            path.to_path_buf(),
            Some(document.report.source.to_string()),
            settings.settings_for(path),
            None,
            &Counters::default(),
            Pass::Linked(index, 0),
        );
    }
    let others: Vec<(&str, &LockSummary)> = context
        .others
        .iter()
        .map(|(_, display, summary)| (display.as_str(), summary))
        .collect();
    let report = finish_with(vec![document], &others);
    report
        .files
        .into_iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| FileReport::without_text(path.to_path_buf(), Vec::new()))
}
