//! End-to-end tests with the real consumers, which these tests install themselves: pre-commit
//! from PyPI, Microsoft's SARIF validator from npm, and pytest-lsp (an LSP client) from PyPI. They take minutes and need the package
//! registries, so they are `#[ignore]`d in a plain `cargo test`; the README's test command (and
//! CI) runs them with `--include-ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BAD: &str = "import threading\n\ncond = threading.Condition()\nitems = []\n\n\ndef get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The build folder of this test run (`target/`, or `CARGO_TARGET_DIR`): the binary under test
/// lives in its `debug/` folder.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_threadlint"))
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} could not start: {e}"));
    output
}

fn ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn git(dir: &Path, args: &[&str]) {
    ok(Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com"));
}

#[test]
#[ignore = "installs pre-commit from PyPI and builds the wheel; run with --include-ignored"]
fn pre_commit_try_repo_fails_on_a_finding_and_passes_once_fixed() {
    let work = tempfile::tempdir().unwrap();
    let venv = work.path().join("venv");
    ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let python = venv.join("bin/python");
    ok(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "pre-commit",
    ]));

    let project = work.path().join("project");
    std::fs::create_dir(&project).unwrap();
    git(&project, &["init", "--quiet"]);
    std::fs::write(project.join("queue_user.py"), BAD).unwrap();
    git(&project, &["add", "."]);
    git(&project, &["commit", "--quiet", "-m", "add a file"]);

    // Reuse this checkout's build folder and the debug profile: the hook environment builds the
    // same binary the tests already compiled, in seconds instead of a release build.
    let try_repo = |expect_success: bool| {
        let output = run(Command::new(venv.join("bin/pre-commit"))
            .args(["try-repo"])
            .arg(repo_root())
            .args(["threadlint", "--all-files", "--color", "never"])
            .current_dir(&project)
            .env("PRE_COMMIT_HOME", work.path().join("cache"))
            .env("CARGO_TARGET_DIR", target_dir())
            .env("MATURIN_PEP517_ARGS", "--profile dev"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.success(), expect_success, "{text}");
        text
    };
    let failing = try_repo(false);
    assert!(failing.contains("queue_user.py:10:13"), "{failing}");
    assert!(failing.contains("TL002"), "{failing}");

    std::fs::write(
        project.join("queue_user.py"),
        BAD.replace("if not items", "while not items"),
    )
    .unwrap();
    git(&project, &["commit", "--quiet", "-am", "fix the wait"]);
    let passing = try_repo(true);
    assert!(passing.contains("Passed"), "{passing}");
}

#[test]
#[ignore = "installs @microsoft/sarif-multitool from npm; run with --include-ignored"]
fn sarif_output_passes_the_sarif_multitool_validator() {
    let work = tempfile::tempdir().unwrap();
    ok(Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(work.path())
        .arg("@microsoft/sarif-multitool@5.7.0"));
    let project = work.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("a.py"), BAD).unwrap();
    std::fs::create_dir(project.join("sub dir")).unwrap();
    std::fs::write(
        project.join("sub dir/b.py"),
        "import threading\na = threading.Lock()\nb = threading.Lock()\n\ndef f():\n    with a:\n        with b:\n            pass\n\ndef g():\n    with b:\n        with a:\n            pass\n",
    )
    .unwrap();
    let output = run(Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args([
            "check",
            "--output-format",
            "sarif",
            "--output-file",
            "out.sarif",
            "--no-cache",
        ])
        .current_dir(&project));
    assert_eq!(output.status.code(), Some(1));
    let validation = project.join("validation.sarif");
    let result = run(
        Command::new(work.path().join("node_modules/.bin/sarif-multitool"))
            .args(["validate", "out.sarif", "--output"])
            .arg(&validation)
            .current_dir(&project),
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&validation).unwrap_or_else(|e| {
            panic!(
                "no validation log ({e}):\n{}\n{}",
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            )
        }))
        .unwrap();
    let problems: Vec<String> = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| format!("{}: {}", r["ruleId"], r["message"]))
        .collect();
    assert!(
        problems.is_empty(),
        "SARIF validation errors:\n{}",
        problems.join("\n")
    );
}

#[test]
#[ignore = "installs pytest-lsp from PyPI; run with --include-ignored"]
fn lsp_editor_session_with_pytest_lsp_applies_the_quick_fix() {
    // tests/lsp_e2e/test_editor_session.py: open a file with TL002, receive the diagnostic,
    // apply the quick fix, see it go away; as VS Code (push) and as Neovim 0.11 (pull).
    let work = tempfile::tempdir().unwrap();
    let venv = work.path().join("venv");
    ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let python = venv.join("bin/python");
    let suite = repo_root().join("tests/lsp_e2e");
    ok(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(suite.join("requirements.txt")));
    let output = run(Command::new(&python)
        .args(["-m", "pytest", "-v", "--basetemp"])
        .arg(work.path().join("pytest"))
        .arg(&suite)
        .current_dir(&suite)
        .env("THREADLINT_BIN", env!("CARGO_BIN_EXE_threadlint"))
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("2 passed"), "{text}");
}
