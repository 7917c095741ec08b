//! Whole projects: every folder under `fixtures/projects/` is checked as one tree with every rule
//! on, the way a user runs `threadlint check` on a repository. Each line that must be reported
//! carries `# expect: TLnnn` (`// expect:` in Rust); every other line of every file must stay
//! silent. These are the findings that need more than one file: lock order across modules,
//! re-acquisition through calls into other modules, objects imported from other files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use threadlint_analyzer::engine::{check, check_with, Input, RunOptions, Settings};

fn projects() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("fixtures/projects exists")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    projects.sort();
    projects
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "rs")) {
            out.push(path);
        }
    }
}

/// `(file, line, code)` for every `expect:` marker of the project.
fn expectations(files: &[PathBuf]) -> BTreeSet<(PathBuf, usize, String)> {
    let mut expected = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(file).expect("a fixture file");
        for (index, line) in source.lines().enumerate() {
            for marker in ["# expect:", "// expect:"] {
                if let Some(pos) = line.find(marker) {
                    for code in line[pos + marker.len()..].split(',') {
                        let code = code.split_whitespace().next().unwrap_or("");
                        if !code.is_empty() {
                            expected.insert((file.clone(), index + 1, code.to_string()));
                        }
                    }
                }
            }
        }
    }
    expected
}

fn check_project(project: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    source_files(project, &mut files);
    let expected = expectations(&files);
    let report = check(
        Input::Paths(vec![project.to_path_buf()]),
        &Settings::default(),
    );
    let mut found = BTreeSet::new();
    for (file, diagnostic) in report.diagnostics() {
        let code = diagnostic.code.unwrap_or(diagnostic.name);
        let line = file.lines.line_of(diagnostic.span.start) + 1;
        found.insert((file.path.clone(), line, code.to_string()));
    }
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    if missing.is_empty() && unexpected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}:\n  missing: {missing:?}\n  unexpected: {unexpected:?}",
            project.display()
        ))
    }
}

#[test]
fn every_project_reports_exactly_its_expectations() {
    let projects = projects();
    assert!(!projects.is_empty(), "no fixture projects found");
    let failures: Vec<String> = projects
        .iter()
        .filter_map(|project| check_project(project).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A run sees the files it is given: the two halves of an inversion checked together are
/// reported, one half alone is not a cycle.
#[test]
fn a_run_sees_only_the_files_it_is_given() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/python_shop/shop");
    let alone = check(
        Input::Paths(vec![shop.join("orders.py"), shop.join("locks.py")]),
        &Settings::default(),
    );
    assert!(
        !alone
            .diagnostics()
            .any(|(_, d)| d.code == Some("TL004") && d.message.contains("STOCK_LOCK")),
        "one half of the inversion alone is no cycle"
    );
    let both = check(
        Input::Paths(vec![
            shop.join("orders.py"),
            shop.join("locks.py"),
            shop.join("stock.py"),
            shop.join("__init__.py"),
        ]),
        &Settings::default(),
    );
    let inversions = both
        .diagnostics()
        .filter(|(_, d)| d.code == Some("TL004") && d.message.contains("STOCK_LOCK"))
        .count();
    assert_eq!(inversions, 2, "both halves of the inversion are reported");
}

/// Files named one by one are checked against the rest of their project (as pre-commit names
/// only the changed files): the inversion whose other half is in an unchanged file is found, and
/// only the named file is reported.
#[test]
fn named_files_are_checked_against_their_project() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/python_shop/shop");
    let options = RunOptions {
        project_context: true,
        ..RunOptions::default()
    };
    let report = check_with(
        Input::Paths(vec![shop.join("orders.py")]),
        &Settings::default(),
        &options,
    );
    assert!(report
        .files
        .iter()
        .all(|f| f.path == shop.join("orders.py")));
    let lines: Vec<usize> = report
        .diagnostics()
        .filter(|(_, d)| d.code == Some("TL004"))
        .map(|(file, d)| file.lines.line_of(d.span.start) + 1)
        .collect();
    assert_eq!(lines, vec![8, 20]);
    assert_eq!(report.checked, 1);
}

/// `threadlint graph` draws the order the code takes its locks in, cycles in red.
#[test]
fn graph_draws_the_lock_order_with_cycles() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/python_shop");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_threadlint"))
            .arg("graph")
            .arg(&project)
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let dot = run(&["--format", "dot"]);
    assert!(dot.starts_with("digraph lock_order {"));
    let id = |name: &str| {
        let line = dot
            .lines()
            .find(|l| l.contains(&format!("\\n{name}\"")))
            .unwrap_or_else(|| panic!("{name} is drawn:\n{dot}"));
        line.trim().split(' ').next().unwrap_or("").to_string()
    };
    let (fetch, parse) = (id("shop.locks.FETCH_LOCK"), id("shop.locks.PARSE_LOCK"));
    let (session, cart) = (id("shop.locks.SESSION_LOCK"), id("shop.locks.CART_LOCK"));
    let edge = |a: &str, b: &str| {
        dot.lines()
            .find(|l| l.trim().starts_with(&format!("{a} -> {b} ")))
            .unwrap_or_else(|| panic!("{a} -> {b} is drawn:\n{dot}"))
            .to_string()
    };
    assert!(edge(&fetch, &parse).contains("color=red"));
    assert!(edge(&fetch, &parse).contains("shop/fetch.py:6"));
    // Taken in one order everywhere (directly and through a call into cart.py): no cycle.
    let consistent = edge(&session, &cart);
    assert!(!consistent.contains("color=red"), "{consistent}");
    assert!(consistent.contains("(+1 more)"), "{consistent}");

    let cycles = run(&["--format", "mermaid", "--cycles-only"]);
    assert!(cycles.starts_with("flowchart LR\n"));
    assert!(cycles.contains("shop.locks.FETCH_LOCK"));
    assert!(!cycles.contains("shop.locks.CART_LOCK"));
    assert!(cycles.contains("linkStyle "));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from)
        .expect("a readable folder")
        .flatten()
    {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("a copy");
        }
    }
}

/// A run over `project` with default settings and `cache`.
fn cached_run(
    project: &Path,
    cache: &threadlint_analyzer::cache::Cache,
) -> threadlint_analyzer::engine::Report {
    let options = RunOptions {
        cache: Some(cache),
        ..RunOptions::default()
    };
    check_with(
        Input::Paths(vec![project.to_path_buf()]),
        &Settings::default(),
        &options,
    )
}

/// A cached re-run of an unchanged project parses nothing, files analysed with the project
/// index included; a change in a module that others import re-analyses that module and the
/// files that use its objects, and the findings follow the change.
#[test]
fn cached_runs_reanalyse_what_depends_on_a_changed_module() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let project = work.path().join("python_shop");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/python_shop"),
        &project,
    );
    let cache = threadlint_analyzer::cache::Cache::open(&work.path().join("cache"))
        .expect("a cache folder");
    let run = || cached_run(&project, &cache);
    let findings = |report: &threadlint_analyzer::engine::Report| -> Vec<String> {
        report
            .diagnostics()
            .map(|(file, d)| format!("{}:{}:{}", file.display_path(), d.span.start, d.message))
            .collect()
    };
    let first = run();
    assert!(first.parsed > 0);
    let second = run();
    assert_eq!(
        second.parsed, 0,
        "an unchanged project is served from the cache"
    );
    assert_eq!(findings(&first), findings(&second));

    // The stock lock becomes reentrant: locks.py and the files that use it are analysed again
    // (their findings are those of an uncached run), the rest comes from the cache.
    let locks = project.join("shop/locks.py");
    let text = std::fs::read_to_string(&locks).expect("locks.py");
    std::fs::write(
        &locks,
        text.replace(
            "STOCK_LOCK = threading.Lock()",
            "STOCK_LOCK = threading.RLock()",
        ),
    )
    .expect("written");
    let third = run();
    assert!(third.parsed >= 3, "locks.py and the files using STOCK_LOCK");
    assert!(third.parsed < first.parsed, "not the whole project");
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(
        findings(&third),
        findings(&fresh),
        "cached and uncached runs agree"
    );

    // `pause` stops being a function that only sleeps: the files that poll with it lose their
    // TL003 findings, though their own text did not change.
    let timing = project.join("shop/timing.py");
    let text = std::fs::read_to_string(&timing).expect("timing.py");
    std::fs::write(
        &timing,
        text.replace(
            "    time.sleep(seconds)\n\n\ndef pause_and_log",
            "    time.sleep(seconds)\n    return seconds\n\n\ndef pause_and_log",
        ),
    )
    .expect("written");
    let fourth = run();
    assert!(fourth.parsed < first.parsed, "not the whole project");
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(
        findings(&fourth),
        findings(&fresh),
        "cached and uncached runs agree"
    );
    assert!(
        findings(&fourth).len() < findings(&third).len(),
        "the polling loops through `pause` are no longer reported"
    );
}

/// A two-module package for the cache tests: `locks.py` takes `ACCOUNTS` then `LEDGER`;
/// `audit.py` names no concurrency API, or takes them in the other order, or in the same one.
const BANK_LOCKS: &str = "import threading\n\nACCOUNTS = threading.Lock()\nLEDGER = threading.Lock()\n\n\ndef post():\n    with ACCOUNTS:\n        with LEDGER:\n            pass\n";
const AUDIT_SKIPPED: &str = "from bank import locks\n\n\ndef audit():\n    return locks\n";
const AUDIT_INVERTED: &str = "from bank.locks import ACCOUNTS, LEDGER\n\n\ndef audit():\n    with LEDGER:\n        with ACCOUNTS:\n            pass\n";
const AUDIT_ORDERED: &str = "from bank.locks import ACCOUNTS, LEDGER\n\n\ndef audit():\n    with ACCOUNTS:\n        with LEDGER:\n            pass\n";

/// How many findings of the rule named `name` a report holds.
fn count_named(report: &threadlint_analyzer::engine::Report, name: &str) -> usize {
    report.diagnostics().filter(|(_, d)| d.name == name).count()
}

fn set_modified(path: &Path, time: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .expect("modification time set");
}

/// The link step's stored answers ("this skipped file names none of the project's locks") are
/// keyed by the file's text: a file edited to use another file's locks is searched again, on a
/// cached run too.
#[test]
fn a_skipped_file_edited_to_use_a_lock_is_searched_again() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let project = work.path().join("bank");
    std::fs::create_dir_all(project.join("bank")).expect("folders");
    let write = |name: &str, text: &str| {
        std::fs::write(project.join("bank").join(name), text).expect("written");
    };
    write("__init__.py", "");
    write("locks.py", BANK_LOCKS);
    // Names no concurrency API: the prefilter skips it.
    write("audit.py", AUDIT_SKIPPED);
    let cache = threadlint_analyzer::cache::Cache::open(&work.path().join("cache"))
        .expect("a cache folder");
    let run = || cached_run(&project, &cache);
    assert_eq!(inversions(&run()), 0);
    assert_eq!(inversions(&run()), 0, "cached: the same");
    write("audit.py", AUDIT_INVERTED);
    let edited = run();
    assert_eq!(inversions(&edited), 2, "both sites of the cycle");
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(inversions(&fresh), 2);
}

/// A run over `project` with the cache in `cache_dir`, opened anew as each run of the command
/// opens it.
fn run_with_cache_in(cache_dir: &Path, project: &Path) -> threadlint_analyzer::engine::Report {
    let cache = threadlint_analyzer::cache::Cache::open(cache_dir).expect("a cache folder");
    cached_run(project, &cache)
}

/// How many lock-order findings a report holds.
fn inversions(report: &threadlint_analyzer::engine::Report) -> usize {
    count_named(report, "lock-order-inversion")
}

/// Writes `text` to `path` with a modification time `age_seconds` in the past (a file modified
/// in the last seconds never proves it is unchanged).
fn write_aged(path: &Path, text: &str, age_seconds: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folders");
    }
    std::fs::write(path, text).expect("written");
    set_modified(
        path,
        std::time::SystemTime::now() - std::time::Duration::from_secs(age_seconds),
    );
}

/// A second run over the same unchanged folder is the first run's outcome, stored whole: it is
/// served with every per-file entry gone. A file edited since, or one added, makes it a miss.
#[test]
fn an_unchanged_tree_is_answered_by_the_last_runs_outcome() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let project = work.path().join("bank");
    write_aged(&project.join("bank/__init__.py"), "", 3600);
    write_aged(&project.join("bank/locks.py"), BANK_LOCKS, 3600);
    write_aged(&project.join("bank/audit.py"), AUDIT_INVERTED, 3600);
    let cache_dir = work.path().join("cache");
    let run = || run_with_cache_in(&cache_dir, &project);
    let first = run();
    assert_eq!(inversions(&first), 2);
    // Every per-file entry and first look removed: only the run's outcome is left.
    let mut removed = 0;
    for version in std::fs::read_dir(&cache_dir)
        .expect("the cache folder")
        .flatten()
    {
        for entry in std::fs::read_dir(version.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("run-") {
                std::fs::remove_file(entry.path()).expect("removed");
                removed += 1;
            }
        }
    }
    assert!(removed >= 3, "the per-file entries were stored");
    let second = run();
    assert_eq!(second.parsed, 0, "nothing parsed");
    assert_eq!(inversions(&second), 2, "the same findings");
    let quoted = second
        .files
        .iter()
        .filter(|file| !file.diagnostics.is_empty())
        .all(|file| !file.source.is_empty());
    assert!(quoted, "the files the report shows are read, to quote them");
    // An edit (another modification time) is a miss.
    write_aged(&project.join("bank/audit.py"), AUDIT_ORDERED, 1800);
    let edited = run();
    assert!(edited.parsed > 0);
    assert_eq!(inversions(&edited), 0);
    // So is a file added: a third site of the cycle.
    write_aged(&project.join("bank/more.py"), AUDIT_INVERTED, 1800);
    assert_eq!(inversions(&run()), 3);
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(inversions(&fresh), 3);
}

/// A package made above the folder checked changes the modules of its files (`bank.locks`
/// becomes `outer.bank.locks`, and `from bank.locks import ..` no longer names it) though no
/// file checked changed: nothing stored from before is served.
#[test]
fn a_package_made_above_the_checked_folder_is_not_served_from_the_cache() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let outer = work.path().join("outer");
    write_aged(&outer.join("bank/__init__.py"), "", 3600);
    // Defines the locks and takes neither: nothing in it needs its text on a cached run.
    let definitions =
        "import threading\n\nACCOUNTS = threading.Lock()\nLEDGER = threading.Lock()\n";
    write_aged(&outer.join("bank/locks.py"), definitions, 3600);
    write_aged(&outer.join("bank/audit.py"), AUDIT_INVERTED, 3600);
    write_aged(&outer.join("bank/post.py"), AUDIT_ORDERED, 3600);
    let folder = outer.join("bank");
    let cache_dir = work.path().join("cache");
    let run = || run_with_cache_in(&cache_dir, &folder);
    assert_eq!(inversions(&run()), 2);
    assert_eq!(inversions(&run()), 2);
    write_aged(&outer.join("__init__.py"), "", 3600);
    let fresh = check(Input::Paths(vec![folder.clone()]), &Settings::default());
    assert_eq!(inversions(&fresh), 0, "the import no longer resolves");
    assert_eq!(inversions(&run()), 0, "cached and uncached runs agree");
}

/// Every finding of a run over the fixtures and the fixture projects, as `(file, line, code)`.
fn findings_of(strict: bool, no_prefilter: bool) -> BTreeSet<(PathBuf, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let settings = Settings {
        rules: threadlint_rules::RuleSettings {
            missing_timeout_strict: strict,
        },
        ..Settings::default()
    };
    let options = RunOptions {
        no_prefilter,
        ..RunOptions::default()
    };
    let report = check_with(Input::Paths(vec![root]), &settings, &options);
    let mut found = BTreeSet::new();
    for (file, diagnostic) in report.diagnostics() {
        let code = diagnostic.code.unwrap_or(diagnostic.name);
        let line = file.lines.line_of(diagnostic.span.start) + 1;
        found.insert((file.path.clone(), line, code.to_string()));
    }
    found
}

/// The prefilter skips files that cannot have findings: over every fixture, with the strict set
/// of `missing-timeout` off and on, skipping them loses nothing.
#[test]
fn the_prefilter_loses_no_finding() {
    for strict in [false, true] {
        let filtered = findings_of(strict, false);
        let unfiltered = findings_of(strict, true);
        assert!(!unfiltered.is_empty(), "the fixtures have findings");
        let lost: Vec<_> = unfiltered.difference(&filtered).collect();
        assert!(
            lost.is_empty(),
            "strict = {strict}: findings lost to the prefilter: {lost:?}"
        );
    }
}

/// A file whose size and modification time are those of the last run is not read again: what
/// the last run's first look found is served. A file edited since (another size or time) is
/// read and analysed again, whether the prefilter had skipped it or not.
#[test]
fn unchanged_files_are_served_by_size_and_time_and_edited_ones_are_read() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let project = work.path().join("bank");
    std::fs::create_dir_all(project.join("bank")).expect("folders");
    // Modification times well in the past: a file modified in the last seconds is always read.
    let write = |name: &str, text: &str, age_seconds: u64| {
        let path = project.join("bank").join(name);
        std::fs::write(&path, text).expect("written");
        set_modified(
            &path,
            std::time::SystemTime::now() - std::time::Duration::from_secs(age_seconds),
        );
    };
    write("__init__.py", "", 3600);
    write("locks.py", BANK_LOCKS, 3600);
    write("audit.py", AUDIT_SKIPPED, 3600);
    let cache_dir = work.path().join("cache");
    // A new cache for each run, as each run of the command opens it.
    let run = || run_with_cache_in(&cache_dir, &project);
    assert_eq!(inversions(&run()), 0);
    assert!(
        std::fs::read_dir(&cache_dir)
            .expect("the cache folder")
            .flatten()
            .any(|version| version.path().join("seen.bin").is_file()),
        "the first looks are stored"
    );
    let second = run();
    assert_eq!(second.parsed, 0, "nothing parsed");
    assert_eq!(inversions(&second), 0);
    // The skipped file is edited to take the locks in the other order (an older time than
    // now, but another one).
    write("audit.py", AUDIT_INVERTED, 1800);
    assert_eq!(inversions(&run()), 2, "the edited file is read");
    assert_eq!(inversions(&run()), 2, "and served unchanged afterwards");
    // Edited back to the same order, same size as before the edit is not needed: its time moved.
    write("audit.py", AUDIT_ORDERED, 900);
    assert_eq!(inversions(&run()), 0, "the analysed file is read again");
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(inversions(&fresh), 0);
    // What makes it fast, shown by its one blind spot (git's index has the same): text of the
    // same size put back under the same modification time is not read.
    let edited = "import threading\nL = threading.Lock()\n\n\ndef f():\n    L.acquire()\n";
    let blank = format!("{}\n", "#".repeat(edited.len() - 1));
    write("note.py", &blank, 600);
    let waits =
        |report: &threadlint_analyzer::engine::Report| count_named(report, "missing-timeout");
    assert_eq!(waits(&run()), 0);
    let note = project.join("bank/note.py");
    let time = std::fs::metadata(&note)
        .and_then(|m| m.modified())
        .expect("a modification time");
    std::fs::write(&note, edited).expect("written");
    set_modified(&note, time);
    assert_eq!(waits(&run()), 0, "served from the last run's look");
    let fresh = check(Input::Paths(vec![project.clone()]), &Settings::default());
    assert_eq!(waits(&fresh), 1, "the text did change");
}
