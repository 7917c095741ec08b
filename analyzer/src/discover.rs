//! Finding the files to check: explicit files as given, folders walked with `ignore`
//! (honouring `.gitignore`, skipping hidden files and the usual environment folders).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::language_of;

/// Folders never descended into unless named on the command line (virtual environments,
/// caches, build output).
const DEFAULT_EXCLUDES: &[&str] = &[
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".mypy_cache", ".nox", ".pytype", ".ruff_cache",
    ".svn", ".tox", ".venv", ".threadlint_cache", "__pycache__", "__pypackages__", "_build",
    "buck-out", "node_modules", "site-packages", "venv",
];

/// The files to check under `paths`, sorted and without duplicates. A path that does not exist
/// is kept, so that reading it reports the error.
pub fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let found = Mutex::new(Vec::new());
    for path in paths {
        if !path.is_dir() {
            found.lock().unwrap_or_else(|e| e.into_inner()).push(path.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(path)
            .hidden(true)
            .git_ignore(true)
            .git_global(false)
            .require_git(false)
            .filter_entry(|entry| {
                entry.depth() == 0
                    || !entry.file_type().is_some_and(|t| t.is_dir())
                    || !DEFAULT_EXCLUDES.contains(&entry.file_name().to_string_lossy().as_ref())
            })
            .build_parallel();
        walker.run(|| {
            Box::new(|entry| {
                if let Ok(entry) = entry {
                    if entry.file_type().is_some_and(|t| t.is_file()) && is_checked(entry.path()) {
                        found.lock().unwrap_or_else(|e| e.into_inner()).push(entry.into_path());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut files = found.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort();
    files.dedup();
    files
}

fn is_checked(path: &Path) -> bool {
    language_of(path).is_some()
}
