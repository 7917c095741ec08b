//! The rule fixtures: every file under `fixtures/<language>/` is named after one rule
//! (`TL002_wait_not_in_loop.py`) and marks each line where that rule must report with a trailing
//! `# expect: TL002` comment (`// expect: TL002` in Rust). Every other line must stay silent:
//! those are the look-alike negatives. A sibling `<name>.fixed.<ext>` holds the source after
//! `--fix --unsafe-fixes`.
//!
//! Each fixture is its own test, so a failure names its file. Beside the markers, each has two
//! snapshots (`tests/snapshots/fixtures__*`): the concise output and the diff of its fixes. The
//! harness also fails on a finding reported twice on one line, on a fix whose edits do not
//! apply or add a syntax error, on a fix from a rule whose documentation has no `## Fix`
//! section, and on fixing that has not converged within the allowed rounds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use threadlint_analyzer::engine::{check, fix_source, parse, Input, Settings};
use threadlint_analyzer::fix::apply_edits;
use threadlint_analyzer::selection::{RuleSelection, Selector};
use threadlint_analyzer::Diagnostic;
use threadlint_rules::model::Language;
use threadlint_rules::RuleSettings;

/// One `#[test]` per fixture file, and the list of them all.
macro_rules! fixtures {
    ($($test:ident => $file:literal,)*) => {
        const FIXTURES: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $test() {
                run_fixture($file);
            }
        )*
    };
}

fixtures! {
    python_tl001_bare_acquire => "python/TL001_bare_acquire.py",
    python_tl002_wait_not_in_loop => "python/TL002_wait_not_in_loop.py",
    python_tl003_sleep_polling => "python/TL003_sleep_polling.py",
    python_tl004_lock_order_inversion => "python/TL004_lock_order_inversion.py",
    python_tl005_missing_timeout => "python/TL005_missing_timeout.py",
    python_tl005_missing_timeout_strict => "python/TL005_missing_timeout_strict.py",
    python_tl005_missing_timeout_network => "python/TL005_missing_timeout_network.py",
    python_tl005_missing_timeout_network_strict => "python/TL005_missing_timeout_network_strict.py",
    python_tl006_unsynchronized_shared_update => "python/TL006_unsynchronized_shared_update.py",
    python_tl007_nonreentrant_reacquire => "python/TL007_nonreentrant_reacquire.py",
    python_tl008_sleep_synchronization => "python/TL008_sleep_synchronization.py",
    python_tl009_blocking_under_lock => "python/TL009_blocking_under_lock.py",
    python_tl010_useless_lock => "python/TL010_useless_lock.py",
    python_tl011_unlocked_notify_or_wait => "python/TL011_unlocked_notify_or_wait.py",
    python_tl012_thread_run_called => "python/TL012_thread_run_called.py",
    python_tl013_daemon_after_start => "python/TL013_daemon_after_start.py",
    python_tl014_thread_leak => "python/TL014_thread_leak.py",
    python_tl015_check_then_act => "python/TL015_check_then_act.py",
    python_tl016_lost_exception => "python/TL016_lost_exception.py",
    python_tl018_lock_across_await => "python/TL018_lock_across_await.py",
    python_tl019_blocking_call_in_async => "python/TL019_blocking_call_in_async.py",
    python_tl019_blocking_call_in_async_io => "python/TL019_blocking_call_in_async_io.py",
    rust_tl001_bare_acquire => "rust/TL001_bare_acquire.rs",
    rust_tl002_wait_not_in_loop => "rust/TL002_wait_not_in_loop.rs",
    rust_tl003_sleep_polling => "rust/TL003_sleep_polling.rs",
    rust_tl004_lock_order_inversion => "rust/TL004_lock_order_inversion.rs",
    rust_tl005_missing_timeout => "rust/TL005_missing_timeout.rs",
    rust_tl005_missing_timeout_strict => "rust/TL005_missing_timeout_strict.rs",
    rust_tl006_unsynchronized_shared_update => "rust/TL006_unsynchronized_shared_update.rs",
    rust_tl007_nonreentrant_reacquire => "rust/TL007_nonreentrant_reacquire.rs",
    rust_tl008_sleep_synchronization => "rust/TL008_sleep_synchronization.rs",
    rust_tl009_blocking_under_lock => "rust/TL009_blocking_under_lock.rs",
    rust_tl010_useless_lock => "rust/TL010_useless_lock.rs",
    rust_tl014_thread_leak => "rust/TL014_thread_leak.rs",
    rust_tl015_check_then_act => "rust/TL015_check_then_act.rs",
    rust_tl016_lost_exception => "rust/TL016_lost_exception.rs",
    rust_tl017_guard_dropped_immediately => "rust/TL017_guard_dropped_immediately.rs",
    rust_tl018_lock_across_await => "rust/TL018_lock_across_await.rs",
    rust_tl019_blocking_call_in_async => "rust/TL019_blocking_call_in_async.rs",
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every fixture on disk (relative to `fixtures/`), without the `.fixed.` files.
fn fixture_files() -> Vec<String> {
    let mut files = Vec::new();
    for language in ["python", "rust"] {
        let Ok(entries) = std::fs::read_dir(root().join(language)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("TL") && !name.contains(".fixed.") {
                files.push(format!("{language}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn settings_for(code: &str, strict: bool) -> Settings {
    let selector = Selector::parse(code).expect("fixture named after a rule code");
    Settings {
        selection: RuleSelection::resolve(Some(&[selector]), &[], &[]),
        rules: RuleSettings {
            missing_timeout_strict: strict,
        },
        ..Settings::default()
    }
}

/// `(line, code)` pairs the fixture expects.
fn expectations(source: &str) -> BTreeSet<(usize, String)> {
    let mut expected = BTreeSet::new();
    for (index, line) in source.lines().enumerate() {
        for marker in ["# expect:", "// expect:"] {
            if let Some(pos) = line.find(marker) {
                for code in line[pos + marker.len()..].split(',') {
                    let code = code.split_whitespace().next().unwrap_or("");
                    if !code.is_empty() {
                        expected.insert((index + 1, code.to_string()));
                    }
                }
            }
        }
    }
    expected
}

/// `(line, code)` pairs reported more than once.
fn duplicates(actual: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for finding in actual {
        if !seen.insert(finding) {
            twice.insert(finding.clone());
        }
    }
    twice.into_iter().collect()
}

/// What is wrong with the fixes the diagnostics carry, each applied alone to `source`.
fn fix_problems(language: Language, source: &str, diagnostics: &[Diagnostic]) -> Vec<String> {
    let errors_before = parse(language, source).syntax_errors;
    let mut problems = Vec::new();
    for diagnostic in diagnostics {
        let Some(fix) = &diagnostic.fix else { continue };
        let label = diagnostic.code.unwrap_or(diagnostic.name);
        let at = diagnostic.span.start;
        let declares_fix = diagnostic
            .code
            .and_then(threadlint_rules::registry::find)
            .is_some_and(|rule| rule.documentation().contains("## Fix"));
        if !declares_fix {
            problems.push(format!(
                "{label} at offset {at}: the rule says it has no fix (no `## Fix` section) but produced one"
            ));
        }
        match apply_edits(source, &fix.edits) {
            None => problems.push(format!(
                "{label} at offset {at}: the fix's edits overlap or fall outside the source"
            )),
            Some(fixed) => {
                let errors_after = parse(language, &fixed).syntax_errors;
                if errors_after > errors_before {
                    problems.push(format!(
                        "{label} at offset {at}: the fix adds a syntax error ({errors_before} before, {errors_after} after)"
                    ));
                }
            }
        }
    }
    problems
}

/// The binary's output on a fixture, as a person or a CI log sees it.
fn run_binary(relative: &str, code: &str, strict: bool, extra: &[&str]) -> String {
    let mut args = vec!["check", "--isolated", "--no-cache", "--select", code];
    if strict {
        args.extend(["--config", "missing-timeout.strict = true"]);
    }
    args.extend(extra);
    let path = format!("fixtures/{relative}");
    args.push(&path);
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_fixture(relative: &str) {
    let path = root().join(relative);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let code = &name[..5];
    let strict = name.contains("_strict");
    let language = match path.extension().and_then(|e| e.to_str()) {
        Some("rs") => Language::Rust,
        _ => Language::Python,
    };
    let source = read(&path);
    // `_strict` fixtures run with `missing-timeout.strict = true`.
    let settings = settings_for(code, strict);
    let report = check(
        Input::Source {
            path: path.clone(),
            text: source.clone(),
        },
        &settings,
    );
    let mut failures = Vec::new();
    let mut actual = Vec::new();
    let mut diagnostics = Vec::new();
    for (file, diagnostic) in report.diagnostics() {
        let row = file.lines.location(&file.source, diagnostic.span.start).row;
        actual.push((row, diagnostic.code.unwrap_or(diagnostic.name).to_string()));
        diagnostics.push(diagnostic.clone());
    }
    for (line, code) in duplicates(&actual) {
        failures.push(format!("{code} is reported more than once on line {line}"));
    }
    let actual: BTreeSet<_> = actual.into_iter().collect();
    let expected = expectations(&source);
    let missing: Vec<_> = expected.difference(&actual).collect();
    let unexpected: Vec<_> = actual.difference(&expected).collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        failures.push(format!(
            "missing (line, code): {missing:?}\n  unexpected (line, code): {unexpected:?}"
        ));
    }
    failures.extend(fix_problems(language, &source, &diagnostics));

    let fixed = fix_source(&path, &source, &settings, true);
    if let Some(error) = &fixed.error {
        failures.push(format!("fixing failed: {error}"));
    }
    if !fixed.converged {
        failures.push(format!(
            "fixing did not converge within {} rounds",
            threadlint_analyzer::engine::FIX_ROUNDS
        ));
    }
    let errors_before = parse(language, &source).syntax_errors;
    let errors_after = parse(language, &fixed.source).syntax_errors;
    if errors_after > errors_before {
        failures.push(format!(
            "the fixed source has {errors_after} syntax errors, the fixture {errors_before}"
        ));
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_default();
    let fixed_path = path.with_extension(format!("fixed.{extension}"));
    match std::fs::read_to_string(&fixed_path) {
        Ok(want) if want != fixed.source => failures.push(format!(
            "fixed source differs from {}:\n{}",
            fixed_path.display(),
            similar::TextDiff::from_lines(&want, &fixed.source).unified_diff()
        )),
        Err(_) if fixed.source != source => failures.push(format!(
            "fixes change the fixture, but there is no {} to compare with",
            fixed_path.display()
        )),
        _ => {}
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n\n"));

    let stem = relative
        .trim_end_matches(&format!(".{extension}"))
        .replace('/', "__");
    insta::assert_snapshot!(
        format!("{stem}__concise"),
        run_binary(relative, code, strict, &["--output-format", "concise"])
    );
    insta::assert_snapshot!(
        format!("{stem}__diff"),
        run_binary(relative, code, strict, &["--diff", "--unsafe-fixes"])
    );
}

#[test]
fn every_fixture_file_has_a_test() {
    let listed: Vec<String> = FIXTURES.iter().map(|f| f.to_string()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        fixture_files(),
        "add each fixture file to the `fixtures!` list in tests/fixtures.rs"
    );
}

#[test]
fn every_rule_has_a_fixture_with_positives() {
    let files = fixture_files();
    for rule in threadlint_rules::RULES {
        let with_positives = files.iter().any(|relative| {
            relative.contains(&format!("/{}_", rule.code))
                && expectations(&read(&root().join(relative)))
                    .iter()
                    .any(|(_, code)| code == rule.code)
        });
        assert!(
            with_positives,
            "{} has no fixture with an `expect: {}` line",
            rule.code, rule.code
        );
    }
}

/// The harness itself: checks that must catch a broken rule.
mod harness {
    use super::*;
    use threadlint_rules::model::Span;
    use threadlint_rules::{Applicability, Edit, Fix, Severity};

    fn with_fix(code: &'static str, start: u32, end: u32, content: &str) -> Diagnostic {
        Diagnostic {
            code: Some(code),
            name: "",
            severity: Severity::Warning,
            message: String::new(),
            help: None,
            span: Span::new(start, end),
            related: Vec::new(),
            fix: Some(Fix {
                applicability: Applicability::Safe,
                message: String::new(),
                edits: vec![Edit {
                    span: Span::new(start, end),
                    content: content.into(),
                }],
            }),
        }
    }

    const SOURCE: &str = "import threading\ncond = threading.Condition()\n\ndef f():\n    with cond:\n        if not ready:\n            cond.wait()\n";

    #[test]
    fn rejects_a_fix_that_breaks_the_syntax() {
        // `if` -> `while (`: a broken rewrite of TL002's fix.
        let at = SOURCE.find("if not").expect("the if") as u32;
        let broken = with_fix("TL002", at, at + 2, "while (");
        let problems = fix_problems(Language::Python, SOURCE, &[broken]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("adds a syntax error"), "{problems:?}");
        // The correct fix passes.
        let good = with_fix("TL002", at, at + 2, "while");
        assert_eq!(
            fix_problems(Language::Python, SOURCE, &[good]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn rejects_a_fix_whose_edits_fall_outside_the_source() {
        let end = SOURCE.len() as u32;
        let problems = fix_problems(
            Language::Python,
            SOURCE,
            &[with_fix("TL002", end, end + 5, "")],
        );
        assert!(problems[0].contains("outside the source"), "{problems:?}");
    }

    #[test]
    fn rejects_a_fix_from_a_rule_that_declares_none() {
        // TL003's documentation has no `## Fix` section.
        let problems = fix_problems(
            Language::Python,
            SOURCE,
            &[with_fix("TL003", 0, 0, "# x\n")],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("says it has no fix"), "{problems:?}");
    }

    #[test]
    fn rejects_a_finding_reported_twice_on_one_line() {
        let actual = [
            (7, "TL002".to_string()),
            (7, "TL005".to_string()),
            (7, "TL002".to_string()),
        ];
        assert_eq!(duplicates(&actual), vec![(7, "TL002".to_string())]);
    }
}
