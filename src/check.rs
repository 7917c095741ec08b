//! `threadlint check`: resolve settings, run the pipeline, print, fix, choose the exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use codespan_reporting::term::termcolor::{BufferWriter, ColorChoice};
use threadlint_analyzer::config::{self, ConfigError, Overrides, Resolver, Source};
use threadlint_analyzer::engine::{self, Input, RunOptions, SettingsSource};
use threadlint_analyzer::fixing::fix_source;
use threadlint_analyzer::selection::{RuleSelection, Selector};
use threadlint_analyzer::{Problem, Report};
use threadlint_rules::Applicability;

use crate::render::{self, OutputFormat};

/// Options that decide where settings come from (shared by `check` and `config`).
#[derive(Args, Clone)]
pub struct ConfigArgs {
    /// A configuration file to use for every file, or a setting as TOML
    /// (`--config "missing-timeout.strict = true"`). May be repeated.
    #[arg(long, value_name = "PATH | KEY = VALUE")]
    config: Vec<String>,
    /// Ignore every configuration file.
    #[arg(long)]
    isolated: bool,
    /// Rules to enable (codes, prefixes, names or `ALL`), comma-separated; replaces the
    /// configured selection.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Rules to disable, on top of the configured ones.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    extend_select: Vec<String>,
    /// Glob patterns of files and folders to exclude, on top of the configured ones.
    #[arg(long, value_delimiter = ',', value_name = "GLOBS")]
    extend_exclude: Vec<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Files or folders to check.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
    /// How to print diagnostics (default: `full`, or `output-format` from the configuration).
    #[arg(long, value_enum)]
    output_format: Option<OutputFormat>,
    /// Write the diagnostics to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    output_file: Option<PathBuf>,
    /// Apply safe fixes.
    #[arg(long)]
    fix: bool,
    /// Also apply (and mark as fixable) unsafe fixes.
    #[arg(long)]
    unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of writing them.
    #[arg(long)]
    diff: bool,
    /// Exit with 0 even when there are findings.
    #[arg(long)]
    exit_zero: bool,
    /// Print diagnostics only, no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Print a count of findings per rule instead of the findings.
    #[arg(long)]
    statistics: bool,
    /// Apply configured excludes to files named on the command line too (for pre-commit).
    #[arg(long)]
    force_exclude: bool,
    /// Read the source from standard input; report it under this path (and find the
    /// configuration from it). With `--fix`, the fixed source is written to standard output.
    #[arg(long, value_name = "PATH")]
    stdin_filename: Option<PathBuf>,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file (and exit 0).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    write_baseline: Option<PathBuf>,
    /// Do not read or write the cache.
    #[arg(long)]
    no_cache: bool,
    /// Check files named one by one on their own. By default the rest of their project (the
    /// nearest folder with `.git`, `pyproject.toml`, `setup.py`, `setup.cfg` or `Cargo.toml`) is
    /// analysed too, for lock order across files and objects imported from them; only the named
    /// files are reported.
    #[arg(long)]
    no_project_context: bool,
    /// Parse every file, also those that name no concurrency API (slower; the findings are the
    /// same).
    #[arg(long, hide = true)]
    no_prefilter: bool,
    /// Where to keep the cache.
    #[arg(long, value_name = "DIR", default_value = threadlint_analyzer::cache::DEFAULT_DIR)]
    cache_dir: PathBuf,
    /// Add `# noqa: CODE` comments for the current findings.
    #[arg(long, conflicts_with_all = ["fix", "diff"])]
    add_noqa: bool,
    /// With `--fix`, list the fixes applied.
    #[arg(long)]
    show_fixes: bool,
    /// Exit with 1 if any fix was applied, even when nothing is left.
    #[arg(long)]
    exit_non_zero_on_fix: bool,
    /// Say how many files were parsed and how many came from the cache.
    #[arg(long, short)]
    verbose: bool,
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn selectors(list: &[String]) -> Result<Vec<Selector>, String> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Selector::parse(s))
        .collect()
}

impl ConfigArgs {
    /// The settings resolver these options describe.
    pub fn resolver(&self) -> Result<Resolver, String> {
        let mut source = if self.isolated {
            Source::Isolated
        } else {
            Source::Discover
        };
        let mut inline = toml::Table::new();
        for value in &self.config {
            let path = Path::new(value);
            if path.is_file() {
                let file = config::load(path)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{value}: no [tool.threadlint] table"))?;
                source = Source::File(Arc::new(file));
                continue;
            }
            let table: toml::Table = value.parse().map_err(|e| {
                format!("--config `{value}` is neither a file nor a TOML `key = value`: {e}")
            })?;
            merge(&mut inline, table);
        }
        let inline =
            config::parse_options(Path::new("--config"), &inline).map_err(|e| e.to_string())?;
        let overrides = Overrides {
            select: self.select.as_deref().map(selectors).transpose()?,
            extend_select: selectors(&self.extend_select)?,
            ignore: selectors(&self.ignore)?,
            inline,
            extend_exclude: self.extend_exclude.clone(),
        };
        Ok(Resolver::new(source, overrides))
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(inner)) => {
                merge(existing, inner);
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn config_errors(errors: &[ConfigError]) -> Option<ExitCode> {
    if errors.is_empty() {
        return None;
    }
    for error in errors {
        eprintln!("error: {error}");
    }
    Some(ExitCode::from(2))
}

pub fn run(mut args: CheckArgs) -> ExitCode {
    // A named path that does not exist is the user's mistake, not a file to report on: say so
    // plainly, check the paths that do exist, and exit with 2.
    let missing: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|path| std::fs::symlink_metadata(path).is_err())
        .cloned()
        .collect();
    for path in &missing {
        eprintln!("error: {}: no such file or directory", path.display());
    }
    if !missing.is_empty() {
        args.paths.retain(|path| !missing.contains(path));
        if args.paths.is_empty() {
            return ExitCode::from(2);
        }
    }
    let code = run_paths(args);
    if missing.is_empty() {
        code
    } else {
        ExitCode::from(2)
    }
}

fn run_paths(args: CheckArgs) -> ExitCode {
    let resolver = match args.config.resolver() {
        Ok(resolver) => resolver,
        Err(e) => return usage_error(&e),
    };
    let first = args
        .stdin_filename
        .clone()
        .or_else(|| args.paths.first().cloned())
        .unwrap_or_else(|| PathBuf::from("."));
    let configured_format = resolver.resolved_for(&first).output_format.clone();
    let format = match (args.output_format, configured_format) {
        (Some(format), _) => format,
        (None, Some(name)) => match <OutputFormat as clap::ValueEnum>::from_str(&name, true) {
            Ok(format) => format,
            Err(_) => return usage_error(&format!("unknown output-format `{name}`")),
        },
        (None, None) => OutputFormat::Full,
    };
    if let Some(code) = config_errors(&resolver.errors()) {
        return code;
    }

    if let Some(path) = args.stdin_filename.clone() {
        return run_stdin(&args, &resolver, path, format);
    }

    let cache = if args.no_cache || args.diff || args.fix || args.add_noqa {
        None
    } else {
        threadlint_analyzer::cache::Cache::open(&args.cache_dir)
    };
    let options = RunOptions {
        project_context: !args.no_project_context,
        no_prefilter: args.no_prefilter,
        force_exclude: args.force_exclude,
        cache: cache.as_ref(),
    };

    if args.add_noqa {
        return add_noqa(&args, &resolver, &options);
    }

    let mut fixed = 0;
    let mut fixed_codes: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut diff_output = String::new();
    let mut fix_errors = Vec::new();
    let mut withheld = 0;
    if args.fix || args.diff {
        let files =
            threadlint_analyzer::discover::files(&args.paths, &resolver, args.force_exclude);
        for path in files {
            let Ok(source) = engine::read_source(&path) else {
                continue;
            };
            let settings = resolver.settings_for(&path);
            let result = fix_source(&path, &source, &settings, args.unsafe_fixes);
            if let Some(error) = &result.error {
                fix_errors.push(format!(
                    "Failed to fix {}: {error}",
                    engine::display_path(&path)
                ));
            }
            withheld += result.withheld;
            if result.fixed == 0 {
                continue;
            }
            fixed += result.fixed;
            let per_file = fixed_codes.entry(engine::display_path(&path)).or_default();
            for code in &result.codes {
                *per_file.entry(code).or_default() += 1;
            }
            if args.diff {
                diff_output.push_str(&unified_diff(&path, &source, &result.source));
            } else if let Err(e) = std::fs::write(&path, &result.source) {
                fix_errors.push(format!("Failed to write {}: {e}", path.display()));
            }
        }
    }
    if let Some(code) = config_errors(&resolver.errors()) {
        return code;
    }
    if !args.quiet {
        print_withheld(withheld);
    }
    if args.diff {
        let _ = std::io::stdout().lock().write_all(diff_output.as_bytes());
        for error in &fix_errors {
            eprintln!("error: {error}");
        }
        if !args.quiet {
            eprintln!(
                "Would fix {fixed} problem{}{}.",
                plural(fixed),
                match (fixed > 0, args.unsafe_fixes) {
                    (false, _) => "",
                    (true, false) => " (run with --fix to apply)",
                    (true, true) => " (run with --fix --unsafe-fixes to apply)",
                }
            );
        }
        return if !fix_errors.is_empty() {
            ExitCode::from(2)
        } else if fixed > 0 && !args.exit_zero {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }

    let mut report = engine::check_with(Input::Paths(args.paths.clone()), &resolver, &options);
    if let Some(code) = config_errors(&resolver.errors()) {
        return code;
    }
    for error in &fix_errors {
        eprintln!("error: {error}");
    }
    if args.verbose {
        eprintln!(
            "Checked {} file{}: {} parsed, {} from the cache, {} without any concurrency API (not parsed).",
            report.checked,
            plural(report.checked),
            report.parsed,
            report.cached,
            report.checked.saturating_sub(report.parsed + report.cached)
        );
    }
    if let Some(path) = &args.write_baseline {
        return match threadlint_analyzer::baseline::write(&report, path) {
            Ok(count) => {
                if !args.quiet {
                    eprintln!(
                        "Recorded {count} finding{} in {}.",
                        plural(count),
                        path.display()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(&e),
        };
    }
    if let Some(path) = &args.baseline {
        match threadlint_analyzer::baseline::apply(&mut report, path) {
            Ok(hidden) => {
                if !args.quiet && hidden > 0 {
                    eprintln!(
                        "{hidden} finding{} hidden by the baseline {}.",
                        plural(hidden),
                        path.display()
                    );
                }
            }
            Err(e) => return usage_error(&e),
        }
    }
    if args.show_fixes && fixed > 0 {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "Fixed {fixed} problem{}:", plural(fixed));
        for (path, codes) in &fixed_codes {
            let _ = writeln!(err, "{path}:");
            for (code, count) in codes {
                let name = threadlint_rules::registry::find(code).map_or("", |r| r.name);
                let _ = writeln!(err, "    {count} × {code} ({name})");
            }
        }
    }
    let code = finish(&args, &report, format, fixed, !fix_errors.is_empty());
    if args.exit_non_zero_on_fix && fixed > 0 && code == ExitCode::SUCCESS {
        return ExitCode::from(1);
    }
    code
}

/// `--add-noqa`: suppress every current finding in place.
fn add_noqa(args: &CheckArgs, resolver: &Resolver, options: &RunOptions) -> ExitCode {
    let report = engine::check_with(Input::Paths(args.paths.clone()), resolver, options);
    let mut added = 0;
    for file in &report.files {
        let (source, changed) = threadlint_analyzer::noqa::add(file);
        if changed == 0 {
            continue;
        }
        if let Err(e) = std::fs::write(&file.path, source) {
            eprintln!("error: failed to write {}: {e}", file.path.display());
            return ExitCode::from(2);
        }
        added += changed;
    }
    if !args.quiet {
        eprintln!("Added {added} noqa comment{}.", plural(added));
    }
    ExitCode::SUCCESS
}

fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let shown = engine::display_path(path);
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .header(&shown, &shown)
        .to_string()
}

/// `--stdin-filename`: one source from standard input.
fn run_stdin(
    args: &CheckArgs,
    resolver: &Resolver,
    path: PathBuf,
    format: OutputFormat,
) -> ExitCode {
    let mut source = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut source) {
        return usage_error(&format!("failed to read standard input: {e}"));
    }
    let settings = resolver.settings_for(&path);
    if args.fix || args.diff {
        let result = fix_source(&path, &source, &settings, args.unsafe_fixes);
        if let Some(error) = &result.error {
            eprintln!(
                "error: Failed to fix {}: {error}",
                engine::display_path(&path)
            );
        }
        let mut out = std::io::stdout().lock();
        let _ = if args.diff {
            out.write_all(unified_diff(&path, &source, &result.source).as_bytes())
        } else {
            out.write_all(result.source.as_bytes())
        };
        let options = RunOptions {
            project_context: !args.no_project_context,
            no_prefilter: args.no_prefilter,
            force_exclude: args.force_exclude,
            cache: None,
        };
        let report = engine::check_with(
            Input::Source {
                path,
                text: result.source,
            },
            resolver,
            &options,
        );
        if !args.quiet && result.fixed > 0 {
            eprintln!("Fixed {} problem{}.", result.fixed, plural(result.fixed));
        }
        if !args.quiet {
            print_withheld(result.withheld);
        }
        let remaining = report.diagnostics().count();
        let failed = result.error.is_some() || has_internal_error(&report);
        return if failed {
            ExitCode::from(2)
        } else if remaining > 0 && !args.exit_zero {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    let options = RunOptions {
        project_context: !args.no_project_context,
        no_prefilter: args.no_prefilter,
        force_exclude: args.force_exclude,
        cache: None,
    };
    let mut report = engine::check_with(Input::Source { path, text: source }, resolver, &options);
    if let Some(baseline) = &args.baseline {
        if let Err(e) = threadlint_analyzer::baseline::apply(&mut report, baseline) {
            return usage_error(&e);
        }
    }
    finish(args, &report, format, 0, false)
}

fn finish(
    args: &CheckArgs,
    report: &Report,
    format: OutputFormat,
    fixed: usize,
    write_failed: bool,
) -> ExitCode {
    let printed = if args.statistics {
        print_statistics(report, args.unsafe_fixes)
    } else {
        print_report(report, format, args.unsafe_fixes, args.output_file.as_ref())
    };
    // A reader that went away (`| head`) has all it wanted: no error, and no summary after it.
    let reader_gone = match printed {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
        Err(e) => {
            eprintln!("error: failed to write output: {e}");
            return ExitCode::from(2);
        }
        Ok(()) => false,
    };
    if !args.quiet && !reader_gone && (!format.is_machine() || args.output_file.is_some()) {
        print_summary(report, fixed, args.unsafe_fixes);
    }
    let io_error = report
        .diagnostics()
        .any(|(_, d)| d.problem_kind() == Some(Problem::IoError))
        || has_internal_error(report)
        || write_failed;
    let findings = report.diagnostics().count();
    if io_error {
        ExitCode::from(2)
    } else if findings > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Says how many fixes were not applied because the fixed code would have been worse.
fn print_withheld(withheld: usize) {
    if withheld > 0 {
        eprintln!(
            "{withheld} fix{} not applied: the fixed code would deadlock, raise, or release a lock differently on some path.",
            if withheld == 1 { " was" } else { "es were" }
        );
    }
}

/// threadlint failed on some file, which was therefore not checked: the run cannot pass.
fn has_internal_error(report: &Report) -> bool {
    report
        .diagnostics()
        .any(|(_, d)| d.problem_kind() == Some(Problem::InternalError))
}

fn print_report(
    report: &Report,
    format: OutputFormat,
    unsafe_fixes: bool,
    output_file: Option<&PathBuf>,
) -> std::io::Result<()> {
    if let Some(path) = output_file {
        let mut buffer = Vec::new();
        render::write(report, format, unsafe_fixes, &mut buffer)?;
        return std::fs::write(path, buffer);
    }
    if format == OutputFormat::Full {
        let choice = if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            ColorChoice::Auto
        } else {
            ColorChoice::Never
        };
        let writer = BufferWriter::stdout(choice);
        let mut buffer = writer.buffer();
        render::human::full(report, unsafe_fixes, &mut buffer)?;
        return writer.print(&buffer);
    }
    // Rendered first, written after: a closed pipe then shows as `BrokenPipe`, whatever the
    // format's writer would have wrapped it in.
    let mut buffer = Vec::new();
    render::write(report, format, unsafe_fixes, &mut buffer)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&buffer)?;
    out.flush()
}

fn print_statistics(report: &Report, unsafe_fixes: bool) -> std::io::Result<()> {
    let mut counts: BTreeMap<String, (usize, &str, bool)> = BTreeMap::new();
    for (_, diagnostic) in report.diagnostics() {
        let label = diagnostic.code.unwrap_or(diagnostic.name).to_string();
        let fixable = diagnostic
            .fix
            .as_ref()
            .is_some_and(|f| f.applicability.is_applied(unsafe_fixes));
        let entry = counts.entry(label).or_insert((0, diagnostic.name, false));
        entry.0 += 1;
        entry.2 |= fixable;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let width = rows
        .iter()
        .map(|r| r.1 .0.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = std::io::stdout().lock();
    for (label, (count, name, fixable)) in rows {
        writeln!(
            out,
            "{count:>width$}\t{label}\t{}{name}",
            if fixable { "[*] " } else { "    " }
        )?;
    }
    out.flush()
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn print_summary(report: &Report, fixed: usize, unsafe_fixes: bool) {
    let total = report.diagnostics().count();
    let files = report
        .files
        .iter()
        .filter(|f| !f.diagnostics.is_empty())
        .count();
    let fixable = report
        .diagnostics()
        .filter(|(_, d)| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability.is_applied(unsafe_fixes))
        })
        .count();
    let hidden_unsafe = report
        .diagnostics()
        .filter(|(_, d)| {
            !unsafe_fixes
                && d.fix
                    .as_ref()
                    .is_some_and(|f| f.applicability == Applicability::Unsafe)
        })
        .count();
    let mut err = std::io::stderr().lock();
    if fixed > 0 {
        let _ = writeln!(err, "Fixed {fixed} problem{}.", plural(fixed));
    }
    if total == 0 {
        if fixed == 0 {
            let _ = writeln!(
                err,
                "All checks passed! ({} file{} checked)",
                report.checked,
                plural(report.checked)
            );
        }
        return;
    }
    let mut line = format!(
        "Found {total} problem{} in {files} file{}",
        plural(total),
        plural(files)
    );
    if fixable > 0 {
        line.push_str(&format!(" ({fixable} fixable with --fix)"));
    }
    line.push('.');
    let _ = writeln!(err, "{line}");
    if hidden_unsafe > 0 {
        let _ = writeln!(
            err,
            "{hidden_unsafe} more fix{} available with `--fix --unsafe-fixes`.",
            if hidden_unsafe == 1 { " is" } else { "es are" }
        );
    }
}

/// `threadlint config [PATH]`: the settings that apply to a path, and where they come from.
pub fn show_config(config: ConfigArgs, path: PathBuf) -> ExitCode {
    let resolver = match config.resolver() {
        Ok(resolver) => resolver,
        Err(e) => return usage_error(&e),
    };
    let resolved = resolver.resolved_for(&path);
    if let Some(code) = config_errors(&resolver.errors()) {
        return code;
    }
    let settings = &resolved.settings;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("path: {}", path.display()));
    match &resolved.file {
        Some(file) => line(format!("configuration: {}", file.path.display())),
        None => line("configuration: none (defaults)".to_string()),
    }
    // The rules reported for this path: the selection less what per-file ignores take away
    // (for a folder, no per-file pattern names it, so this is the selection).
    let selected = settings.selection.codes();
    let (applied, ignored): (Vec<&str>, Vec<&str>) = selected
        .iter()
        .partition(|code| settings.is_enabled_for(code, &path));
    line(format!("rules: {}", applied.join(", ")));
    if !ignored.is_empty() {
        line(format!(
            "ignored by per-file-ignores: {}",
            ignored.join(", ")
        ));
    }
    line(format!(
        "missing-timeout.strict: {}",
        settings.rules.missing_timeout_strict
    ));
    for (code, severity) in &settings.severity {
        line(format!("severity.{code}: {}", severity.as_str()));
    }
    for entry in &settings.per_file_ignores {
        let codes = RuleSelection::resolve(Some(&entry.rules), &[], &[]);
        line(format!(
            "per-file-ignores.\"{}\": {}",
            entry.pattern,
            codes.codes().join(", ")
        ));
    }
    line(format!("respect-gitignore: {}", resolved.respect_gitignore));
    line(format!(
        "output-format: {}",
        resolved.output_format.as_deref().unwrap_or("full")
    ));
    line(format!("excluded: {}", resolver.is_excluded(&path)));
    crate::print_stdout(&out)
}
