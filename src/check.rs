//! `threadlint check`: run the pipeline, print, fix, and choose the exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use codespan_reporting::term::termcolor::{BufferWriter, ColorChoice};
use threadlint_analyzer::engine::{self, fix_source, Input, Settings};
use threadlint_analyzer::selection::{RuleSelection, Selector};
use threadlint_analyzer::Report;
use threadlint_rules::{Applicability, RuleSettings};

use crate::render::{self, OutputFormat};

#[derive(Args)]
pub struct CheckArgs {
    /// Files or folders to check.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Rules to enable (codes, prefixes, names or `ALL`), comma-separated; replaces the default
    /// of every rule.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Rules to disable.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    extend_select: Vec<String>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "full")]
    output_format: OutputFormat,
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
    /// A setting as TOML, e.g. `--config "missing-timeout.strict = true"`.
    #[arg(long, value_name = "KEY = VALUE")]
    config: Vec<String>,
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn selectors(list: &[String]) -> Result<Vec<Selector>, String> {
    list.iter().filter(|s| !s.trim().is_empty()).map(|s| Selector::parse(s)).collect()
}

fn rule_settings(overrides: &[String]) -> Result<RuleSettings, String> {
    let mut settings = RuleSettings::default();
    for text in overrides {
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("--config `{text}` is not a TOML `key = value`: {e}"))?;
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("missing-timeout", toml::Value::Table(inner)) => {
                    for (key, value) in inner {
                        match (key.as_str(), value) {
                            ("strict", toml::Value::Boolean(b)) => settings.missing_timeout_strict = *b,
                            ("strict", _) => {
                                return Err("`missing-timeout.strict` takes `true` or `false`".into())
                            }
                            (other, _) => {
                                return Err(format!(
                                    "unknown setting `missing-timeout.{other}`: the only one is `missing-timeout.strict`"
                                ))
                            }
                        }
                    }
                }
                (other, _) => {
                    return Err(format!(
                        "unknown setting `{other}`: the settings are `missing-timeout.strict`"
                    ))
                }
            }
        }
    }
    Ok(settings)
}

pub fn run(args: CheckArgs) -> ExitCode {
    let selection = match (
        args.select.as_deref().map(selectors).transpose(),
        selectors(&args.extend_select),
        selectors(&args.ignore),
    ) {
        (Ok(select), Ok(extend), Ok(ignore)) => {
            RuleSelection::resolve(select.as_deref(), &extend, &ignore)
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return usage_error(&e),
    };
    let rules = match rule_settings(&args.config) {
        Ok(rules) => rules,
        Err(e) => return usage_error(&e),
    };
    let settings = Settings { selection, rules };

    let mut fixed = 0;
    let mut diff_output = String::new();
    let mut fix_errors = Vec::new();
    if args.fix || args.diff {
        let files = threadlint_analyzer::discover::files(&args.paths);
        for path in files {
            let Ok(source) = engine::read_source(&path) else { continue };
            let result = fix_source(&path, &source, &settings, args.unsafe_fixes);
            if result.fixed == 0 {
                continue;
            }
            fixed += result.fixed;
            if args.diff {
                let shown = engine::display_path(&path);
                let diff = similar::TextDiff::from_lines(&source, &result.source);
                diff_output.push_str(
                    &diff
                        .unified_diff()
                        .header(&shown, &shown)
                        .to_string(),
                );
            } else if let Err(e) = std::fs::write(&path, &result.source) {
                fix_errors.push(format!("Failed to write {}: {e}", path.display()));
            }
        }
    }

    let report = if args.diff {
        None
    } else {
        Some(engine::check(Input::Paths(args.paths.clone()), &settings))
    };
    let stdout = std::io::stdout();
    if args.diff {
        let mut out = stdout.lock();
        let _ = out.write_all(diff_output.as_bytes());
        if !args.quiet {
            eprintln!(
                "Would fix {fixed} problem{}{}.",
                plural(fixed),
                if fixed > 0 { " (run with --fix to apply)" } else { "" }
            );
        }
        return if fixed > 0 && !args.exit_zero { ExitCode::from(1) } else { ExitCode::SUCCESS };
    }
    let report = report.unwrap_or_default();
    for error in &fix_errors {
        eprintln!("error: {error}");
    }

    let printed = if args.statistics {
        print_statistics(&report, args.unsafe_fixes)
    } else {
        print_report(&report, args.output_format, args.unsafe_fixes)
    };
    if let Err(e) = printed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: failed to write output: {e}");
            return ExitCode::from(2);
        }
    }
    if !args.quiet && args.output_format != OutputFormat::Json {
        print_summary(&report, fixed, args.unsafe_fixes);
    }

    let io_error = report.diagnostics().any(|(_, d)| d.name == "io-error") || !fix_errors.is_empty();
    let findings = report.diagnostics().count();
    if io_error {
        ExitCode::from(2)
    } else if findings > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_report(report: &Report, format: OutputFormat, unsafe_fixes: bool) -> std::io::Result<()> {
    match format {
        OutputFormat::Full => {
            let choice = if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
                ColorChoice::Auto
            } else {
                ColorChoice::Never
            };
            let writer = BufferWriter::stdout(choice);
            let mut buffer = writer.buffer();
            render::full(report, unsafe_fixes, &mut buffer)?;
            writer.print(&buffer)
        }
        OutputFormat::Concise => render::concise(report, unsafe_fixes, &mut std::io::stdout().lock()),
        OutputFormat::Json => render::json(report, &mut std::io::stdout().lock()),
    }
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
    let width = rows.iter().map(|r| r.1 .0.to_string().len()).max().unwrap_or(1);
    let mut out = std::io::stdout().lock();
    for (label, (count, name, fixable)) in rows {
        writeln!(
            out,
            "{count:>width$}\t{label}\t{}{name}",
            if fixable { "[*] " } else { "    " }
        )?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn print_summary(report: &Report, fixed: usize, unsafe_fixes: bool) {
    let total = report.diagnostics().count();
    let files = report.files.iter().filter(|f| !f.diagnostics.is_empty()).count();
    let fixable = report
        .diagnostics()
        .filter(|(_, d)| d.fix.as_ref().is_some_and(|f| f.applicability.is_applied(unsafe_fixes)))
        .count();
    let hidden_unsafe = report
        .diagnostics()
        .filter(|(_, d)| {
            !unsafe_fixes && d.fix.as_ref().is_some_and(|f| f.applicability == Applicability::Unsafe)
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
