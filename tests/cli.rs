//! The built binary on temporary trees, the way users run it.

use std::path::Path;
use std::process::{Command, Output};

fn threadlint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const WAIT_UNDER_IF: &str = "import threading\n\ncond = threading.Condition()\nitems = []\n\n\ndef get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n";

fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

#[test]
fn clean_tree_exits_zero_and_says_so() {
    let dir = tree(&[(
        "ok.py",
        b"import threading\nlock = threading.Lock()\nwith lock:\n    pass\n",
    )]);
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("All checks passed!"));
}

#[test]
fn findings_exit_one_with_summary_and_concise_lines() {
    let dir = tree(&[("queue.py", WAIT_UNDER_IF.as_bytes())]);
    let out = threadlint(dir.path(), &["check", "--output-format", "concise"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "queue.py:10:13: TL002 [*] `cond.wait()` is guarded by `if`, not `while`: after a spurious or stolen wake-up the code goes on although the condition is still false\n"
    );
    assert_eq!(
        text(&out.stderr),
        "Found 1 problem in 1 file (1 fixable with --fix).\n"
    );
    let out = threadlint(dir.path(), &["check", "--exit-zero", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}

#[test]
fn fix_rewrites_the_file_and_diff_writes_nothing() {
    let dir = tree(&[("queue.py", WAIT_UNDER_IF.as_bytes())]);
    let out = threadlint(dir.path(), &["check", "--diff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("-        if not items:\n+        while not items:\n"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("queue.py")).unwrap(),
        WAIT_UNDER_IF
    );

    let out = threadlint(dir.path(), &["check", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Fixed 1 problem."));
    let fixed = std::fs::read_to_string(dir.path().join("queue.py")).unwrap();
    assert_eq!(
        fixed,
        WAIT_UNDER_IF.replace("if not items", "while not items")
    );
}

#[test]
fn json_output_has_ruff_field_names() {
    let dir = tree(&[("queue.py", WAIT_UNDER_IF.as_bytes())]);
    let out = threadlint(dir.path(), &["check", "--output-format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &value[0];
    assert_eq!(first["code"], "TL002");
    assert_eq!(first["name"], "wait-not-in-loop");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["filename"], "queue.py");
    assert_eq!(
        first["location"],
        serde_json::json!({"row": 10, "column": 13})
    );
    assert_eq!(
        first["end_location"],
        serde_json::json!({"row": 10, "column": 24})
    );
    assert_eq!(first["noqa_row"], 10);
    assert_eq!(first["fix"]["applicability"], "safe");
    assert_eq!(first["fix"]["edits"][0]["content"], "while");
    assert_eq!(
        first["fix"]["edits"][0]["location"],
        serde_json::json!({"row": 9, "column": 9})
    );
    assert_eq!(first["related"], serde_json::json!([]));
    assert!(first["url"]
        .as_str()
        .unwrap()
        .ends_with("docs/rules/TL002.md"));
    assert!(out.stderr.is_empty(), "json output prints no summary");
}

#[test]
fn select_ignore_and_unknown_selectors() {
    let dir = tree(&[("queue.py", WAIT_UNDER_IF.as_bytes())]);
    let out = threadlint(dir.path(), &["check", "--ignore", "TL002"]);
    assert_eq!(out.status.code(), Some(0));
    let out = threadlint(
        dir.path(),
        &["check", "--select", "TL00", "--ignore", "wait-not-in-loop"],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = threadlint(dir.path(), &["check", "--select", "XX9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown rule selector `XX9`"));
}

#[test]
fn noqa_suppresses_and_unknown_codes_are_reported() {
    let source = WAIT_UNDER_IF.replace("cond.wait()", "cond.wait()  # noqa: TL002");
    let dir = tree(&[
        ("a.py", source.as_bytes()),
        ("b.py", b"x = 1  # noqa: TL999\n"),
    ]);
    let out = threadlint(dir.path(), &["check", "--output-format", "concise"]);
    assert_eq!(
        text(&out.stdout),
        "b.py:1:8: unknown-noqa-code Unknown rule code `TL999` in `noqa` comment: it suppresses nothing\n"
    );
    let dir = tree(&[(
        "a.py",
        format!("# threadlint: noqa\n{WAIT_UNDER_IF}").as_bytes(),
    )]);
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn gitignored_and_virtualenv_files_are_skipped() {
    let dir = tree(&[
        (".gitignore", b"generated/\n"),
        ("generated/bad.py", WAIT_UNDER_IF.as_bytes()),
        (".venv/lib/bad.py", WAIT_UNDER_IF.as_bytes()),
        ("src/good.py", b"x = 1\n"),
    ]);
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A file named explicitly is checked even if ignored.
    let out = threadlint(dir.path(), &["check", "generated/bad.py"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn rule_command_prints_docs() {
    let dir = tree(&[]);
    let out = threadlint(dir.path(), &["rule", "TL002"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("# TL002 wait-not-in-loop"));
    let out = threadlint(dir.path(), &["rule", "--all"]);
    for rule in threadlint_rules::RULES {
        assert!(text(&out.stdout).contains(&format!("# {} {}", rule.code, rule.name)));
    }
    let out = threadlint(dir.path(), &["rule", "TL999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn statistics_counts_per_rule() {
    let dir = tree(&[
        ("a.py", WAIT_UNDER_IF.as_bytes()),
        ("b.py", WAIT_UNDER_IF.as_bytes()),
    ]);
    let out = threadlint(dir.path(), &["check", "--statistics", "--quiet"]);
    assert_eq!(text(&out.stdout), "2\tTL002\t[*] wait-not-in-loop\n");
}

#[test]
fn python_and_rust_files_are_checked_in_one_run_with_one_sorted_report() {
    let rust = "use std::sync::{Condvar, Mutex};\n\nfn wait(pair: &(Mutex<bool>, Condvar)) {\n    let (lock, cvar) = pair;\n    let mut ready = lock.lock().unwrap();\n    if !*ready {\n        ready = cvar.wait(ready).unwrap();\n    }\n    drop(ready);\n}\n";
    let dir = tree(&[
        ("b_queue.py", WAIT_UNDER_IF.as_bytes()),
        ("a_sync.rs", rust.as_bytes()),
        ("c/z.py", WAIT_UNDER_IF.as_bytes()),
    ]);
    let out = threadlint(
        dir.path(),
        &["check", "--output-format", "concise", "--select", "TL002"],
    );
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split(": TL002").next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        lines,
        ["a_sync.rs:7:17", "b_queue.py:10:13", "c/z.py:10:13"]
    );
}

/// TL005's help for a connection follows what is called, a socket or the function that
/// connects, whatever name the function is imported under.
#[test]
fn connection_help_follows_what_is_called_not_its_name() {
    let dir = tree(&[
        (
            "pyproject.toml",
            b"[tool.threadlint.missing-timeout]\nstrict = true\n",
        ),
        (
            "a.py",
            b"import socket\nfrom socket import create_connection as dial\n\n\ndef f(host):\n    dial((host, 80))\n\n\ndef g(address):\n    plain = socket.socket()\n    plain.connect(address)\n",
        ),
    ]);
    let out = threadlint(dir.path(), &["check", "--select", "TL005", "a.py"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("help: Pass a timeout (`dial(address, timeout=10)`)"),
        "{shown}"
    );
    assert!(
        shown.contains("help: Call `plain.settimeout(10)` before `connect()`"),
        "{shown}"
    );
    assert_eq!(shown.matches("help:").count(), 2, "{shown}");
}
