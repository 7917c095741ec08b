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
fn a_2015_crate_file_the_parser_cannot_read_is_not_called_a_syntax_error() {
    // Valid Rust 2015 (a parenthesised trait object with a bound), which the parser of later
    // editions does not read: skipped with a warning that says why, not an error in the code.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    let krate = dir.path().join("old");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"old\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let source = "use std::sync::Mutex;\npub struct Job<'a> {\n    run: Mutex<Box<(FnMut() -> ()) + 'a>>,\n}\n";
    std::fs::write(krate.join("src/lib.rs"), source).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(["check", "--output-format", "json", "--select", "ALL"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = stdout(&out);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let problem = report
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["filename"]
                .as_str()
                .is_some_and(|f| f.ends_with("lib.rs"))
        })
        .unwrap_or_else(|| panic!("no diagnostic for lib.rs: {text}"));
    assert_eq!(problem["name"], "invalid-syntax", "{problem}");
    assert_eq!(problem["severity"], "warning", "{problem}");
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("Rust 2015 crate"), "{message}");
    assert!(!message.contains("syntax error"), "{message}");
}

#[test]
fn non_utf8_file_is_an_error_naming_the_file() {
    let (out, _dir) = run_with("latin1.py", b"# coding: latin-1\nname = '\xe9t\xe9'\n");
    assert_run_went_on(&out);
    assert!(stdout(&out)
        .contains("latin1.py:1:1: unsupported-encoding Skipped latin1.py: not valid UTF-8"));
    // It says what the file declares, so that nobody takes the file for a broken one.
    assert!(stdout(&out).contains("it declares the `latin-1` encoding"));
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
    let source = "import threading\ncond = threading.Condition()\nitems = []\n\ndef f():\n    with cond:\n        if not items: cond.wait()\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), source).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(["check", "--fix", "--output-format", "concise"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.code().is_some());
    let after = std::fs::read_to_string(dir.path().join("a.py")).unwrap();
    // `if not items: cond.wait()` on one line becomes `while not items: cond.wait()`, which
    // parses.
    assert_eq!(after, source.replace("if not items:", "while not items:"));
}

/// Runs the checker on the given tree with a deadline: a run past it is killed and fails the
/// test (the inputs below took minutes, or gigabytes, when costs grew with their square).
fn run_within(dir: &std::path::Path, args: &[&str], seconds: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes while waiting, so a large report cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut text).map(|_| text)
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut text).map(|_| text)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`threadlint {}` took more than {seconds} s", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap().unwrap(),
        stderr: err_reader.join().unwrap().unwrap(),
    }
}

fn check_within(name: &str, content: &str, seconds: u64) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let out = run_within(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--select",
            "ALL",
        ],
        seconds,
    );
    (out, dir)
}

fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|line| line.contains(needle)).count()
}

#[test]
fn thousands_of_acquisitions_in_one_function_stay_linear() {
    // One lock taken 4,000 times, then released 4,000 times: every acquisition after the
    // first re-acquires it. This used to pair each acquisition with every held one (and
    // build a fix re-indenting the rest of the function for each), over 4 GB.
    let n = 4_000;
    let source = format!(
        "import threading\nlock = threading.Lock()\n\ndef f():\n{}{}",
        "    lock.acquire()\n".repeat(n),
        "    lock.release()\n".repeat(n)
    );
    let (out, _dir) = check_within("many.py", &source, 60);
    assert_run_went_on(&out);
    let text = stdout(&out);
    assert_eq!(
        count(&text, "many.py:5:5: TL007"),
        0,
        "the first is no re-acquisition"
    );
    assert_eq!(
        count(&text, ": TL007 "),
        n - 1,
        "{}",
        &text[..2000.min(text.len())]
    );
    assert_eq!(count(&text, ": TL001 "), n - 1);
}

#[test]
fn long_file_of_small_functions_is_checked_in_linear_time() {
    // 40,000 lines of acquire/release functions: each fix measured the file's indentation
    // again, which took seconds at 10,000 lines and minutes beyond.
    let mut source = String::from("import threading\nlock = threading.Lock()\n\n");
    let mut functions = 0;
    while source.lines().count() < 40_000 {
        source.push_str(&format!(
            "def f{functions}():\n    lock.acquire()\n    x = {functions}\n    lock.release()\n\n"
        ));
        functions += 1;
    }
    let (out, _dir) = check_within("long.py", &source, 60);
    assert_run_went_on(&out);
    assert_eq!(
        count(&stdout(&out), "long.py:"),
        functions,
        "TL001 each (TL005 stays quiet on an acquire() that TL001 reports)"
    );
}

#[test]
fn long_rust_integer_literal_is_parsed_in_linear_time() {
    // The parser computes a literal's value digit by digit on a big integer: 100,000 digits
    // took 19 s. Long literals are blanked (same length) before parsing.
    let source = format!(
        "use std::sync::Mutex;\n\nfn f(m: &Mutex<u8>) {{\n    let x = {};\n    let y = 0x{}u128;\n    let _ = m.lock();\n}}\n",
        "1".repeat(100_000),
        "f".repeat(100_000)
    );
    let (out, _dir) = check_within("literal.rs", &source, 60);
    assert_run_went_on(&out);
    let text = stdout(&out);
    assert!(text.contains("literal.rs:6:13: TL017"), "{text}");
    assert!(!text.contains("invalid-syntax"), "{text}");
}

#[test]
fn function_over_the_nesting_budget_is_reported_and_the_rest_checked() {
    // 400 different locks nested in one function: 80,000 ordered pairs, past the budget.
    let n = 400;
    let mut source = String::from("import threading\n");
    for i in 0..n {
        source.push_str(&format!("l{i} = threading.Lock()\n"));
    }
    source.push_str("\ndef f():\n");
    for i in 0..n {
        source.push_str(&format!("    l{i}.acquire()\n"));
    }
    for i in (0..n).rev() {
        source.push_str(&format!("    l{i}.release()\n"));
    }
    source.push_str("\ndef g():\n    with l0:\n        with l0:\n            pass\n");
    let (out, _dir) = check_within("nested.py", &source, 60);
    assert_run_went_on(&out);
    let text = stdout(&out);
    let f_line = n + 3;
    assert!(
        text.contains(&format!("nested.py:{f_line}:5: file-too-complex `f`")),
        "{text}"
    );
    // The next function is analysed in full.
    let inner = f_line + 2 * n + 4;
    assert!(
        text.contains(&format!("nested.py:{inner}:14: TL007")),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn fifo_named_on_the_command_line_is_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("pipe.py"))
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    // Opening a FIFO for reading waits for a writer: this hung forever.
    let out = run_within(
        dir.path(),
        &[
            "check",
            "--output-format",
            "concise",
            "finding.py",
            "pipe.py",
        ],
        60,
    );
    assert_run_went_on(&out);
    assert!(
        stdout(&out).contains(
            "pipe.py:1:1: io-error Skipped pipe.py: a named pipe (FIFO), not a regular file"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(2));
    // In a walk it is not a source file at all.
    let out = run_within(dir.path(), &["check", "--output-format", "concise"], 60);
    assert_run_went_on(&out);
    assert!(!stdout(&out).contains("pipe.py"), "{}", stdout(&out));
}

/// Runs the checker so that file permissions bind it: directly when they bind this process,
/// else (as root) without the capabilities that override them, through `setpriv`. `None`
/// when neither is possible.
#[cfg(unix)]
fn run_bound_by_permissions(dir: &std::path::Path, locked: &std::path::Path) -> Option<Output> {
    let args = ["check", "--no-cache", "--output-format", "concise"];
    if std::fs::read_dir(locked).is_err() {
        return Some(run_within(dir, &args, 60));
    }
    let probe = Command::new("setpriv")
        .args(["--bounding-set=-dac_override,-dac_read_search", "ls"])
        .arg(locked)
        .output()
        .ok()?;
    if probe.status.success() {
        // Even without those capabilities the folder can be read.
        return None;
    }
    let out = Command::new("setpriv")
        .args(["--bounding-set=-dac_override,-dac_read_search"])
        .arg(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Some(out)
}

#[cfg(unix)]
#[test]
fn unreadable_folder_is_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("hidden.py"), FINDING).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run_bound_by_permissions(dir.path(), &locked);
    // Let the temporary folder be removed.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(out) = out else {
        eprintln!(
            "skipped: this process reads any folder whatever its permissions, and `setpriv` \
             cannot drop that privilege here"
        );
        return;
    };
    assert_run_went_on(&out);
    // It said "All checks passed!" with exit status 0, as if the folder held nothing.
    assert!(
        stdout(&out).contains("locked:1:1: io-error Failed to read locked: Permission denied"),
        "{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn damaged_cache_entry_is_analysed_again_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    let run = || {
        run_within(
            dir.path(),
            &["check", "--output-format", "concise", "finding.py"],
            60,
        )
    };
    let first = run();
    assert_run_went_on(&first);
    let entries: Vec<std::path::PathBuf> = walk_files(&dir.path().join(".threadlint_cache"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .filter(|p| p.file_name().is_some_and(|n| n != "names.bin"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let stored = std::fs::read(&entries[0]).unwrap();
    // One bit flipped (`l` is 0x6c, `L` 0x4c) in the message: the entry still decodes.
    let needle = b"not inside a loop";
    let at = stored
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
        + "not inside a ".len();
    let mut damaged = stored.clone();
    damaged[at] ^= 0x20;
    std::fs::write(&entries[0], &damaged).unwrap();
    let second = run();
    assert_eq!(
        stdout(&second),
        stdout(&first),
        "the damaged entry was served"
    );
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        stored,
        "the entry is rewritten"
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[cfg(unix)]
#[test]
fn configuration_link_leaving_the_project_is_not_read_or_quoted() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("credentials");
    std::fs::write(&secret, "token s3cr3t-value-do-not-print\n").unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join(".git")).unwrap();
    std::fs::write(project.path().join("finding.py"), FINDING).unwrap();
    std::os::unix::fs::symlink(&secret, project.path().join("threadlint.toml")).unwrap();
    let out = run_within(
        project.path(),
        &["check", "--output-format", "concise", "finding.py"],
        60,
    );
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    // The parser's message quoted the line of the file the link points to.
    assert!(!all.contains("s3cr3t"), "{all}");
    assert!(
        all.contains("threadlint.toml: a symbolic link to a file outside the project"),
        "{all}"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn configuration_link_inside_the_project_is_read() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join(".git")).unwrap();
    std::fs::write(project.path().join("shared.toml"), "ignore = [\"TL002\"]\n").unwrap();
    let sub = project.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("finding.py"), FINDING).unwrap();
    std::os::unix::fs::symlink("../shared.toml", sub.join("threadlint.toml")).unwrap();
    let out = run_within(
        project.path(),
        &["check", "--output-format", "concise", "sub"],
        60,
    );
    assert!(!stdout(&out).contains("TL002"), "{}", stdout(&out));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_configuration_is_located_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("finding.py"), FINDING).unwrap();
    std::fs::write(
        dir.path().join("threadlint.toml"),
        "select = [\"TL002\"]\nthis line is not toml\n",
    )
    .unwrap();
    let out = run_within(
        dir.path(),
        &["check", "--output-format", "concise", "finding.py"],
        60,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not valid TOML at line 2, column 6"),
        "{stderr}"
    );
    assert!(!stderr.contains("this line"), "{stderr}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn long_call_chain_is_followed_in_linear_time() {
    // f0 calls f1, which calls f2, ... and the last takes the lock: locks acquired through
    // calls were propagated one step of the chain per sweep over every function.
    let n = 20_000;
    let mut source = String::from("import threading\nlock = threading.Lock()\n\n");
    for i in 0..n {
        source.push_str(&format!("def f{i}():\n    f{}()\n\n", i + 1));
    }
    source.push_str(&format!("def f{n}():\n    with lock:\n        pass\n\n"));
    source.push_str("def g():\n    with lock:\n        f0()\n");
    let (out, _dir) = check_within("chain.py", &source, 60);
    assert_run_went_on(&out);
    let call = 3 * n + 3 + 4 + 3;
    assert!(
        stdout(&out).contains(&format!(
            "chain.py:{call}:9: TL007 This call acquires `lock`"
        )),
        "{}",
        stdout(&out)
    );
}
