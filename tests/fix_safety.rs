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

mod never_a_wrong_fix {
    use std::path::{Path, PathBuf};

    use threadlint_analyzer::engine::{check, Input, Settings};
    use threadlint_analyzer::fixing::{fix_source, FixResult};
    use threadlint_analyzer::selection::{RuleSelection, Selector};
    use threadlint_analyzer::Diagnostic;

    fn settings(codes: &[&str]) -> Settings {
        let selectors: Vec<Selector> = codes
            .iter()
            .map(|c| Selector::parse(c).expect("a rule code"))
            .collect();
        Settings {
            selection: RuleSelection::resolve(Some(&selectors), &[], &[]),
            ..Settings::default()
        }
    }

    fn diagnostics(name: &str, source: &str, codes: &[&str]) -> Vec<Diagnostic> {
        let report = check(
            Input::Source {
                path: PathBuf::from(name),
                text: source.to_string(),
            },
            &settings(codes),
        );
        report.diagnostics().map(|(_, d)| d.clone()).collect()
    }

    fn fixed(name: &str, source: &str, codes: &[&str]) -> FixResult {
        fix_source(Path::new(name), source, &settings(codes), true)
    }

    const EARLY_RELEASE: &str = "import threading\nlock = threading.Lock()\n\n\ndef take(queue):\n    lock.acquire()\n    if not queue:\n        lock.release()\n        return None\n    item = queue.pop()\n    lock.release()\n    return item\n";

    #[test]
    fn bare_acquire_with_an_early_release_is_reported_but_not_fixed() {
        let found = diagnostics("take.py", EARLY_RELEASE, &["TL001"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].fix, None, "the `with` block would release twice");
        let result = fixed("take.py", EARLY_RELEASE, &["TL001"]);
        assert_eq!(result.source, EARLY_RELEASE);
    }

    #[test]
    fn bare_acquire_with_a_timeout_or_without_blocking_is_not_fixed() {
        for call in [
            "acquire(timeout=5)",
            "acquire(False)",
            "acquire(blocking=False)",
        ] {
            let source = format!("import threading\nlock = threading.Lock()\n\n\ndef f():\n    lock.{call}\n    work()\n    lock.release()\n");
            let found = diagnostics("f.py", &source, &["TL001"]);
            assert_eq!(found.len(), 1, "{call}: {found:?}");
            assert_eq!(
                found[0].fix, None,
                "{call}: `with lock:` would wait forever"
            );
        }
    }

    #[test]
    fn fix_that_changes_what_a_path_releases_is_withheld() {
        // `continue` skips the release; a `with` block would release there: the rule offers the
        // rewrite, the check after fixing refuses it.
        let source = "import threading\nlock = threading.Lock()\n\n\ndef drain(items):\n    for item in items:\n        lock.acquire()\n        if item is None:\n            continue\n        use(item)\n        lock.release()\n";
        let found = diagnostics("drain.py", source, &["TL001"]);
        assert!(found[0].fix.is_some(), "{found:?}");
        let result = fixed("drain.py", source, &["TL001"]);
        assert_eq!(result.source, source);
        assert_eq!((result.fixed, result.withheld), (0, 1));
        assert!(result.converged);
    }

    #[test]
    fn wait_on_a_local_or_a_parameter_gets_no_while_fix() {
        let source = "import threading\ncond = threading.Condition()\nitems = []\n\n\ndef get(started):\n    with cond:\n        if not started:\n            cond.wait()\n\n\ndef pop():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n";
        let found = diagnostics("get.py", source, &["TL002"]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].fix, None, "`while not started` would never end");
        let shared = found[1]
            .fix
            .as_ref()
            .expect("a fix for the shared predicate");
        assert_eq!(shared.applicability, threadlint_rules::Applicability::Safe);
    }

    #[test]
    fn rust_wait_on_the_guard_is_safe_on_a_parameter_is_not_fixed() {
        let source = "use std::sync::{Condvar, Mutex};\n\nfn f(lock: &Mutex<bool>, cvar: &Condvar, started: bool) {\n    let mut ready = lock.lock().unwrap();\n    if !*ready {\n        ready = cvar.wait(ready).unwrap();\n    }\n    if !started {\n        let _r = cvar.wait(ready).unwrap();\n    }\n}\n";
        let found = diagnostics("f.rs", source, &["TL002"]);
        assert_eq!(found.len(), 2, "{found:?}");
        let fix = found[0].fix.as_ref().expect("a fix on the guarded flag");
        assert_eq!(fix.applicability, threadlint_rules::Applicability::Safe);
        assert_eq!(found[1].fix, None);
    }

    #[test]
    fn two_discarded_guards_of_one_mutex_do_not_become_two_live_guards() {
        let source = "use std::sync::Mutex;\n\nfn f(m: &Mutex<u32>) {\n    let _ = m.lock();\n    let _ = m.lock();\n}\n";
        let found = diagnostics("f.rs", source, &["TL017"]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0].fix, None,
            "keeping the first guard deadlocks on the second"
        );
        let result = fixed("f.rs", source, &["TL017"]);
        assert!(
            result
                .source
                .contains("    let _ = m.lock();\n    let _guard = m.lock();"),
            "{}",
            result.source
        );
        assert!(diagnostics("f.rs", &result.source, &["TL007"]).is_empty());
    }

    #[test]
    fn fix_that_adds_a_self_deadlock_through_a_call_is_withheld_whatever_the_selection() {
        let source = "use std::sync::Mutex;\n\nstruct S {\n    m: Mutex<u32>,\n}\n\nimpl S {\n    fn f(&self) {\n        let _ = self.m.lock();\n        self.g();\n    }\n\n    fn g(&self) {\n        *self.m.lock().unwrap() += 1;\n    }\n}\n";
        let result = fixed("s.rs", source, &["TL017"]);
        assert_eq!(result.source, source, "the fix would add a TL007");
        assert_eq!((result.fixed, result.withheld), (0, 1));
    }

    #[test]
    fn bare_acquire_is_one_finding_not_also_a_missing_timeout() {
        let source = "import threading\nlock = threading.Lock()\n\n\ndef f():\n    lock.acquire()\n    work()\n    lock.release()\n\n\ndef g():\n    lock.acquire()\n    try:\n        work()\n    finally:\n        lock.release()\n";
        let codes: Vec<_> = diagnostics("f.py", source, &["TL001", "TL005"])
            .iter()
            .map(|d| (d.code, d.span.start))
            .collect();
        // `f`: TL001 only; `g` is protected, so its acquisition without timeout is TL005.
        assert_eq!(codes, vec![(Some("TL001"), 56), (Some("TL005"), 116)]);
        // Without TL001, TL005 reports both.
        assert_eq!(diagnostics("f.py", source, &["TL005"]).len(), 2);
    }
}

#[test]
fn add_noqa_writes_one_code_for_a_bare_acquire() {
    let source = "import threading\nlock = threading.Lock()\n\n\ndef f():\n    lock.acquire()\n    work()\n    lock.release()\n";
    let dir = tree(&[("f.py", source)]);
    let out = threadlint(dir.path(), &["check", "--isolated", "--add-noqa", "f.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(dir.path().join("f.py")).expect("the file");
    assert!(
        written.contains("    lock.acquire()  # noqa: TL001\n"),
        "{written}"
    );
}

#[test]
fn fix_says_how_many_fixes_it_withheld() {
    let source = "use std::sync::Mutex;\n\nstruct S {\n    m: Mutex<u32>,\n}\n\nimpl S {\n    fn f(&self) {\n        let _ = self.m.lock();\n        self.g();\n    }\n\n    fn g(&self) {\n        *self.m.lock().unwrap() += 1;\n    }\n}\n";
    let dir = tree(&[("s.rs", source)]);
    let out = threadlint(
        dir.path(),
        &["check", "--isolated", "--fix", "--unsafe-fixes", "s.rs"],
    );
    assert!(
        stderr(&out).contains("1 fix was not applied: the fixed code would deadlock"),
        "{}",
        stderr(&out)
    );
    let after = std::fs::read_to_string(dir.path().join("s.rs")).expect("the file");
    assert_eq!(after, source);
}
