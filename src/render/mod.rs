//! Rendering a report in every output format. Human formats live in `human`; each machine
//! format in its own module, following its consumer's rules.

mod github;
mod gitlab;
pub mod human;
mod json;
mod junit;
mod sarif;

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use threadlint_analyzer::engine::FileReport;
use threadlint_analyzer::lines::Location;
use threadlint_analyzer::{Diagnostic, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// Each diagnostic with the source it points at, its labels and a help line.
    Full,
    /// One line per diagnostic: `path:row:col: CODE [*] message`.
    Concise,
    /// Diagnostics grouped by file.
    Grouped,
    /// A JSON array, with ruff's field names.
    Json,
    /// One JSON object per line.
    JsonLines,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality report.
    Gitlab,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML, one test case per diagnostic.
    Junit,
}

impl OutputFormat {
    /// Formats meant for programs: no summary line around them.
    pub fn is_machine(self) -> bool {
        !matches!(
            self,
            OutputFormat::Full | OutputFormat::Concise | OutputFormat::Grouped
        )
    }
}

/// Writes every format but `full`, which needs a colour-aware writer.
pub fn write(
    report: &Report,
    format: OutputFormat,
    unsafe_fixes: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Full => {
            let mut buffer = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
            human::full(report, unsafe_fixes, &mut buffer)?;
            out.write_all(&buffer.into_inner())
        }
        OutputFormat::Concise => human::concise(report, unsafe_fixes, out),
        OutputFormat::Grouped => human::grouped(report, unsafe_fixes, out),
        OutputFormat::Json => json::array(report, out),
        OutputFormat::JsonLines => json::lines(report, out),
        OutputFormat::Github => github::write(report, &root_from_env("GITHUB_WORKSPACE"), out),
        OutputFormat::Gitlab => gitlab::write(report, &root_from_env("CI_PROJECT_DIR"), out),
        OutputFormat::Sarif => sarif::write(report, &root_from_env("GITHUB_WORKSPACE"), out),
        OutputFormat::Junit => junit::write(report, out),
    }
}

/// A diagnostic with its positions resolved, and its related locations in whatever file.
pub struct Item<'a> {
    pub file: &'a FileReport,
    pub diagnostic: &'a Diagnostic,
    pub start: Location,
    pub end: Location,
    pub related: Vec<RelatedItem>,
    /// How threads get to the finding, each step located (steps in files the report does not
    /// hold are left out).
    pub traces: Vec<TraceItem>,
}

pub struct RelatedItem {
    pub path: PathBuf,
    pub start: Location,
    pub end: Location,
    pub message: String,
}

pub struct TraceItem {
    pub message: String,
    /// Each step with what happens there and how many calls deep.
    pub steps: Vec<(RelatedItem, threadlint_rules::StepKind, u32)>,
}

pub fn items(report: &Report) -> Vec<Item<'_>> {
    report
        .diagnostics()
        .map(|(file, diagnostic)| {
            let (start, end) = file.lines.span_locations(&file.source, diagnostic.span);
            let locate = |at: Option<&String>, span, message: &str| {
                let other = match at {
                    None => file,
                    Some(path) => report.files.iter().find(|f| f.display_path() == *path)?,
                };
                let (start, end) = other.lines.span_locations(&other.source, span);
                Some(RelatedItem {
                    path: other.path.clone(),
                    start,
                    end,
                    message: message.to_string(),
                })
            };
            let related = diagnostic
                .related
                .iter()
                .filter_map(|related| locate(related.file.as_ref(), related.span, &related.message))
                .collect();
            let traces = diagnostic
                .traces
                .iter()
                .map(|trace| TraceItem {
                    message: trace.message.clone(),
                    steps: trace
                        .steps
                        .iter()
                        .filter_map(|step| {
                            let located = locate(step.file.as_ref(), step.span, &step.message)?;
                            Some((located, step.kind, step.depth))
                        })
                        .collect(),
                })
                .filter(|trace| !trace.steps.is_empty())
                .collect();
            Item {
                file,
                diagnostic,
                start,
                end,
                related,
                traces,
            }
        })
        .collect()
}

/// The repository root: `$VAR` when set (CI), else the current folder.
pub fn root_from_env(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default()
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        threadlint_analyzer::config::working_dir().join(path)
    };
    // Lexical normalisation: `a/./b/../c` -> `a/c`.
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn slashes(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `path` relative to `root` with `/` separators, if it is inside `root`.
pub fn inside(path: &Path, root: &Path) -> Option<String> {
    let absolute_path = absolute(path);
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| absolute(root));
    let canonical = std::fs::canonicalize(&absolute_path).unwrap_or(absolute_path);
    canonical.strip_prefix(&root).ok().map(slashes)
}

/// `path` relative to `root`; as the user gave it when it is outside `root`.
pub fn relative_to(path: &Path, root: &Path) -> String {
    inside(path, root).unwrap_or_else(|| slashes(path))
}

/// A path written as the path of a URI: unreserved characters and `/` as they are, every
/// other byte percent-encoded.
pub fn percent_encode_path(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char);
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// A `file://` URI for a path outside the repository root.
pub fn file_uri(path: &Path) -> String {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path));
    let mut text = slashes(&absolute);
    if !text.starts_with('/') {
        text.insert(0, '/');
    }
    format!("file://{}", percent_encode_path(&text))
}
