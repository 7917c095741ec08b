//! Fixing never makes code worse and never crashes: the fix, diff and standard-input paths run
//! with the same stack protection as `check`, and a fixed file is linted again before it is
//! written.

mod common;

use common::{stderr, stdout, threadlint, tree};

/// A bare acquisition around `x = y + y + ... + y` with 250,000 terms.
fn long_expression() -> String {
    let mut source = String::from(
        "import threading\nlock = threading.Lock()\n\n\ndef f(y):\n    lock.acquire()\n    x = y",
    );
    source.push_str(&" + y".repeat(249_999));
    source.push_str("\n    lock.release()\n    return x\n");
    source
}

#[test]
fn fix_on_a_very_long_expression_does_not_overflow_the_stack() {
    let dir = tree(&[("long.py", &long_expression())]);
    let out = threadlint(
        dir.path(),
        &["check", "--isolated", "--fix", "--unsafe-fixes", "long.py"],
    );
    assert!(out.status.code().is_some(), "killed: {}", stderr(&out));
    let fixed = std::fs::read_to_string(dir.path().join("long.py")).expect("the file");
    assert!(
        fixed.contains("    with lock:\n        x = y + y"),
        "not fixed"
    );
    assert!(stderr(&out).contains("Fixed 1 problem"), "{}", stderr(&out));
}

#[test]
fn diff_on_a_very_long_expression_does_not_overflow_the_stack() {
    let dir = tree(&[("long.py", &long_expression())]);
    let out = threadlint(
        dir.path(),
        &["check", "--isolated", "--diff", "--unsafe-fixes", "long.py"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("+    with lock:"), "no diff");
}

#[test]
fn stdin_fix_on_a_very_long_expression_does_not_overflow_the_stack() {
    use std::io::Write;
    let dir = tree(&[]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args([
            "check",
            "--isolated",
            "--fix",
            "--unsafe-fixes",
            "--stdin-filename",
            "long.py",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let source = long_expression();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(source.as_bytes()));
    let out = child.wait_with_output().expect("the binary ends");
    writer.join().expect("writer").expect("stdin written");
    assert!(out.status.code().is_some(), "killed: {}", stderr(&out));
    assert!(
        stdout(&out).contains("    with lock:\n        x = y + y"),
        "not fixed"
    );
}
