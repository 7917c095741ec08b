//! The rule fixtures: every file under `fixtures/<language>/` is named after one rule
//! (`TL002_wait_not_in_loop.py`) and marks each line where that rule must report with a trailing
//! `# expect: TL002` comment (`// expect: TL002` in Rust). Every other line must stay silent:
//! those are the look-alike negatives. A sibling `<name>.fixed.<ext>` holds the source after
//! `--fix --unsafe-fixes`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use threadlint_analyzer::engine::{check, fix_source, Input, Settings};
use threadlint_analyzer::selection::{RuleSelection, Selector};
use threadlint_rules::RuleSettings;

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for language in ["python", "rust"] {
        let Ok(entries) = std::fs::read_dir(root.join(language)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("TL") && !name.contains(".fixed.") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
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

#[test]
fn every_rule_fixture_matches_its_expectations() {
    let files = fixture_files();
    assert!(!files.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let code = &name[..5];
        let source = std::fs::read_to_string(&path).unwrap();
        // `_strict` fixtures run with `missing-timeout.strict = true`.
        let settings = settings_for(code, name.contains("_strict"));
        let report = check(
            Input::Source {
                path: path.clone(),
                text: source.clone(),
            },
            &settings,
        );
        let mut actual = BTreeSet::new();
        for (file, diagnostic) in report.diagnostics() {
            let row = file.lines.location(&file.source, diagnostic.span.start).row;
            let label = diagnostic.code.unwrap_or(diagnostic.name).to_string();
            actual.insert((row, label));
        }
        let expected = expectations(&source);
        let missing: Vec<_> = expected.difference(&actual).collect();
        let unexpected: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            failures.push(format!(
                "{name}:\n  missing (line, code): {missing:?}\n  unexpected (line, code): {unexpected:?}"
            ));
        }
        let fixed_path = path.with_extension(format!(
            "fixed.{}",
            path.extension().unwrap().to_string_lossy()
        ));
        if let Ok(want) = std::fs::read_to_string(&fixed_path) {
            let got = fix_source(&path, &source, &settings, true).source;
            if got != want {
                failures.push(format!(
                    "{name}: fixed source differs from {}:\n{}",
                    fixed_path.display(),
                    similar::TextDiff::from_lines(&want, &got).unified_diff()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_rule_has_a_fixture_with_positives() {
    let files = fixture_files();
    for rule in threadlint_rules::RULES {
        let with_positives = files.iter().any(|path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            name.starts_with(rule.code)
                && expectations(&std::fs::read_to_string(path).unwrap())
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
