//! Bad input never crashes the tool and never stops the run: each case sits beside a file with
//! a real finding, which must still be reported.

use std::process::{Command, Output};

const FINDING: &str = "import threading\ncond = threading.Condition()\n\ndef f():\n    with cond:\n        cond.wait()\n";

fn run_with(name: &str, content: &[u8]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(["check", "--output-format", "concise", "--select", "ALL"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    (out, dir)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_run_went_on(out: &Output) {
    assert!(
        stdout(out).contains("finding.py:6:9: TL002"),
        "the other file's finding is lost:\n{}\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some(), "killed by a signal");
}

#[test]
fn syntax_error_is_reported_where_it_is_and_rules_still_run() {
    let source = "import threading\ncond = threading.Condition()\n\ndef g(:\n    pass\n\ndef h():\n    with cond:\n        cond.wait()\n";
    let (out, _dir) = run_with("broken.py", source.as_bytes());
    assert_run_went_on(&out);
    let text = stdout(&out);
    assert!(text.contains("broken.py:4:7: invalid-syntax"), "{text}");
    // Error recovery: the function after the error is still analysed.
    assert!(text.contains("broken.py:9:9: TL002"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn non_utf8_file_is_an_error_naming_the_file() {
    let (out, _dir) = run_with("latin1.py", b"# coding: latin-1\nname = '\xe9t\xe9'\n");
    assert_run_went_on(&out);
    assert!(stdout(&out)
        .contains("latin1.py:1:1: unsupported-encoding Skipped latin1.py: not valid UTF-8"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn deeply_nested_source_does_not_overflow_the_stack() {
    let depth = 10_000;
    let mut source = String::from("x = ");
    source.push_str(&"(".repeat(depth));
    source.push('1');
    source.push_str(&")".repeat(depth));
    source.push('\n');
    // Deep statement nesting too.
    let mut nested = String::new();
    for level in 0..1_000 {
        nested.push_str(&" ".repeat(level));
        nested.push_str("if x:\n");
    }
    nested.push_str(&" ".repeat(1_000));
    nested.push_str("pass\n");
    let (out, _dir) = run_with("deep.py", source.as_bytes());
    assert_run_went_on(&out);
    let (out, _dir) = run_with("deep_blocks.py", nested.as_bytes());
    assert_run_went_on(&out);
}

#[test]
fn huge_file_is_checked() {
    let mut source = String::with_capacity(21 * 1024 * 1024);
    source.push_str("import threading\nlock = threading.Lock()\n");
    let mut i = 0;
    while source.len() < 20 * 1024 * 1024 {
        source.push_str(&format!(
            "def f{i}():\n    with lock:\n        return {i}\n"
        ));
        i += 1;
    }
    source.push_str("def last():\n    with lock:\n        with lock:\n            pass\n");
    let (out, _dir) = run_with("huge.py", source.as_bytes());
    assert_run_went_on(&out);
    assert!(
        stdout(&out).contains("huge.py:"),
        "the huge file's own finding"
    );
}

#[test]
fn empty_crlf_and_bom_files() {
    let (out, _dir) = run_with("empty.py", b"");
    assert_run_went_on(&out);
    let crlf = FINDING.replace('\n', "\r\n");
    let (out, _dir) = run_with("crlf.py", crlf.as_bytes());
    assert_run_went_on(&out);
    assert!(
        stdout(&out).contains("crlf.py:6:9: TL002"),
        "{}",
        stdout(&out)
    );
    let bom = format!("\u{feff}{FINDING}");
    let (out, _dir) = run_with("bom.py", bom.as_bytes());
    assert_run_went_on(&out);
    assert!(
        stdout(&out).contains("bom.py:6:9: TL002"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreadable_path_is_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args([
            "check",
            "--output-format",
            "concise",
            "finding.py",
            "missing.py",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_run_went_on(&out);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("error: missing.py: no such file or directory"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn one_line_if_guarded_wait_is_fixed_in_place() {
    let source = "import threading\ncond = threading.Condition()\n\ndef f(x):\n    with cond:\n        if x: cond.wait()\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), source).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(["check", "--fix", "--output-format", "concise"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.code().is_some());
    let after = std::fs::read_to_string(dir.path().join("a.py")).unwrap();
    // `if x: cond.wait()` on one line becomes `while x: cond.wait()`, which parses.
    assert_eq!(after, source.replace("if x:", "while x:"));
}
