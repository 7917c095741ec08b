//! Helpers shared by the tests that drive the built binary.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// A temporary folder holding `files` (`(relative path, content)`).
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("folders");
        std::fs::write(path, content).expect("a file");
    }
    dir
}

/// Runs the binary in `dir`, without colour.
pub fn threadlint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A condition wait guarded by `if`: one TL002 at 10:13, fixable.
pub const WAIT_UNDER_IF: &str = "import threading\n\ncond = threading.Condition()\nitems = []\n\n\ndef get():\n    with cond:\n        if not items:\n            cond.wait()\n        return items.pop()\n";
