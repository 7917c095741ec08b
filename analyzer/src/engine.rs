//! The pipeline: discover files, analyse each in parallel, join the lock-order summaries in the
//! whole-program pass, apply suppressions, sort.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use threadlint_rules::lock_order::{self, LockSummary};
use threadlint_rules::model::{FileModel, Language, Span};
use threadlint_rules::registry::{is_catalogue_code, Check};
use threadlint_rules::{Context, Finding, Fix, Related, RuleSettings, Severity, RULES};

use crate::cache::Cache;
use crate::config::PerFileIgnore;
use crate::discover;
use crate::fix::apply_fixes;
use crate::lines::LineIndex;
use crate::python;
use crate::rust;
use crate::selection::RuleSelection;
use crate::suppression::{Codes, Suppressions};

/// Files larger than this are reported and skipped.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Everything that decides what a run reports for one file.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub selection: RuleSelection,
    pub rules: RuleSettings,
    /// Severity overrides per rule code.
    pub severity: BTreeMap<&'static str, Severity>,
    pub per_file_ignores: Vec<PerFileIgnore>,
    /// The folder of the configuration file (globs are relative to it).
    pub root: Option<PathBuf>,
}

/// Where each file's settings come from: one [`Settings`] for everything, or a
/// [`Resolver`](crate::config::Resolver) reading configuration files.
pub trait SettingsSource: Sync {
    fn settings_for(&self, path: &Path) -> Arc<Settings>;
    /// Excluded by configuration (`exclude`, `extend-exclude`).
    fn is_excluded(&self, _path: &Path) -> bool {
        false
    }
    fn respect_gitignore(&self, _path: &Path) -> bool {
        true
    }
}

impl SettingsSource for Settings {
    fn settings_for(&self, _path: &Path) -> Arc<Settings> {
        Arc::new(self.clone())
    }
    fn is_excluded(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| crate::config::DEFAULT_EXCLUDES.iter().any(|e| name == *e))
    }
}

impl SettingsSource for crate::config::Resolver {
    fn settings_for(&self, path: &Path) -> Arc<Settings> {
        self.resolved_for(path).settings.clone()
    }
    fn is_excluded(&self, path: &Path) -> bool {
        crate::config::Resolver::is_excluded(self, path)
    }
    fn respect_gitignore(&self, path: &Path) -> bool {
        self.resolved_for(path).respect_gitignore
    }
}

/// The names of the diagnostics about a file itself rather than about its code.
pub const PROBLEM_NAMES: &[&str] = &[
    "invalid-syntax",
    "io-error",
    "unsupported-encoding",
    "file-too-large",
    "too-deeply-nested",
    "file-too-complex",
    "unknown-noqa-code",
];

/// One diagnostic: a rule's finding, or a problem with the file itself (`code` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Option<&'static str>,
    /// The rule's name, or the kind of problem (`invalid-syntax`, `io-error`).
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub span: Span,
    pub related: Vec<Related>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    fn from_finding(finding: Finding, settings: &Settings) -> Self {
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
            fix: finding.fix,
        }
    }

    fn problem(name: &'static str, severity: Severity, span: Span, message: String) -> Self {
        debug_assert!(
            PROBLEM_NAMES.contains(&name),
            "`{name}` is missing from PROBLEM_NAMES"
        );
        Diagnostic {
            code: None,
            name,
            severity,
            message,
            help: None,
            span,
            related: Vec::new(),
            fix: None,
        }
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

impl Analysis {
    /// A file whose text is not analysed (unreadable, or nothing in it to check).
    fn without_text(path: PathBuf, diagnostics: Vec<Diagnostic>, settings: Arc<Settings>) -> Self {
        Analysis {
            report: FileReport::without_text(path, diagnostics),
            suppressions: Suppressions::default(),
            summary: None,
            settings,
        }
    }
}

impl FileReport {
    fn without_text(path: PathBuf, diagnostics: Vec<Diagnostic>) -> Self {
        FileReport {
            path,
            source: Arc::from(""),
            lines: Arc::new(LineIndex::new("")),
            diagnostics,
        }
    }
}

/// How many files were parsed, and how many came from the cache.
#[derive(Default)]
struct Counters {
    parsed: AtomicUsize,
    cached: AtomicUsize,
}

/// What analysing one file yields before the whole-program pass.
struct Analysis {
    report: FileReport,
    suppressions: Suppressions,
    summary: Option<LockSummary>,
    settings: Arc<Settings>,
}

pub fn language_of(path: &Path) -> Option<Language> {
    match path.extension()?.to_str()? {
        "py" | "pyw" => Some(Language::Python),
        "rs" => Some(Language::Rust),
        _ => None,
    }
}

/// A file's model and the problems found while building it.
pub struct Parsed {
    pub model: Option<FileModel>,
    pub problems: Vec<Diagnostic>,
    pub comments: Vec<Span>,
    pub syntax_errors: usize,
}

/// Parses and lowers `source` for `language`.
pub fn parse(language: Language, source: &str) -> Parsed {
    parse_at(language, source, None)
}

/// [`parse`] for the file at `path`, which decides the Rust edition (nearest `Cargo.toml`).
pub fn parse_at(language: Language, source: &str, path: Option<&Path>) -> Parsed {
    match language {
        Language::Python => {
            let lowered = python::lower(source);
            let errors = lowered
                .syntax_errors
                .iter()
                .map(|e| (e.span, format!("SyntaxError: {}", e.message)));
            Parsed {
                syntax_errors: lowered.syntax_errors.len(),
                problems: front_end_problems(errors, lowered.depth_exceeded.then_some(TOO_DEEP)),
                model: Some(lowered.model),
                comments: lowered.comments,
            }
        }
        Language::Rust => {
            let edition = path.map(rust::edition_for).unwrap_or_default();
            let lowered = rust::lower(source, edition);
            let errors = lowered
                .syntax_errors
                .iter()
                .map(|e| (e.span, format!("Rust syntax error: {}", e.message)));
            let too_deep = lowered.depth_exceeded.then_some(match lowered.model {
                Some(_) => TOO_DEEP,
                None => "The file is nested too deeply to parse; it was skipped",
            });
            Parsed {
                syntax_errors: lowered.syntax_errors.len(),
                problems: front_end_problems(errors, too_deep),
                model: lowered.model,
                comments: lowered.comments,
            }
        }
    }
}

const TOO_DEEP: &str = "Some code is nested too deeply to analyse; it was skipped";

/// A front-end's syntax errors and depth limit as diagnostics.
fn front_end_problems(
    syntax_errors: impl Iterator<Item = (Span, String)>,
    too_deep: Option<&str>,
) -> Vec<Diagnostic> {
    let mut problems: Vec<Diagnostic> = syntax_errors
        .map(|(span, message)| {
            Diagnostic::problem("invalid-syntax", Severity::Error, span, message)
        })
        .collect();
    if let Some(message) = too_deep {
        problems.push(Diagnostic::problem(
            "too-deeply-nested",
            Severity::Warning,
            Span::new(0, 0),
            message.into(),
        ));
    }
    problems
}

/// The functions whose nested acquisitions exceeded the analysis budget, as problems: their
/// lock-order and re-acquisition checks are incomplete.
fn over_budget_problems(context: &Context) -> Vec<Diagnostic> {
    context
        .over_budget()
        .iter()
        .map(|&function| {
            let function = context.model.function(function);
            Diagnostic::problem(
                "file-too-complex",
                Severity::Warning,
                function.name_span,
                format!(
                    "`{}` acquires locks under other locks more than {} times; the lock-order and re-acquisition checks skipped the rest of it",
                    function.qualified_name(),
                    threadlint_rules::held::MAX_NESTED_PER_FUNCTION
                ),
            )
        })
        .collect()
}

/// The per-file rules' findings on one model of the file at `path`.
pub fn run_rules(context: &Context, path: &Path, settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RULES {
        if !settings.is_enabled_for(rule.code, path)
            || !rule.languages.contains(&context.model.language)
        {
            continue;
        }
        if let Check::File(check) = rule.check {
            findings.extend(check(context));
        }
    }
    findings
}

fn analyse(
    path: PathBuf,
    source: Option<String>,
    settings: Arc<Settings>,
    cache: Option<&Cache>,
    counters: &Counters,
) -> Analysis {
    let mut diagnostics = Vec::new();
    let text = match source {
        Some(text) => Ok(text),
        None => read_source(&path),
    };
    let source = match text {
        Ok(source) => source,
        Err(error) => {
            diagnostics.push(Diagnostic::problem(
                error.name,
                Severity::Error,
                Span::new(0, 0),
                error.message,
            ));
            return Analysis::without_text(path, diagnostics, settings);
        }
    };
    let language = language_of(&path).unwrap_or(Language::Python);
    if !crate::prefilter::may_have_findings(language, &source) {
        // Nothing can be reported, so none of the text is kept.
        return Analysis::without_text(path, diagnostics, settings);
    }
    let lines = LineIndex::new(&source);
    let key = cache.map(|_| Cache::key(&path, &source, &settings));
    if let (Some(cache), Some(key)) = (cache, &key) {
        if let Some(entry) = cache.get(&path, key) {
            if let Some(diagnostics) = entry.diagnostics() {
                counters.cached.fetch_add(1, Ordering::Relaxed);
                return Analysis {
                    report: FileReport {
                        path,
                        source: Arc::from(source),
                        lines: Arc::new(lines),
                        diagnostics,
                    },
                    suppressions: entry.suppressions,
                    summary: entry.summary,
                    settings,
                };
            }
        }
    }
    counters.parsed.fetch_add(1, Ordering::Relaxed);
    let parsed = parse_at(language, &source, Some(&path));
    diagnostics.extend(parsed.problems);
    let suppressions = Suppressions::from_comments(&source, &lines, &parsed.comments);
    let mut summary = None;
    if let Some(model) = &parsed.model {
        // One context for the rules and the lock-order summary: facts they share are derived
        // once.
        let context = Context::new(model, &source, &settings.rules);
        diagnostics.extend(
            run_rules(&context, &path, &settings)
                .into_iter()
                .map(|finding| Diagnostic::from_finding(finding, &settings)),
        );
        if settings.is_enabled_for("TL004", &path) {
            summary = Some(lock_order::summarize(&context, &display_path(&path)));
        }
        diagnostics.extend(over_budget_problems(&context));
    }
    if let (Some(cache), Some(key)) = (cache, key) {
        cache.put(
            &path,
            &crate::cache::Entry::new(key, &diagnostics, suppressions.clone(), summary.clone()),
        );
    }
    Analysis {
        report: FileReport {
            path,
            source: Arc::from(source),
            lines: Arc::new(lines),
            diagnostics,
        },
        suppressions,
        summary,
        settings,
    }
}

/// Why a file could not be checked.
#[derive(Clone, Debug)]
pub struct ReadError {
    /// The diagnostic name: `io-error` (could not be read: exit status 2), `unsupported-encoding`
    /// (not UTF-8), `file-too-large`.
    pub name: &'static str,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads a file as UTF-8, with an error message naming the file.
pub fn read_source(path: &Path) -> Result<String, ReadError> {
    let shown = display_path(path);
    let io = |e: std::io::Error| ReadError {
        name: "io-error",
        message: format!("Failed to read {shown}: {e}"),
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    // Reading a FIFO blocks until a writer comes, a device may never end: only regular files
    // are read.
    if !metadata.is_file() {
        return Err(ReadError {
            name: "io-error",
            message: format!(
                "Skipped {shown}: {}, not a regular file",
                file_kind(&metadata.file_type())
            ),
        });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ReadError {
            name: "file-too-large",
            message: format!(
                "Skipped {shown}: {} MB is larger than the {} MB limit",
                metadata.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError {
        name: "io-error",
        message: format!("Failed to read {}: {e}", display_path(path)),
    })?;
    String::from_utf8(bytes).map_err(|e| ReadError {
        name: "unsupported-encoding",
        message: format!(
            "Skipped {}: not valid UTF-8 (invalid byte at offset {}); only UTF-8 sources are analysed",
            display_path(path),
            e.utf8_error().valid_up_to()
        ),
    })
}

/// What a path that is not a regular file is, in words.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// Inputs of a run: paths found on disk, or one source given directly (stdin, an editor buffer).
pub enum Input {
    Paths(Vec<PathBuf>),
    Source { path: PathBuf, text: String },
}

/// Checks the input: the complete pipeline.
pub fn check(input: Input, settings: &dyn SettingsSource) -> Report {
    check_with(input, settings, &RunOptions::default())
}

/// How a run goes, beyond what it reports.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Configured excludes apply to files named explicitly too.
    pub force_exclude: bool,
    /// Reuse results of unchanged files.
    pub cache: Option<&'a Cache>,
}

/// [`check`] with run options.
pub fn check_with(input: Input, settings: &dyn SettingsSource, options: &RunOptions) -> Report {
    let force_exclude = options.force_exclude;
    let counters = Counters::default();
    let mut unreadable = Vec::new();
    let jobs: Vec<(PathBuf, Option<String>)> = match input {
        Input::Paths(paths) => {
            let found = discover::walk(&paths, settings, force_exclude);
            unreadable = found.unreadable;
            found.files.into_iter().map(|p| (p, None)).collect()
        }
        Input::Source { path, text } => {
            if force_exclude && settings.is_excluded(&path) {
                Vec::new()
            } else {
                vec![(path, Some(text))]
            }
        }
    };
    let mut analyses: Vec<Analysis> = pool().install(|| {
        jobs.into_par_iter()
            .map(|(path, source)| {
                let file_settings = settings.settings_for(&path);
                analyse(path, source, file_settings, options.cache, &counters)
            })
            .collect()
    });
    // Folders that could not be read are reported like files that could not be read.
    for (path, reason) in unreadable {
        let message = format!("Failed to read {}: {reason}", display_path(&path));
        let problem = Diagnostic::problem("io-error", Severity::Error, Span::new(0, 0), message);
        let file_settings = settings.settings_for(&path);
        analyses.push(Analysis::without_text(path, vec![problem], file_settings));
    }
    let mut report = finish(analyses);
    report.parsed = counters.parsed.into_inner();
    report.cached = counters.cached.into_inner();
    report
}

/// A pool whose threads have room for deeply nested sources.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(256 * 1024 * 1024)
            .thread_name(|i| format!("threadlint-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().build())
            .expect("a thread pool can be built")
    })
}

/// The whole-program pass, suppressions and ordering.
fn finish(mut analyses: Vec<Analysis>) -> Report {
    analyses.sort_by(|a, b| a.report.path.cmp(&b.report.path));
    {
        let paths: Vec<String> = analyses.iter().map(|a| a.report.display_path()).collect();
        let summaries: Vec<(usize, &str, &LockSummary)> = analyses
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.summary.as_ref().map(|s| (i, paths[i].as_str(), s)))
            .collect();
        let findings = lock_order::check(&summaries);
        for (file, finding) in findings {
            let analysis = &mut analyses[file];
            let diagnostic = Diagnostic::from_finding(finding, &analysis.settings);
            analysis.report.diagnostics.push(diagnostic);
        }
    }
    // Files that could be read (the others carry the diagnostic that says why not).
    let checked = analyses
        .iter()
        .filter(|a| {
            !a.report.diagnostics.iter().any(|d| {
                matches!(
                    d.name,
                    "io-error" | "unsupported-encoding" | "file-too-large"
                )
            })
        })
        .count();
    let files = analyses
        .into_iter()
        .filter_map(|analysis| {
            let Analysis {
                mut report,
                suppressions,
                ..
            } = analysis;
            if suppressions.file_exempt {
                return None;
            }
            let lines = report.lines.clone();
            report.diagnostics.retain(|d| {
                d.code.is_none() || !suppressions.suppresses(lines.line_of(d.span.start), d.code)
            });
            report.diagnostics.extend(unknown_noqa_codes(&suppressions));
            report.diagnostics.sort_by(|a, b| {
                (a.span.start, a.span.end, a.code, &a.message).cmp(&(
                    b.span.start,
                    b.span.end,
                    b.code,
                    &b.message,
                ))
            });
            report.diagnostics.dedup();
            Some(report)
        })
        .collect();
    Report {
        files,
        checked,
        parsed: 0,
        cached: 0,
    }
}

fn unknown_noqa_codes(suppressions: &Suppressions) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for noqa in &suppressions.lines {
        if let Codes::Some(codes) = &noqa.codes {
            for code in codes {
                if code.starts_with("TL") && !is_catalogue_code(code) {
                    problems.push(Diagnostic::problem(
                        "unknown-noqa-code",
                        Severity::Warning,
                        noqa.span,
                        format!(
                            "Unknown rule code `{code}` in `noqa` comment: it suppresses nothing"
                        ),
                    ));
                }
            }
        }
    }
    problems
}

/// The outcome of fixing one source.
pub struct FixResult {
    pub source: String,
    pub fixed: usize,
    /// The code of each fix applied.
    pub codes: Vec<&'static str>,
}

/// Applies every applicable fix to `source`, re-analysing after each round until nothing more
/// applies (at most ten rounds). Each fix must keep the file parsing.
pub fn fix_source(path: &Path, source: &str, settings: &Settings, unsafe_fixes: bool) -> FixResult {
    let settings = &settings.clone();
    let language = language_of(path).unwrap_or(Language::Python);
    let errors = |text: &str| parse_at(language, text, Some(path)).syntax_errors;
    let mut current = source.to_string();
    let mut fixed = 0;
    let mut codes = Vec::new();
    for _ in 0..10 {
        let parsed = parse_at(language, &current, Some(path));
        let Some(model) = parsed.model else { break };
        let lines = LineIndex::new(&current);
        let suppressions = Suppressions::from_comments(&current, &lines, &parsed.comments);
        let context = Context::new(&model, &current, &settings.rules);
        let findings = run_rules(&context, path, settings);
        let fixable: Vec<&Finding> = findings
            .iter()
            .filter(|f| !suppressions.suppresses(lines.line_of(f.span.start), Some(f.code)))
            .filter(|f| {
                f.fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability.is_applied(unsafe_fixes))
            })
            .collect();
        let fixes: Vec<&Fix> = fixable.iter().filter_map(|f| f.fix.as_ref()).collect();
        if fixes.is_empty() {
            break;
        }
        let applied = apply_fixes(&current, &fixes, &errors);
        if applied.applied == 0 {
            break;
        }
        fixed += applied.applied;
        codes.extend(applied.chosen.iter().map(|&index| fixable[index].code));
        current = applied.source;
    }
    FixResult {
        source: current,
        fixed,
        codes,
    }
}

/// The lock-order summary of a file on disk, for a workspace index (the language server keeps
/// one for files that are not open).
pub fn index_file(path: &Path, settings: &dyn SettingsSource) -> Option<LockSummary> {
    let file_settings = settings.settings_for(path);
    if !file_settings.is_enabled_for("TL004", path) {
        return None;
    }
    let source = read_source(path).ok()?;
    let language = language_of(path)?;
    let parsed = parse_at(language, &source, Some(path));
    parsed.model.as_ref().map(|model| {
        let context = Context::new(model, &source, &file_settings.rules);
        lock_order::summarize(&context, &display_path(path))
    })
}

/// Checks one in-memory document (an editor buffer) together with the lock-order summaries of
/// other files, so that whole-program findings stay right while only this file changes.
pub fn check_document(
    path: &Path,
    text: String,
    settings: &dyn SettingsSource,
    others: &[(PathBuf, LockSummary)],
) -> FileReport {
    let mut analyses = vec![analyse(
        path.to_path_buf(),
        Some(text),
        settings.settings_for(path),
        None,
        &Counters::default(),
    )];
    for (other, summary) in others {
        if other == path {
            continue;
        }
        analyses.push(Analysis {
            report: FileReport::without_text(other.clone(), Vec::new()),
            suppressions: Suppressions::default(),
            summary: Some(summary.clone()),
            settings: settings.settings_for(other),
        });
    }
    let report = finish(analyses);
    report
        .files
        .into_iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| FileReport::without_text(path.to_path_buf(), Vec::new()))
}
