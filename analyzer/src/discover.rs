//! Finding the files to check: explicit files as given, folders walked with `ignore`
//! (honouring `.gitignore`, skipping hidden files and the usual environment folders).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use threadlint_rules::model::Language;

use crate::settings::SettingsSource;

/// The files to check under `paths`, sorted and without duplicates. A path that does not exist
/// is kept, so that reading it reports the error. Files named explicitly are checked even when
/// configuration excludes them, unless `force_exclude`.
pub fn files(
    paths: &[PathBuf],
    settings: &dyn SettingsSource,
    force_exclude: bool,
) -> Vec<PathBuf> {
    walk(paths, settings, force_exclude).files
}

/// What a walk found: the files to check, and the folders it could not read.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<PathBuf>,
    /// Folders (or entries) that could not be read, with the reason; sorted by path.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// [`files`], with the folders that could not be read: a run must not pass them over
/// silently, as if they held nothing to check.
pub fn walk(paths: &[PathBuf], settings: &dyn SettingsSource, force_exclude: bool) -> Discovered {
    let found = Mutex::new(Vec::new());
    let unreadable = Mutex::new(Vec::new());
    for path in paths {
        if !path.is_dir() {
            if !(force_exclude && excluded_with_ancestors(path, settings)) {
                found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(path.clone());
            }
            continue;
        }
        if force_exclude && excluded_with_ancestors(path, settings) {
            continue;
        }
        let gitignore = settings.respect_gitignore(path);
        let walker = ignore::WalkBuilder::new(path)
            .hidden(true)
            .git_ignore(gitignore)
            .ignore(gitignore)
            .git_exclude(gitignore)
            .git_global(false)
            .require_git(false)
            .build_parallel();
        walker.run(|| {
            Box::new(|entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        let (at, reason) = describe(&error);
                        unreadable
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((at.unwrap_or_else(|| path.clone()), reason));
                        return ignore::WalkState::Continue;
                    }
                };
                {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    // Files of other languages are passed over before any configuration is
                    // looked up for them.
                    if is_file && !is_checked(entry.path()) {
                        return ignore::WalkState::Continue;
                    }
                    if entry.depth() > 0 && settings.is_excluded_entry(entry.path(), !is_file) {
                        return ignore::WalkState::Skip;
                    }
                    if is_file {
                        found
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(entry.into_path());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut files = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // By bytes: comparing paths component by component was a tenth of a cached run.
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    files.dedup();
    let mut unreadable = unreadable
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    unreadable.sort();
    unreadable.dedup();
    Discovered { files, unreadable }
}

/// The path a walk error is about, and the reason without the path (the report names it).
fn describe(error: &ignore::Error) -> (Option<PathBuf>, String) {
    match error {
        ignore::Error::WithPath { path, err } => (Some(path.clone()), describe(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            describe(err)
        }
        ignore::Error::Partial(errors) => match errors.first() {
            Some(first) => describe(first),
            None => (None, error.to_string()),
        },
        ignore::Error::Loop { child, .. } => (
            Some(child.clone()),
            "a symbolic link loops back to a folder above it".into(),
        ),
        ignore::Error::Io(io) => (None, io.to_string()),
        other => (None, other.to_string()),
    }
}

fn is_checked(path: &Path) -> bool {
    language_of(path).is_some()
}

/// A path named explicitly is excluded when it, or a folder above it, matches an exclude.
fn excluded_with_ancestors(path: &Path, settings: &dyn SettingsSource) -> bool {
    path.ancestors()
        .take_while(|p| !p.as_os_str().is_empty())
        .any(|p| settings.is_excluded(p))
}

/// The language of a source file, by its extension; `None` for files threadlint does not read.
pub fn language_of(path: &Path) -> Option<Language> {
    match path.extension()?.to_str()? {
        "py" | "pyw" => Some(Language::Python),
        "rs" => Some(Language::Rust),
        _ => None,
    }
}
