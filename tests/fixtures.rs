//! The rule fixtures: every file under `fixtures/<language>/` is named after one rule
//! (`TL002_wait_not_in_loop.py`) and marks each line where that rule must report with a trailing
//! `# expect: TL002` comment (`// expect: TL002` in Rust). Every other line must stay silent:
//! those are the look-alike negatives. A sibling `<name>.fixed.<ext>` holds the source after
//! `--fix --unsafe-fixes`.
//!
//! The files are found when the tests run (`harness = false`, libtest-mimic): a new fixture is a
//! new test with nothing to register, and `cargo test --test fixtures -- --list` shows one test
//! per file, named by its path under `fixtures/`, so a failure names its file. Beside the markers, each has two
//! snapshots (`tests/snapshots/fixtures__*`): the concise output and the diff of its fixes. The
//! harness also fails on a finding reported twice on one line, on a fix whose edits do not
//! apply or add a syntax error, on a fix from a rule whose violation type declares none
//! (`FixAvailability::None`), and on fixing that has not converged within the allowed rounds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use threadlint_analyzer::engine::{check, parse, Input, Settings};
use threadlint_analyzer::fix::apply_edits;
use threadlint_analyzer::fixing::{fix_source, FixResult, FIX_ROUNDS};
use threadlint_analyzer::selection::{RuleSelection, Selector};
use threadlint_analyzer::Diagnostic;
use threadlint_rules::model::Language;
use threadlint_rules::RuleSettings;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials: Vec<libtest_mimic::Trial> = fixture_files()
        .into_iter()
        .map(|relative| {
            libtest_mimic::Trial::test(relative.clone(), move || run_fixture(&relative))
        })
        .collect();
    let checks: [(&str, fn()); 9] = [
        (
            "catalogue::every_rule_has_a_fixture_with_positives",
            every_rule_has_a_fixture_with_positives,
        ),
        (
            "catalogue::every_fixture_is_named_after_a_rule_of_its_language",
            every_fixture_is_named_after_a_rule_of_its_language,
        ),
        (
            "harness::rejects_a_fix_that_breaks_the_syntax",
            harness::rejects_a_fix_that_breaks_the_syntax,
        ),
        (
            "harness::rejects_a_fix_whose_edits_fall_outside_the_source",
            harness::rejects_a_fix_whose_edits_fall_outside_the_source,
        ),
        (
            "harness::rejects_a_fix_from_a_rule_that_declares_none",
            harness::rejects_a_fix_from_a_rule_that_declares_none,
        ),
        (
            "harness::rejects_a_finding_reported_twice_on_one_line",
            harness::rejects_a_finding_reported_twice_on_one_line,
        ),
        (
            "harness::rejects_fixing_that_does_not_converge",
            harness::rejects_fixing_that_does_not_converge,
        ),
        (
            "harness::rejects_fixing_that_leaves_a_syntax_error_or_fails",
            harness::rejects_fixing_that_leaves_a_syntax_error_or_fails,
        ),
        (
            "catalogue::every_fixed_file_has_its_fixture",
            every_fixed_file_has_its_fixture,
        ),
    ];
    trials.extend(checks.into_iter().map(|(name, check)| {
        libtest_mimic::Trial::test(name, move || {
            check();
            Ok(())
        })
    }));
    libtest_mimic::run(&args, trials).exit();
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every fixture on disk (relative to `fixtures/`), without the `.fixed.` files. Any other
/// file there is a fixture too: one not named after a rule fails, never goes unrun.
fn fixture_files() -> Vec<String> {
    let mut files = Vec::new();
    for language in ["python", "rust"] {
        let Ok(entries) = std::fs::read_dir(root().join(language)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !name.contains(".fixed.") {
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
            .is_some_and(|rule| rule.fix != threadlint_rules::FixAvailability::None);
        if !declares_fix {
            problems.push(format!(
                "{label} at offset {at}: the rule says it has no fix (its violation declares `FixAvailability::None`) but produced one"
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

/// What is wrong with the outcome of fixing `source` (every fix, rounds until nothing applies).
fn fix_result_problems(language: Language, source: &str, fixed: &FixResult) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = &fixed.error {
        problems.push(format!("fixing failed: {error}"));
    }
    if !fixed.converged {
        problems.push(format!(
            "fixing did not converge within {FIX_ROUNDS} rounds"
        ));
    }
    let errors_before = parse(language, source).syntax_errors;
    let errors_after = parse(language, &fixed.source).syntax_errors;
    if errors_after > errors_before {
        problems.push(format!(
            "the fixed source has {errors_after} syntax errors, the fixture {errors_before}"
        ));
    }
    problems
}

fn run_fixture(relative: &str) -> Result<(), libtest_mimic::Failed> {
    let path = root().join(relative);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let code = name.get(..5).unwrap_or(&name);
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
    failures.extend(fix_result_problems(language, &source, &fixed));
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
    if !failures.is_empty() {
        return Err(format!("{name}:\n{}", failures.join("\n\n")).into());
    }

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
    Ok(())
}

/// A fixture runs with the rule its name gives selected: the name must be a rule's code, of a
/// rule checked in that language.
fn every_fixture_is_named_after_a_rule_of_its_language() {
    for relative in fixture_files() {
        let (language, name) = relative.split_once('/').unwrap_or_default();
        let rule = name
            .get(..5)
            .and_then(threadlint_rules::registry::find)
            .unwrap_or_else(|| {
                panic!("{relative}: not named after a rule code (`TLNNN_name.ext`)")
            });
        assert!(
            rule.languages
                .iter()
                .any(|l| l.name().eq_ignore_ascii_case(language)),
            "{relative}: {} is not checked in {language}",
            rule.code
        );
    }
}

/// A `.fixed.` file is compared with the fixing of its fixture: one without a fixture (renamed,
/// deleted) would never be read.
fn every_fixed_file_has_its_fixture() {
    for language in ["python", "rust"] {
        let Ok(entries) = std::fs::read_dir(root().join(language)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some((stem, extension)) = name.split_once(".fixed.") {
                let fixture = root().join(language).join(format!("{stem}.{extension}"));
                assert!(
                    fixture.is_file(),
                    "{language}/{name} has no fixture {stem}.{extension}"
                );
            }
        }
    }
}

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
            traces: Vec::new(),
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

    pub(super) fn rejects_a_fix_that_breaks_the_syntax() {
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

    pub(super) fn rejects_a_fix_whose_edits_fall_outside_the_source() {
        let end = SOURCE.len() as u32;
        let problems = fix_problems(
            Language::Python,
            SOURCE,
            &[with_fix("TL002", end, end + 5, "")],
        );
        assert!(problems[0].contains("outside the source"), "{problems:?}");
    }

    pub(super) fn rejects_a_fix_from_a_rule_that_declares_none() {
        let unfixable = threadlint_rules::RULES
            .iter()
            .find(|rule| {
                rule.fix == threadlint_rules::FixAvailability::None
                    && rule.languages.contains(&Language::Python)
            })
            .expect("a Python rule without a fix");
        let problems = fix_problems(
            Language::Python,
            SOURCE,
            &[with_fix(unfixable.code, 0, 0, "# x\n")],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("says it has no fix"), "{problems:?}");
    }

    pub(super) fn rejects_a_finding_reported_twice_on_one_line() {
        let actual = [
            (7, "TL002".to_string()),
            (7, "TL005".to_string()),
            (7, "TL002".to_string()),
        ];
        assert_eq!(duplicates(&actual), vec![(7, "TL002".to_string())]);
    }

    fn fixed(source: &str, converged: bool, error: Option<String>) -> FixResult {
        FixResult {
            source: source.into(),
            fixed: 1,
            codes: vec!["TL002"],
            withheld: 0,
            converged,
            error,
        }
    }

    /// A fix that keeps finding something to change (a broken rule that undoes its own
    /// rewrite) is cut short by the round limit: the harness reports it.
    pub(super) fn rejects_fixing_that_does_not_converge() {
        let fixed_source = SOURCE.replace("if not", "while not");
        let problems =
            fix_result_problems(Language::Python, SOURCE, &fixed(&fixed_source, false, None));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("did not converge"), "{problems:?}");
        assert_eq!(
            fix_result_problems(Language::Python, SOURCE, &fixed(&fixed_source, true, None)),
            Vec::<String>::new()
        );
    }

    pub(super) fn rejects_fixing_that_leaves_a_syntax_error_or_fails() {
        let broken = SOURCE.replace("if not", "while (not");
        let problems = fix_result_problems(Language::Python, SOURCE, &fixed(&broken, true, None));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("syntax errors"), "{problems:?}");
        let failed = fixed(SOURCE, true, Some("a panic".into()));
        let problems = fix_result_problems(Language::Python, SOURCE, &failed);
        assert!(problems[0].contains("fixing failed"), "{problems:?}");
    }
}
