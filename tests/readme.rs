//! What a new user reads in the README and then runs: the rule table, the sample finding, the
//! install commands and the small promises of the command line hold for the built binary.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{stderr, stdout, threadlint, tree, WAIT_UNDER_IF};
use threadlint_rules::registry::{catalogue_codes, RULES};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

/// The fenced block of `language` that follows the first line containing `after`.
fn block_after(text: &str, after: &str, language: &str) -> String {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("README has no `{after}`"));
    let fence = format!("```{language}\n");
    let open = start + text[start..].find(&fence).expect("a fenced block") + fence.len();
    let close = open + text[open..].find("```").expect("a closing fence");
    text[open..close].to_string()
}

/// `TL011–TL013, TL015, TL016`: runs of three or more consecutive codes joined by an en dash.
fn ranges(codes: &[String]) -> String {
    let number = |code: &String| code[2..].parse::<u32>().unwrap_or(0);
    let mut runs: Vec<(String, String)> = Vec::new();
    for code in codes {
        match runs.last_mut() {
            Some((_, last)) if number(last) + 1 == number(code) => last.clone_from(code),
            _ => runs.push((code.clone(), code.clone())),
        }
    }
    runs.iter()
        .map(|(first, last)| match number(last) - number(first) {
            0 => first.clone(),
            1 => format!("{first}, {last}"),
            _ => format!("{first}–{last}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn rule_table_lists_exactly_the_registered_rules() {
    let text = readme();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|line| *line != "| code | name | languages |")
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    let expected: Vec<String> = RULES
        .iter()
        .map(|rule| {
            let languages: Vec<&str> = rule.languages.iter().map(|l| l.name()).collect();
            format!(
                "| {} | {} | {} |",
                rule.code,
                rule.name,
                languages.join(", ")
            )
        })
        .collect();
    assert_eq!(table, expected);
}

#[test]
fn the_not_implemented_sentence_names_the_catalogue_codes_without_a_rule() {
    let missing: Vec<String> = catalogue_codes()
        .filter(|code| !RULES.iter().any(|rule| rule.code == code))
        .collect();
    let sentence = if missing.is_empty() {
        "Every code of the catalogue is implemented.".to_string()
    } else {
        format!(
            "{} of the catalogue {} not implemented yet.",
            ranges(&missing),
            if missing.len() == 1 { "is" } else { "are" }
        )
    };
    let text = readme().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains(&sentence), "README lacks: {sentence}");
}

/// The source behind the README's sample finding.
const BUFFER: &str = r#"import threading


class Buffer:
    """Items handed from producer threads to consumer threads."""

    def __init__(self):
        self._cond = threading.Condition()
        self._items = []

    def get(self):
        with self._cond:
            if not self._items:
                self._cond.wait()
            return self._items.pop(0)
"#;

#[test]
fn the_sample_finding_is_what_the_tool_prints() {
    let dir = tree(&[("app/buffer.py", BUFFER)]);
    let out = threadlint(dir.path(), &["check", "--no-cache", "app/buffer.py"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sample = block_after(&readme(), "A finding in the default `full` format", "text");
    assert_eq!(stdout(&out).trim_end(), sample.trim_end());
}

#[test]
fn install_starts_with_the_package_index_and_the_clone_install_is_locked() {
    let text = readme();
    let install = block_after(&text, "## Install", "sh");
    assert!(
        install.starts_with("pip install threadlint ")
            && install.contains("uv tool install threadlint"),
        "{install}"
    );
    assert!(text.contains("cargo install --path . --locked"));
    // The test command the README gives is the one CI runs.
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .expect(".ci/run");
    let command = "cargo test --workspace --locked -- --include-ignored";
    assert!(block_after(&text, "## Development", "sh").contains(command));
    assert!(ci.lines().any(|line| line.trim() == command), "{ci}");
}

#[test]
fn the_rust_noqa_forms_of_the_readme_suppress() {
    let source = "use std::sync::Mutex;\n\nfn f(m: &Mutex<u32>) {\n    let _ = m.lock();\n}\n";
    let dir = tree(&[
        ("a.rs", source),
        (
            "b.rs",
            &source.replace("m.lock();", "m.lock(); // noqa: TL017"),
        ),
        ("c.rs", &format!("// threadlint: noqa\n{source}")),
    ]);
    let text = readme();
    assert!(text.contains("`let _ = m.lock(); // noqa: TL017`"));
    assert!(text.contains("`// threadlint: noqa`"));
    let out = threadlint(
        dir.path(),
        &["check", "--no-cache", "--output-format", "concise"],
    );
    let report = stdout(&out);
    assert!(report.contains("a.rs:4:"), "{report}");
    assert!(!report.contains("b.rs"), "{report}");
    assert!(!report.contains("c.rs"), "{report}");
}

#[test]
fn config_of_a_file_lists_the_rules_left_after_per_file_ignores() {
    let dir = tree(&[
        (
            "pyproject.toml",
            "[tool.threadlint]\nper-file-ignores = { \"tests/*\" = [\"TL005\", \"wait-not-in-loop\"] }\n",
        ),
        ("tests/test_a.py", "x = 1\n"),
        ("src/a.py", "x = 1\n"),
    ]);
    let all: Vec<&str> = RULES.iter().map(|rule| rule.code).collect();
    let rest: Vec<&str> = all
        .iter()
        .copied()
        .filter(|code| !["TL002", "TL005"].contains(code))
        .collect();

    let test_file = stdout(&threadlint(dir.path(), &["config", "tests/test_a.py"]));
    assert!(
        test_file.contains(&format!("\nrules: {}\n", rest.join(", "))),
        "{test_file}"
    );
    assert!(
        test_file.contains("\nignored by per-file-ignores: TL002, TL005\n"),
        "{test_file}"
    );
    assert!(
        test_file.contains("\nper-file-ignores.\"tests/*\": TL002, TL005\n"),
        "{test_file}"
    );

    let source_file = stdout(&threadlint(dir.path(), &["config", "src/a.py"]));
    assert!(
        source_file.contains(&format!("\nrules: {}\n", all.join(", "))),
        "{source_file}"
    );
    assert!(!source_file.contains("ignored by"), "{source_file}");
}

#[test]
fn rule_pages_in_the_terminal_carry_no_note_for_contributors() {
    let dir = tree(&[]);
    let one = threadlint(dir.path(), &["rule", "TL002"]);
    assert_eq!(one.status.code(), Some(0));
    let page = stdout(&one);
    assert!(
        page.starts_with("# TL002 wait-not-in-loop\n\nSeverity: "),
        "{page}"
    );
    let all = stdout(&threadlint(dir.path(), &["rule", "--all"]));
    assert!(!all.contains("<!--"));
    assert!(!all.contains("rules/src"));
}

#[test]
fn a_path_that_does_not_exist_is_a_clear_error() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF)]);
    let alone = threadlint(dir.path(), &["check", "--no-cache", "missing.py"]);
    assert_eq!(alone.status.code(), Some(2));
    assert_eq!(stdout(&alone), "");
    assert_eq!(
        stderr(&alone),
        "error: missing.py: no such file or directory\n"
    );

    // Beside a file that exists: that one is still checked, and the run still fails.
    let both = threadlint(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "a.py",
            "missing.py",
        ],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(stdout(&both).contains("a.py:10:13: TL002"));
    assert!(!stdout(&both).contains("missing.py"));
    assert!(stderr(&both).contains("error: missing.py: no such file or directory"));
}

/// Runs the binary with its standard output a pipe whose reader has already gone, as
/// `threadlint ... | head` once `head` has read enough.
fn into_closed_pipe(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs")
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF), ("pyproject.toml", "")]);
    for (args, code) in [
        (&["check", "--no-cache"][..], 1),
        (&["check", "--no-cache", "--output-format", "json"][..], 1),
        (&["check", "--no-cache", "--statistics"][..], 1),
        (&["rule", "--all"][..], 0),
        (&["rule", "TL002"][..], 0),
        (&["config", "a.py"][..], 0),
    ] {
        let out = into_closed_pipe(dir.path(), args);
        assert_eq!(stderr(&out), "", "{args:?}");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn diff_with_unsafe_fixes_names_the_command_that_applies_it() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF)]);
    let safe = threadlint(dir.path(), &["check", "--diff"]);
    assert!(stderr(&safe).contains("(run with --fix to apply)"));
    let all = threadlint(dir.path(), &["check", "--diff", "--unsafe-fixes"]);
    assert!(
        stderr(&all).contains("(run with --fix --unsafe-fixes to apply)"),
        "{}",
        stderr(&all)
    );
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_copy_of_the_version_is_the_one_in_cargo_toml() {
    let version = env!("CARGO_PKG_VERSION");
    // The Python package takes it from Cargo through maturin.
    let pyproject = repo_file("pyproject.toml");
    assert!(pyproject.contains("dynamic = [\"version\"]"));
    assert!(!pyproject.contains("\nversion ="));
    let extension: serde_json::Value =
        serde_json::from_str(&repo_file("editors/vscode/package.json")).expect("package.json");
    assert_eq!(extension["version"], version);
    let mirror = repo_file("pre-commit-mirror/pyproject.toml");
    assert!(
        mirror.contains(&format!("\nversion = \"{version}\"\n")),
        "{mirror}"
    );
    assert!(
        mirror.contains(&format!("\"threadlint=={version}\"")),
        "{mirror}"
    );
    // The release notes of this version exist, under the heading the release workflow reads.
    let changelog = repo_file("CHANGELOG.md");
    assert!(
        changelog
            .lines()
            .any(|line| line == format!("## {version}")
                || line.starts_with(&format!("## {version} "))),
        "CHANGELOG.md has no section for {version}"
    );
    // The hooks of the repository and of the mirror are the same hooks.
    let hooks = |text: &str| -> String {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        hooks(&repo_file(".pre-commit-hooks.yaml")),
        hooks(&repo_file("pre-commit-mirror/.pre-commit-hooks.yaml"))
    );
}
