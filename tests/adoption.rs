//! Configuration files, stdin, baseline, cache and `--add-noqa`: the binary as CI and
//! pre-commit use it.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{stderr, stdout, threadlint, tree, WAIT_UNDER_IF};

const SLEEPY_TEST: &str = "import threading\nlock = threading.Lock()\n\ndef f():\n    with lock:\n        with lock:\n            pass\n";

#[test]
fn nearest_configuration_wins() {
    let dir = tree(&[
        (
            "pyproject.toml",
            "[tool.threadlint]\nignore = [\"TL002\"]\n",
        ),
        ("a.py", WAIT_UNDER_IF),
        ("sub/threadlint.toml", "select = [\"TL002\"]\n"),
        ("sub/b.py", WAIT_UNDER_IF),
    ]);
    let out = threadlint(
        dir.path(),
        &["check", "--output-format", "concise", "--no-cache"],
    );
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), ["sub/b.py:10:13: TL002 [*] `cond.wait()` is guarded by `if`, not `while`: after a spurious or stolen wake-up the code goes on although the condition is still false"]);
    let out = threadlint(
        dir.path(),
        &[
            "check",
            "--isolated",
            "--output-format",
            "concise",
            "--no-cache",
        ],
    );
    assert_eq!(stdout(&out).lines().count(), 2);
    let out = threadlint(dir.path(), &["config", "sub/b.py"]);
    assert!(stdout(&out).contains("threadlint.toml"), "{}", stdout(&out));
}

#[test]
fn unknown_keys_and_bad_values_exit_two_naming_file_and_key() {
    let dir = tree(&[
        ("pyproject.toml", "[tool.threadlint]\nselec = [\"TL002\"]\n"),
        ("a.py", "x = 1\n"),
    ]);
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pyproject.toml: `selec`: unknown key; the keys are select"),
        "{}",
        stderr(&out)
    );
    let dir = tree(&[
        ("threadlint.toml", "[missing-timeout]\nstrict = \"yes\"\n"),
        ("a.py", "x = 1\n"),
    ]);
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`missing-timeout.strict`: expected `true` or `false`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn per_file_ignores_severity_and_excludes() {
    let dir = tree(&[
        (
            "threadlint.toml",
            "extend-exclude = [\"generated\"]\n[per-file-ignores]\n\"tests/*\" = [\"TL007\"]\n[severity]\nTL002 = \"error\"\n",
        ),
        ("tests/test_a.py", SLEEPY_TEST),
        ("src/a.py", SLEEPY_TEST),
        ("src/b.py", WAIT_UNDER_IF),
        ("generated/c.py", WAIT_UNDER_IF),
    ]);
    let out = threadlint(
        dir.path(),
        &["check", "--output-format", "json", "--no-cache"],
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["src/a.py", "src/b.py"]);
    assert_eq!(value[1]["severity"], "error");
    // Named explicitly, an excluded file is checked, unless --force-exclude (as pre-commit runs it).
    let out = threadlint(dir.path(), &["check", "generated/c.py", "--no-cache"]);
    assert_eq!(out.status.code(), Some(1));
    let out = threadlint(
        dir.path(),
        &["check", "--force-exclude", "generated/c.py", "--no-cache"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn output_format_from_configuration() {
    let dir = tree(&[
        (
            "pyproject.toml",
            "[tool.threadlint]\noutput-format = \"concise\"\n",
        ),
        ("a.py", WAIT_UNDER_IF),
    ]);
    let out = threadlint(dir.path(), &["check", "--no-cache"]);
    assert!(
        stdout(&out).starts_with("a.py:10:13: TL002"),
        "{}",
        stdout(&out)
    );
}

fn with_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn stdin_is_reported_under_its_name_and_fixed_to_stdout() {
    let dir = tree(&[("pkg/threadlint.toml", "ignore = [\"TL007\"]\n")]);
    let out = with_stdin(
        dir.path(),
        &[
            "check",
            "--stdin-filename",
            "pkg/q.py",
            "--output-format",
            "concise",
        ],
        WAIT_UNDER_IF,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("pkg/q.py:10:13: TL002"));
    let out = with_stdin(
        dir.path(),
        &["check", "--stdin-filename", "pkg/q.py", "--fix"],
        WAIT_UNDER_IF,
    );
    assert_eq!(
        stdout(&out),
        WAIT_UNDER_IF.replace("if not items", "while not items")
    );
    assert_eq!(out.status.code(), Some(0));
    // The configuration is found from the given path.
    let out = with_stdin(
        dir.path(),
        &["check", "--stdin-filename", "pkg/q.py"],
        SLEEPY_TEST,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn baseline_hides_old_findings_and_shows_new_ones() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF)]);
    let out = threadlint(
        dir.path(),
        &["check", "--write-baseline", "baseline.json", "--no-cache"],
    );
    assert_eq!(out.status.code(), Some(0));
    // Lines move: the old finding stays hidden.
    std::fs::write(
        dir.path().join("a.py"),
        format!("\"\"\"Docs.\"\"\"\n\n{WAIT_UNDER_IF}"),
    )
    .unwrap();
    let out = threadlint(
        dir.path(),
        &["check", "--baseline", "baseline.json", "--no-cache"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A new finding shows.
    let mut source = std::fs::read_to_string(dir.path().join("a.py")).unwrap();
    source.push_str(
        "\n\ndef again():\n    with cond:\n        if not items:\n            cond.wait()\n",
    );
    std::fs::write(dir.path().join("a.py"), source).unwrap();
    let out = threadlint(
        dir.path(),
        &[
            "check",
            "--baseline",
            "baseline.json",
            "--output-format",
            "concise",
            "--no-cache",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("a.py:19:13: TL002"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn second_run_on_an_unchanged_tree_parses_nothing() {
    let dir = tree(&[
        ("a.py", WAIT_UNDER_IF),
        ("b.py", SLEEPY_TEST),
        ("c.py", "import threading\nx = 1\n"),
        ("d.py", "x = 1\n"),
    ]);
    let first = threadlint(dir.path(), &["check", "--verbose"]);
    assert!(
        stderr(&first)
            .contains("Checked 4 files: 3 parsed, 0 from the cache, 1 without any concurrency API"),
        "{}",
        stderr(&first)
    );
    let second = threadlint(dir.path(), &["check", "--verbose"]);
    assert!(
        stderr(&second).contains("Checked 4 files: 0 parsed, 3 from the cache"),
        "{}",
        stderr(&second)
    );
    assert_eq!(stdout(&first), stdout(&second));
    assert!(dir.path().join(".threadlint_cache/.gitignore").is_file());
    // A changed file is parsed again, and only it.
    std::fs::write(dir.path().join("c.py"), "import threading\ny = 2\n").unwrap();
    let third = threadlint(dir.path(), &["check", "--verbose"]);
    assert!(
        stderr(&third).contains("1 parsed, 2 from the cache"),
        "{}",
        stderr(&third)
    );
    let uncached = threadlint(dir.path(), &["check", "--verbose", "--no-cache"]);
    assert!(
        stderr(&uncached).contains("3 parsed"),
        "{}",
        stderr(&uncached)
    );
}

#[test]
fn add_noqa_suppresses_current_findings() {
    let dir = tree(&[(
        "a.py",
        &WAIT_UNDER_IF.replace("cond.wait()", "cond.wait()  # reason"),
    )]);
    let out = threadlint(dir.path(), &["check", "--add-noqa"]);
    assert_eq!(out.status.code(), Some(0));
    let source = std::fs::read_to_string(dir.path().join("a.py")).unwrap();
    assert!(
        source.contains("cond.wait()  # reason  # noqa: TL002\n"),
        "{source}"
    );
    let out = threadlint(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn show_fixes_and_exit_non_zero_on_fix() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF)]);
    let out = threadlint(
        dir.path(),
        &["check", "--fix", "--show-fixes", "--exit-non-zero-on-fix"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a.py:\n    1 × TL002 (wait-not-in-loop)"),
        "{}",
        stderr(&out)
    );
}
