//! What decides what a run reports for a file ([`Settings`]), and where each file's settings
//! come from ([`SettingsSource`]: one for everything, or configuration files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use threadlint_rules::{RuleSettings, Severity};

use globset::GlobMatcher;

use crate::selection::{RuleSelection, Selector};

/// Everything that decides what a run reports for one file; its `Hash` is part of the cache
/// key, so a field added here is in the key too.
#[derive(Clone, Debug, Default, Hash)]
pub struct Settings {
    pub selection: RuleSelection,
    pub rules: RuleSettings,
    /// Severity overrides per rule code.
    pub severity: BTreeMap<&'static str, Severity>,
    pub per_file_ignores: Vec<PerFileIgnore>,
    /// The folder of the configuration file (globs are relative to it).
    pub root: Option<PathBuf>,
}

/// Where each file's settings come from: one [`Settings`] for everything, or a
/// [`Resolver`](crate::config::Resolver) reading configuration files.
pub trait SettingsSource: Sync {
    fn settings_for(&self, path: &Path) -> Arc<Settings>;
    /// Excluded by configuration (`exclude`, `extend-exclude`).
    fn is_excluded(&self, _path: &Path) -> bool {
        false
    }
    /// [`Self::is_excluded`] for an entry of a walk, which knows whether it is a folder.
    fn is_excluded_entry(&self, path: &Path, _is_dir: bool) -> bool {
        self.is_excluded(path)
    }
    fn respect_gitignore(&self, _path: &Path) -> bool {
        true
    }
}

impl SettingsSource for Settings {
    fn settings_for(&self, _path: &Path) -> Arc<Settings> {
        Arc::new(self.clone())
    }
    fn is_excluded(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| DEFAULT_EXCLUDES.iter().any(|e| name == *e))
    }
}

/// A per-file-ignores entry: files matching `pattern` ignore `rules`.
#[derive(Clone, Debug)]
pub struct PerFileIgnore {
    pub pattern: String,
    pub(crate) matcher: GlobMatcher,
    /// The pattern has no `/`: it matches the file name anywhere below the root.
    pub(crate) basename_only: bool,
    pub rules: Vec<Selector>,
}

/// The matcher is compiled from the pattern: the pattern stands for it.
impl std::hash::Hash for PerFileIgnore {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.pattern.hash(state);
        self.basename_only.hash(state);
        self.rules.hash(state);
    }
}

impl PerFileIgnore {
    pub(crate) fn matches(&self, relative: &Path) -> bool {
        self.matcher.is_match(relative)
            || (self.basename_only
                && relative
                    .file_name()
                    .is_some_and(|name| self.matcher.is_match(name)))
    }
}

/// Folders never descended into unless named on the command line.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".threadlint_cache",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "node_modules",
    "site-packages",
    "venv",
];
