//! The pipeline: discover files, analyse each in parallel, join the lock-order summaries in the
//! whole-program pass, apply suppressions, sort.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use threadlint_rules::lock_order::{self, LockSummary};
use threadlint_rules::model::{FileModel, Language, Span};
use threadlint_rules::project::ProjectIndex;
use threadlint_rules::registry::{is_catalogue_code, Check};
use threadlint_rules::{Context, Finding, Severity, RULES};

use crate::cache::Cache;
use crate::discover;
use crate::lines::LineIndex;
use crate::problem::Problem;
use crate::python;
use crate::rust;
use crate::suppression::{Codes, Suppressions};

pub use crate::diagnostic::{display_path, Diagnostic, FileReport, Interned, Report};
pub use crate::discover::language_of;
pub use crate::read::{read_source, ReadError, MAX_FILE_BYTES};
pub use crate::settings::{Settings, SettingsSource};

impl Analysis {
    /// A file whose text is not analysed (unreadable, or nothing in it to check).
    pub(crate) fn without_text(
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
        settings: Arc<Settings>,
    ) -> Self {
        Analysis {
            report: FileReport::without_text(path, diagnostics),
            suppressions: Suppressions::default(),
            summary: None,
            settings,
            prefiltered: None,
            context: false,
            linked: None,
            text_dropped: false,
        }
    }

    /// Drops the text of a file that can get no diagnostic any more: none so far, no lock
    /// its summary takes part in the whole-program pass with, no unknown `noqa` code. A run
    /// over a large tree then holds the text of the files it reports on, not of every file
    /// it parsed.
    fn drop_text_if_done(&mut self) {
        if self.report.source.is_empty() || !self.report.diagnostics.is_empty() {
            return;
        }
        if self
            .summary
            .as_ref()
            .is_some_and(lock_order::LockSummary::takes_locks)
            || !unknown_noqa_codes(&self.suppressions).is_empty()
        {
            return;
        }
        self.report.source = Arc::from("");
        self.report.lines = Arc::new(LineIndex::new(""));
        self.text_dropped = true;
    }
}

impl FileReport {
    pub(crate) fn without_text(path: PathBuf, diagnostics: Vec<Diagnostic>) -> Self {
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
pub(crate) struct Counters {
    /// The files parsed, each once however many passes parse it (the link step analyses some
    /// files again with the project index).
    parsed: std::sync::Mutex<rustc_hash::FxHashSet<PathBuf>>,
    cached: AtomicUsize,
}

/// What the link step needs of a file the prefilter skipped, read off its text before the
/// text was dropped.
struct Prefiltered {
    /// The modules it imports (for a Python file).
    imports: Vec<String>,
    /// A hash of its text: with the names searched for, the key of a stored answer of the
    /// name search ([`Cache::name_answers`]).
    text_hash: u64,
}

/// What analysing one file yields before the whole-program pass.
pub(crate) struct Analysis {
    pub(crate) report: FileReport,
    suppressions: Suppressions,
    pub(crate) summary: Option<LockSummary>,
    settings: Arc<Settings>,
    /// The prefilter found nothing to analyse in it (no concurrency API named).
    prefiltered: Option<Prefiltered>,
    /// Analysed only for what other files see of it: not reported.
    context: bool,
    /// Served from the cache as analysed with a project index whose answers had this
    /// fingerprint (the link step checks it still holds).
    linked: Option<u64>,
    /// Its text was dropped after analysis (`drop_text_if_done`): read it again to analyse it
    /// again.
    text_dropped: bool,
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
    parse_linked(language, source, path, None)
}

/// [`parse_at`] with the project index: names imported from other files of the project
/// resolve to the objects those files define.
pub(crate) fn parse_linked(
    language: Language,
    source: &str,
    path: Option<&Path>,
    index: Option<&ProjectIndex>,
) -> Parsed {
    match language {
        Language::Python => {
            let module = path.and_then(python::modules::module_path);
            let lowered = python::lower(source, module, index);
            let errors = lowered
                .syntax_errors
                .iter()
                .map(|e| (e.span, format!("SyntaxError: {}", e.message)));
            Parsed {
                syntax_errors: lowered.syntax_errors.len(),
                problems: front_end_problems(
                    errors,
                    Severity::Error,
                    lowered.depth_exceeded.then_some(TOO_DEEP),
                ),
                model: Some(lowered.model),
                comments: lowered.comments,
            }
        }
        Language::Rust => {
            let edition = path.map(rust::edition_for).unwrap_or_default();
            let place = path.and_then(rust::modules::locate);
            let lowered = rust::lower_in(source, edition, place.as_ref(), index);
            // The parser reads Rust 2018 and later: in a 2015 crate, what it cannot read may
            // be valid code (`Box<(FnMut() -> ()) + 'a>`), so it is not called an error.
            let old_edition = edition == rust::Edition::E2015;
            let errors = lowered.syntax_errors.iter().map(|e| {
                let message = if old_edition {
                    format!("Could not parse this file of a Rust 2015 crate ({}): the parser reads Rust 2018 and later, and this may be 2015 syntax; the file was skipped", e.message)
                } else {
                    format!("Rust syntax error: {}", e.message)
                };
                (e.span, message)
            });
            let too_deep = lowered.depth_exceeded.then_some(match lowered.model {
                Some(_) => TOO_DEEP,
                None => "The file is nested too deeply to parse; it was skipped",
            });
            let severity = if old_edition {
                Severity::Warning
            } else {
                Severity::Error
            };
            Parsed {
                syntax_errors: lowered.syntax_errors.len(),
                problems: front_end_problems(errors, severity, too_deep),
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
    severity: Severity,
    too_deep: Option<&str>,
) -> Vec<Diagnostic> {
    let mut problems: Vec<Diagnostic> = syntax_errors
        .map(|(span, message)| Diagnostic::problem(Problem::InvalidSyntax, severity, span, message))
        .collect();
    if let Some(message) = too_deep {
        problems.push(Diagnostic::problem(
            Problem::TooDeeplyNested,
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
                Problem::FileTooComplex,
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
pub(crate) fn run_rules(context: &Context, path: &Path, settings: &Settings) -> Vec<Finding> {
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
    threadlint_rules::registry::drop_superseded(&mut findings);
    findings
}

pub(crate) fn analyse(
    path: PathBuf,
    source: Option<String>,
    settings: Arc<Settings>,
    cache: Option<&Cache>,
    counters: &Counters,
    pass: Pass,
) -> Analysis {
    let index = pass.index();
    let mut diagnostics = Vec::new();
    // A file read from disk for a first look: unchanged since the last run's (same size and
    // modification time), what that look found is served without reading it.
    let first_look = match (cache, &source, pass) {
        (Some(cache), None, Pass::First) => {
            crate::cache::stamp(&path).map(|stamp| (cache, stamp, Cache::settings_key(&settings)))
        }
        _ => None,
    };
    if let Some((cache, stamp, settings_key)) = first_look {
        if let Some(seen) = cache.seen(&path, stamp, settings_key) {
            if let Some(analysis) = unchanged(&path, &seen, cache, &settings, counters) {
                cache.observe(&path, stamp, settings_key, seen);
                return analysis;
            }
        }
    }
    let text = match source {
        Some(text) => Ok(text),
        None => read_source(&path),
    };
    let source = match text {
        Ok(source) => source,
        Err(error) => {
            diagnostics.push(Diagnostic::problem(
                error.kind,
                Severity::Error,
                Span::new(0, 0),
                error.message,
            ));
            return Analysis::without_text(path, diagnostics, settings);
        }
    };
    let language = language_of(&path).unwrap_or(Language::Python);
    if matches!(pass, Pass::First)
        && !crate::prefilter::may_have_findings(
            language,
            &source,
            settings.rules.missing_timeout_strict,
        )
    {
        // Nothing can be reported, so none of the text is kept: only, for a Python file, the
        // modules it imports, through which it might still use another file's lock; for a
        // Rust file, its crate (and its package's library), whose functions that take locks
        // it may call.
        let imports = match language {
            Language::Python => {
                let module = python::modules::module_path(&path);
                python::modules::imported_modules(&source, module.as_ref())
            }
            Language::Rust => rust::modules::locate(&path)
                .map(|place| {
                    let mut crates = vec![place.crate_name];
                    if !place.in_library {
                        crates.push(place.package);
                    }
                    crates
                })
                .unwrap_or_default(),
        };
        let text_hash = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
        if let Some((cache, stamp, settings_key)) = first_look {
            let first = crate::cache::FirstLook::Skipped {
                imports: imports.clone(),
                text_hash,
                place: place_in_project(language, &path),
            };
            cache.observe(&path, stamp, settings_key, first);
        }
        let mut analysis = Analysis::without_text(path, diagnostics, settings);
        analysis.prefiltered = Some(Prefiltered { imports, text_hash });
        return analysis;
    }
    let lines = LineIndex::new(&source);
    // A file analysed with the project index is stored under its key and a fingerprint of
    // what the index answered it; a first look takes such an entry provisionally, and the link
    // step keeps it only if the index still answers the same.
    let place = cache.map(|_| place_in_project(language, &path));
    let key = place.as_deref().map(|place| {
        let key = match first_look {
            Some((_, _, settings_key)) => Cache::key_with(&path, place, &source, settings_key),
            None => Cache::key(&path, place, &source, &settings),
        };
        match pass {
            Pass::Linked(_, fingerprint) => Cache::linked_key(&key, fingerprint),
            _ => key,
        }
    });
    if let (Some((cache, stamp, settings_key)), Some(key), Some(place)) = (first_look, &key, place)
    {
        let first = crate::cache::FirstLook::Analysed {
            key: key.clone(),
            place,
        };
        cache.observe(&path, stamp, settings_key, first);
    }
    if let (Some(cache), Some(key)) = (cache, &key) {
        let linked = matches!(pass, Pass::Linked(..));
        let entry = cache.get_matching(&path, |stored| {
            stored == key || (!linked && Cache::linked_fingerprint(stored, key).is_some())
        });
        if let Some(entry) = entry {
            let fingerprint = Cache::linked_fingerprint(entry.key(), key);
            counters.cached.fetch_add(1, Ordering::Relaxed);
            return Analysis {
                linked: fingerprint,
                text_dropped: false,
                report: FileReport {
                    path,
                    source: Arc::from(source),
                    lines: Arc::new(lines),
                    diagnostics: entry.diagnostics,
                },
                suppressions: entry.suppressions,
                summary: entry.summary,
                settings,
                prefiltered: None,
                context: false,
            };
        }
    }
    if let Ok(mut parsed) = counters.parsed.lock() {
        parsed.insert(path.clone());
    }
    let (suppressions, summary) =
        match run_isolated(|| lint(language, &source, &lines, &path, &settings, index)) {
            Ok(linted) => {
                diagnostics.extend(linted.diagnostics);
                if let (Some(cache), Some(key)) = (cache, key) {
                    cache.put(
                        &path,
                        &crate::cache::Entry::new(
                            key,
                            &diagnostics,
                            linted.suppressions.clone(),
                            linted.summary.clone(),
                        ),
                    );
                }
                (linted.suppressions, linted.summary)
            }
            // Not cached: the next run tries again.
            Err(message) => {
                diagnostics.push(internal_error(&message));
                (Suppressions::default(), None)
            }
        };
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
        prefiltered: None,
        context: false,
        linked: None,
        text_dropped: false,
    }
}

/// The first look at an unchanged file, as the last run found it, when that needs none of its
/// text: skipped by the prefilter, or analysed with a stored entry that holds nothing a report
/// would show (what [`Analysis::drop_text_if_done`] would keep of it). `None` sends the file
/// the usual way.
fn unchanged(
    path: &Path,
    seen: &crate::cache::FirstLook,
    cache: &Cache,
    settings: &Arc<Settings>,
    counters: &Counters,
) -> Option<Analysis> {
    // A file moved to another place in its project (a package's `__init__.py` added above
    // it, its crate renamed) defines and imports other names, though its text is the same.
    let (crate::cache::FirstLook::Skipped { place, .. }
    | crate::cache::FirstLook::Analysed { place, .. }) = seen;
    let language = language_of(path).unwrap_or(Language::Python);
    if *place != place_in_project(language, path) {
        return None;
    }
    match seen {
        crate::cache::FirstLook::Skipped {
            imports, text_hash, ..
        } => {
            let mut analysis =
                Analysis::without_text(path.to_path_buf(), Vec::new(), settings.clone());
            analysis.prefiltered = Some(Prefiltered {
                imports: imports.clone(),
                text_hash: *text_hash,
            });
            Some(analysis)
        }
        crate::cache::FirstLook::Analysed { key, .. } => {
            let entry = cache.get_matching(path, |stored| {
                stored == key || Cache::linked_fingerprint(stored, key).is_some()
            })?;
            let needs_text = !entry.diagnostics.is_empty()
                || entry
                    .summary
                    .as_ref()
                    .is_some_and(lock_order::LockSummary::takes_locks)
                || !unknown_noqa_codes(&entry.suppressions).is_empty();
            if needs_text {
                return None;
            }
            counters.cached.fetch_add(1, Ordering::Relaxed);
            Some(Analysis {
                linked: Cache::linked_fingerprint(entry.key(), key),
                text_dropped: true,
                report: FileReport::without_text(path.to_path_buf(), entry.diagnostics),
                suppressions: entry.suppressions,
                summary: entry.summary,
                settings: settings.clone(),
                prefiltered: None,
                context: false,
            })
        }
    }
}

/// Where a file is in its project, as far as a skipped file's imports depend on it: its Python
/// module path, or its Rust crate, package and target.
pub(crate) fn place_in_project(language: Language, path: &Path) -> String {
    match language {
        Language::Python => python::modules::module_path(path)
            .map(|module| {
                format!(
                    "{}{}",
                    module.name,
                    if module.is_package { "/" } else { "" }
                )
            })
            .unwrap_or_default(),
        Language::Rust => rust::modules::locate(path)
            .map(|place| {
                format!(
                    "{} {} {}",
                    place.crate_name, place.package, place.in_library
                )
            })
            .unwrap_or_default(),
    }
}

/// What parsing and linting one source yields.
struct Linted {
    diagnostics: Vec<Diagnostic>,
    suppressions: Suppressions,
    summary: Option<LockSummary>,
}

fn lint(
    language: Language,
    source: &str,
    lines: &LineIndex,
    path: &Path,
    settings: &Settings,
    index: Option<&ProjectIndex>,
) -> Linted {
    let parsed = parse_linked(language, source, Some(path), index);
    let mut diagnostics = parsed.problems;
    let suppressions = Suppressions::from_comments(source, lines, &parsed.comments);
    let mut summary = None;
    if let Some(model) = &parsed.model {
        // One context for the rules and the lock-order summary: facts they share are derived
        // once.
        let context = Context::new(model, source, &settings.rules);
        diagnostics.extend(
            run_rules(&context, path, settings)
                .into_iter()
                .map(|finding| Diagnostic::from_finding(finding, settings)),
        );
        // Always: besides lock order, the summary is what other files see of this one.
        summary = Some(lock_order::summarize(&context, &display_path(path)));
        diagnostics.extend(over_budget_problems(&context));
    }
    Linted {
        diagnostics,
        suppressions,
        summary,
    }
}

/// The diagnostic for a file on which threadlint itself failed.
fn internal_error(message: &str) -> Diagnostic {
    Diagnostic::problem(
        Problem::InternalError,
        Severity::Error,
        Span::new(0, 0),
        format!("threadlint failed on this file, which was not checked: {message}"),
    )
}

/// Runs `work` (parsing, lowering, rules, fixes) on a thread of the analysis pool, whose stacks
/// have room for deeply nested and very long expressions, and turns a panic into an error
/// message so that one file's failure never ends the run. Called from a pool thread, it runs
/// on that thread.
pub(crate) fn run_isolated<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T, String> {
    pool()
        .install(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
        .map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(std::string::ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an unexpected panic".to_string())
        })
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
    /// Files named one by one (not folders) are checked against the rest of their project (the
    /// nearest folder with `.git`, `pyproject.toml`, `setup.py`, `setup.cfg` or `Cargo.toml`):
    /// lock order and imported objects see every file of it, findings are reported for the
    /// named files only.
    pub project_context: bool,
    /// Parse every file, also those that mention no concurrency API (to show that skipping
    /// them loses nothing).
    pub no_prefilter: bool,
    /// Configured excludes apply to files named explicitly too.
    pub force_exclude: bool,
    /// Reuse results of unchanged files.
    pub cache: Option<&'a Cache>,
}

/// The files of the projects of the files named one by one in `jobs`, less those in `jobs`.
fn project_context(
    jobs: &[(PathBuf, Option<String>)],
    settings: &dyn SettingsSource,
) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut named = std::collections::HashSet::new();
    for (path, _) in jobs {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if let Some(root) = project_root(&absolute) {
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        named.insert(absolute);
    }
    if roots.is_empty() {
        return Vec::new();
    }
    let cwd = std::env::current_dir().ok();
    let roots: Vec<PathBuf> = roots
        .into_iter()
        .map(
            |root| match cwd.as_deref().and_then(|cwd| root.strip_prefix(cwd).ok()) {
                Some(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
                Some(relative) => relative.to_path_buf(),
                None => root,
            },
        )
        .collect();
    discover::files(&roots, settings, true)
        .into_iter()
        .filter(|path| {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            !named.contains(&absolute) && language_of(path).is_some()
        })
        .collect()
}

/// The nearest folder above `file` that marks a project's root.
fn project_root(file: &Path) -> Option<PathBuf> {
    const MARKERS: &[&str] = &[
        ".git",
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "Cargo.toml",
    ];
    file.ancestors()
        .skip(1)
        .find(|dir| MARKERS.iter().any(|marker| dir.join(marker).exists()))
        .map(Path::to_path_buf)
}

/// [`check`] with run options.
pub fn check_with(input: Input, settings: &dyn SettingsSource, options: &RunOptions) -> Report {
    let counters = Counters::default();
    let jobs = jobs(input, settings, options);
    // A run over the same folders with nothing changed since the last one is that run's
    // outcome.
    let run = options
        .cache
        .filter(|_| jobs.over_folders && jobs.unreadable.is_empty())
        .and_then(|cache| {
            Some((
                cache,
                cache.run_state(&jobs, settings, options.no_prefilter)?,
            ))
        });
    if let Some((cache, state)) = &run {
        if let Some(report) = cache.stored_run(state) {
            return report;
        }
    }
    let analyses = analyse_jobs(jobs, settings, options, &counters);
    if let Some(cache) = options.cache {
        cache.store_seen();
    }
    let mut report = finish(analyses);
    report.parsed = counters
        .parsed
        .into_inner()
        .map_or(0, |parsed| parsed.len());
    report.cached = counters.cached.into_inner();
    if let Some((cache, state)) = &run {
        cache.store_run(state, &report);
    }
    report
}

/// The project's lock-order graph, with the files its sites are in.
pub struct ProjectGraph {
    pub graph: lock_order::LockGraph,
    /// Display path and line index of each file a site can name (by index).
    pub files: Vec<(String, Arc<LineIndex>)>,
}

/// The lock-order graph of the files `input` names (and their projects, as `options` say).
pub fn lock_graph(
    input: Input,
    settings: &dyn SettingsSource,
    options: &RunOptions,
) -> ProjectGraph {
    let mut analyses = analyse_all(input, settings, options, &Counters::default());
    analyses.sort_by(|a, b| a.report.path.cmp(&b.report.path));
    let paths: Vec<String> = analyses.iter().map(|a| a.report.display_path()).collect();
    let graph = lock_order::graph(&summaries_of(&analyses, &paths));
    ProjectGraph {
        graph,
        files: analyses
            .iter()
            .zip(&paths)
            .map(|(a, path)| (path.clone(), a.report.lines.clone()))
            .collect(),
    }
}

/// What a run is given to analyse: the files found, in the order found, those of them named one
/// by one first.
pub(crate) struct Jobs {
    pub(crate) files: Vec<(PathBuf, Option<String>)>,
    /// How many of `files` were asked for; the rest are their projects' other files, analysed
    /// for what they share and not reported.
    pub(crate) named: usize,
    /// Folders that could not be read, with the reason.
    pub(crate) unreadable: Vec<(PathBuf, String)>,
    /// Only folders were given: the run is over whole trees (what [`crate::cache::run`] stores).
    pub(crate) over_folders: bool,
}

/// The files `input` names, found on disk, and their projects' other files when `options`
/// ask for them.
fn jobs(input: Input, settings: &dyn SettingsSource, options: &RunOptions) -> Jobs {
    let force_exclude = options.force_exclude;
    // Only files named one by one (and standard input) are checked against their project; a
    // run over folders sees what it is given.
    let named_files = match &input {
        Input::Paths(paths) => paths.iter().all(|path| !path.is_dir()),
        Input::Source { .. } => true,
    };
    let over_folders = match &input {
        Input::Paths(paths) => !paths.is_empty() && paths.iter().all(|path| path.is_dir()),
        Input::Source { .. } => false,
    };
    let mut unreadable = Vec::new();
    let mut files: Vec<(PathBuf, Option<String>)> = match input {
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
    // Files named one by one (as pre-commit names the changed ones) are checked against the rest
    // of their project: those files are analysed for what they share (the summaries), and their
    // own findings are not reported.
    let named = files.len();
    if options.project_context && named_files {
        let context = project_context(&files, settings);
        files.extend(context.into_iter().map(|path| (path, None)));
    }
    Jobs {
        files,
        named,
        unreadable,
        over_folders,
    }
}

/// Every file of the run analysed, linked across the project.
fn analyse_all(
    input: Input,
    settings: &dyn SettingsSource,
    options: &RunOptions,
    counters: &Counters,
) -> Vec<Analysis> {
    analyse_jobs(jobs(input, settings, options), settings, options, counters)
}

/// [`analyse_all`] of the files already found.
fn analyse_jobs(
    jobs: Jobs,
    settings: &dyn SettingsSource,
    options: &RunOptions,
    counters: &Counters,
) -> Vec<Analysis> {
    let Jobs {
        files,
        named,
        unreadable,
        ..
    } = jobs;
    let mut analyses: Vec<Analysis> = pool().install(|| {
        files
            .into_iter()
            .enumerate()
            .par_bridge()
            .map(|(i, (path, source))| {
                let file_settings = settings.settings_for(&path);
                let pass = if options.no_prefilter {
                    Pass::Unfiltered
                } else {
                    Pass::First
                };
                let mut analysis =
                    analyse(path, source, file_settings, options.cache, counters, pass);
                analysis.context = i >= named;
                analysis.drop_text_if_done();
                analysis
            })
            .collect()
    });
    // Folders that could not be read are reported like files that could not be read.
    for (path, reason) in unreadable {
        let message = format!("Failed to read {}: {reason}", display_path(&path));
        let problem =
            Diagnostic::problem(Problem::IoError, Severity::Error, Span::new(0, 0), message);
        let file_settings = settings.settings_for(&path);
        analyses.push(Analysis::without_text(path, vec![problem], file_settings));
    }
    link(analyses, settings, options.cache, counters)
}

/// The project-wide step: joins what each file defines at module level into a project index,
/// and analyses again, with the index, every file that imports one of those objects. Files the
/// prefilter skipped may still re-export a project object (`from .locks import LOCK` in a
/// package's `__init__.py`) or use one without naming any concurrency API: those that mention a
/// module the index exports through are analysed too, round by round, as the index grows.
fn link(
    mut analyses: Vec<Analysis>,
    settings: &dyn SettingsSource,
    cache: Option<&Cache>,
    counters: &Counters,
) -> Vec<Analysis> {
    const MAX_ROUNDS: usize = 8;
    let mut unfiltered: Vec<bool> = vec![false; analyses.len()];
    // Skipped files already searched for the names of an earlier round: they need searching
    // only for the names added since.
    let mut searched: Vec<bool> = vec![false; analyses.len()];
    let mut known_names: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Answers of earlier runs: a skipped file whose text and searched names are unchanged is
    // not read again to find that it names none of them.
    let stored_answers = cache.map(Cache::name_answers).unwrap_or_default();
    let mut answers: rustc_hash::FxHashMap<u64, bool> = rustc_hash::FxHashMap::default();
    let mut index = ProjectIndex::new(analyses.iter().filter_map(|a| a.summary.as_ref()));
    for _ in 0..MAX_ROUNDS {
        if index.is_empty() {
            break;
        }
        let used = index.used_names();
        let added: Vec<&str> = used
            .iter()
            .copied()
            .filter(|name| !known_names.contains(*name))
            .collect();
        // Built on first use: a run whose answers are all stored searches nothing.
        let all_names = std::sync::OnceLock::new();
        let new_names = std::sync::OnceLock::new();
        let (all_key, new_key) = (Cache::names_key(&used), Cache::names_key(&added));
        known_names.extend(added.iter().map(std::string::ToString::to_string));
        // Only files that import a module leading to a project object are read again, and
        // analysed when they name one of its locks.
        let round: Vec<(usize, u64, bool, Option<String>)> = pool().install(|| {
            analyses
                .par_iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    let skipped = a.prefiltered.as_ref()?;
                    if unfiltered[i]
                        || searched[i] && added.is_empty()
                        || !skipped.imports.iter().any(|m| index.reaches(m))
                    {
                        return None;
                    }
                    let (names, words, key) = if searched[i] {
                        (&new_names, &added, new_key)
                    } else {
                        (&all_names, &used, all_key)
                    };
                    let key = Cache::answer_key(key, skipped.text_hash);
                    if stored_answers.get(&key) == Some(&false) {
                        return Some((i, key, false, None));
                    }
                    let text = read_source(&a.report.path).ok()?;
                    let names =
                        names.get_or_init(|| crate::prefilter::Names::new(words.iter().copied()));
                    let found = names.any_in(&text);
                    Some((i, key, found, found.then_some(text)))
                })
                .collect()
        });
        let round: Vec<(usize, String)> = round
            .into_iter()
            .filter_map(|(i, key, found, text)| {
                searched[i] = true;
                answers.insert(key, found);
                text.map(|text| (i, text))
            })
            .collect();
        if round.is_empty() {
            break;
        }
        let redone: Vec<(usize, Analysis)> = pool().install(|| {
            round
                .into_par_iter()
                .map(|(i, text)| {
                    let path = analyses[i].report.path.clone();
                    let file_settings = settings.settings_for(&path);
                    let pass = Pass::Unfiltered;
                    (
                        i,
                        analyse(path, Some(text), file_settings, cache, counters, pass),
                    )
                })
                .collect()
        });
        for (i, mut analysis) in redone {
            unfiltered[i] = true;
            analysis.context = analyses[i].context;
            analysis.drop_text_if_done();
            analyses[i] = analysis;
        }
        index = ProjectIndex::new(analyses.iter().filter_map(|a| a.summary.as_ref()));
    }
    if let Some(cache) = cache {
        if answers != stored_answers {
            cache.store_name_answers(&answers);
        }
    }
    // Files whose looked-up names the index resolves are analysed with it, unless the cache
    // already holds that analysis for the same answers; a cached linked analysis whose names no
    // longer resolve is done again on its own.
    let relink: Vec<(usize, Option<u64>)> = analyses
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let summary = a.summary.as_ref()?;
            if index.resolves_any(&summary.lookups) {
                let fingerprint = index.fingerprint(&summary.lookups);
                (a.linked != Some(fingerprint)).then_some((i, Some(fingerprint)))
            } else {
                a.linked.is_some().then_some((i, None))
            }
        })
        .collect();
    let redone: Vec<(usize, Analysis)> = pool().install(|| {
        relink
            .into_par_iter()
            .map(|(i, fingerprint)| {
                let path = analyses[i].report.path.clone();
                let text = if analyses[i].text_dropped {
                    read_source(&path).unwrap_or_default()
                } else {
                    analyses[i].report.source.to_string()
                };
                let file_settings = settings.settings_for(&path);
                let analysis = match fingerprint {
                    Some(fingerprint) => {
                        let pass = Pass::Linked(&index, fingerprint);
                        analyse(path, Some(text), file_settings, cache, counters, pass)
                    }
                    None => analyse(
                        path,
                        Some(text),
                        file_settings,
                        None,
                        counters,
                        Pass::Unfiltered,
                    ),
                };
                (i, analysis)
            })
            .collect()
    });
    for (i, mut analysis) in redone {
        analysis.context = analyses[i].context;
        analysis.drop_text_if_done();
        analyses[i] = analysis;
    }
    analyses
}

/// Which look at a file [`analyse`] takes.
#[derive(Clone, Copy)]
pub(crate) enum Pass<'a> {
    /// On its own, skipped when the prefilter finds nothing to analyse.
    First,
    /// On its own, parsed whatever the prefilter says.
    Unfiltered,
    /// With the project index, whose answers for the file's lookups have the given
    /// fingerprint; parsed whatever the prefilter says.
    Linked(&'a ProjectIndex, u64),
}

impl<'a> Pass<'a> {
    fn index(self) -> Option<&'a ProjectIndex> {
        match self {
            Pass::Linked(index, _) => Some(index),
            _ => None,
        }
    }
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

/// The summaries of `analyses` (sorted by path) as the whole-program pass takes them:
/// `(file index, display path, summary)`.
fn summaries_of<'a>(
    analyses: &'a [Analysis],
    paths: &'a [String],
) -> Vec<(usize, &'a str, &'a LockSummary)> {
    analyses
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.summary.as_ref().map(|s| (i, paths[i].as_str(), s)))
        .collect()
}

/// The whole-program pass, suppressions and ordering.
pub(crate) fn finish(analyses: Vec<Analysis>) -> Report {
    finish_with(analyses, &[])
}

/// [`finish`], with the lock-order summaries of files that are not analysed in this run
/// (`(display path, summary)`): their locks take part in the whole-program pass, their
/// findings are not reported.
pub(crate) fn finish_with(mut analyses: Vec<Analysis>, others: &[(&str, &LockSummary)]) -> Report {
    analyses.sort_by(|a, b| a.report.path.cmp(&b.report.path));
    {
        let paths: Vec<String> = analyses.iter().map(|a| a.report.display_path()).collect();
        let mut summaries = summaries_of(&analyses, &paths);
        let analysed = analyses.len();
        summaries.extend(
            others
                .iter()
                .enumerate()
                .map(|(i, (path, summary))| (analysed + i, *path, *summary)),
        );
        let findings = lock_order::check(&summaries);
        for (file, finding) in findings {
            if file >= analysed {
                continue;
            }
            let analysis = &mut analyses[file];
            if !analysis
                .settings
                .is_enabled_for(finding.code, &analysis.report.path)
            {
                continue;
            }
            let diagnostic = Diagnostic::from_finding(finding, &analysis.settings);
            analysis.report.diagnostics.push(diagnostic);
        }
        // A file that a trace passes through (a call on the way to a lock) may have had its
        // text dropped: it is read again so that the step can be located.
        let stepped: std::collections::HashSet<&str> = analyses
            .iter()
            .flat_map(|a| &a.report.diagnostics)
            .flat_map(|d| &d.traces)
            .flat_map(|t| &t.steps)
            .filter_map(|step| step.file.as_deref())
            .collect();
        let reread: Vec<usize> = (0..analysed)
            .filter(|&i| analyses[i].text_dropped && stepped.contains(paths[i].as_str()))
            .collect();
        for i in reread {
            if let Ok(text) = read_source(&analyses[i].report.path) {
                let analysis = &mut analyses[i];
                analysis.report.lines = Arc::new(LineIndex::new(&text));
                analysis.report.source = Arc::from(text);
                analysis.text_dropped = false;
            }
        }
    }
    analyses.retain(|analysis| !analysis.context);
    // Files that could be read (the others carry the diagnostic that says why not).
    let checked = analyses
        .iter()
        .filter(|a| {
            !a.report
                .diagnostics
                .iter()
                .any(|d| d.problem_kind().is_some_and(Problem::is_unreadable))
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
                        Problem::UnknownNoqaCode,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `x = y + y + ... + y`: deep enough to overflow an ordinary thread's stack while parsing.
    fn long_expression(terms: usize) -> String {
        let mut source = String::from("import threading\nlock = threading.Lock()\n\n\ndef f(y):\n    lock.acquire()\n    x = y");
        source.push_str(&" + y".repeat(terms - 1));
        source.push_str("\n    lock.release()\n    return x\n");
        source
    }

    #[test]
    fn a_panic_is_returned_as_an_error_and_the_caller_goes_on() {
        let result: Result<(), String> = run_isolated(|| panic!("lowering went wrong"));
        assert_eq!(result, Err("lowering went wrong".to_string()));
        assert_eq!(run_isolated(|| 2 + 2), Ok(4));
    }

    #[test]
    fn fixing_a_very_long_expression_runs_on_large_stacks() {
        let source = long_expression(250_000);
        let settings = Settings::default();
        // A thread with a small stack, as a caller of the library may have.
        let fixed = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || {
                crate::fixing::fix_source(Path::new("long.py"), &source, &settings, true)
            })
            .expect("a thread")
            .join()
            .expect("no crash");
        assert_eq!(fixed.error, None);
        assert_eq!(fixed.codes, vec!["TL001"]);
        assert!(fixed.source.contains("    with lock:\n        x = y + y"));
    }
}
