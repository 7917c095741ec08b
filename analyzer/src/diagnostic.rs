//! What a run reports: a [`Diagnostic`] (a rule's finding or a problem with the file itself),
//! the results of one file ([`FileReport`]) and of the run ([`Report`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use threadlint_rules::model::Span;
use threadlint_rules::{Finding, Fix, Related, Severity, Trace};

use crate::lines::LineIndex;
use crate::problem::Problem;
use crate::settings::Settings;

/// A code or name of the registry or of a [`Problem`]: `'static`, looked up again when a
/// stored diagnostic is loaded (`known_code`, `known_name`). An alias, so that serde does not
/// take a `&str` field for one borrowed from its input.
pub type Interned = &'static str;

/// A stored rule code, as the registry's `'static` code.
fn known_code<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Interned>, D::Error> {
    let code: Option<String> = Option::deserialize(deserializer)?;
    code.map(|code| {
        threadlint_rules::registry::find(&code)
            .map(|rule| rule.code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule code `{code}`")))
    })
    .transpose()
}

/// A stored diagnostic name (a rule's or a problem's), as a `'static` name.
fn known_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Interned, D::Error> {
    let name = String::deserialize(deserializer)?;
    threadlint_rules::registry::find(&name)
        .map(|rule| rule.name)
        .or_else(|| Problem::from_name(&name).map(Problem::name))
        .ok_or_else(|| serde::de::Error::custom(format!("unknown diagnostic `{name}`")))
}

/// One diagnostic: a rule's finding, or a problem with the file itself (`code` is `None`).
/// Serialised as the cache stores it; a code or name this build does not know fails to load.
/// The cache's encoding is not self-describing: every field is always written (no
/// `skip_serializing_if`), or the fields after it are read from the wrong bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    #[serde(deserialize_with = "known_code")]
    pub code: Option<Interned>,
    /// The rule's name, or the kind of problem (`invalid-syntax`, `io-error`: [`Problem`]).
    #[serde(deserialize_with = "known_name")]
    pub name: Interned,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub span: Span,
    pub related: Vec<Related>,
    /// How threads get to the finding, step by step (lock-order cycles).
    pub traces: Vec<Trace>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub(crate) fn from_finding(finding: Finding, settings: &Settings) -> Self {
        let rule = threadlint_rules::registry::find(finding.code);
        let default = rule.map_or(Severity::Warning, |r| r.severity);
        Diagnostic {
            code: Some(finding.code),
            name: rule.map_or("", |r| r.name),
            severity: settings
                .severity
                .get(finding.code)
                .copied()
                .unwrap_or(default),
            message: finding.message,
            help: Some(finding.help).filter(|h| !h.is_empty()),
            span: finding.span,
            related: finding.related,
            traces: finding.traces,
            fix: finding.fix,
        }
    }

    /// A problem with the file itself.
    pub fn problem(kind: Problem, severity: Severity, span: Span, message: String) -> Self {
        Diagnostic {
            code: None,
            name: kind.name(),
            severity,
            message,
            help: None,
            span,
            related: Vec::new(),
            traces: Vec::new(),
            fix: None,
        }
    }

    /// The kind of problem, for a diagnostic about the file itself.
    pub fn problem_kind(&self) -> Option<Problem> {
        self.code
            .is_none()
            .then(|| Problem::from_name(self.name))
            .flatten()
    }
}

/// The results for one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    /// The source as read (empty when it could not be read).
    pub source: Arc<str>,
    pub lines: Arc<LineIndex>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

/// A path as the user wrote it, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

/// The results of a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub files: Vec<FileReport>,
    /// Files whose source was read and checked.
    pub checked: usize,
    /// Files that were parsed.
    pub parsed: usize,
    /// Files whose results came from the cache.
    pub cached: usize,
}

impl Report {
    pub fn diagnostics(&self) -> impl Iterator<Item = (&FileReport, &Diagnostic)> {
        self.files
            .iter()
            .flat_map(|file| file.diagnostics.iter().map(move |d| (file, d)))
    }
}
