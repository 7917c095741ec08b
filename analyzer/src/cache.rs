//! Per-file results cached by content: a file whose text, path, settings and tool version are
//! unchanged is not parsed again. Entries live in `.threadlint_cache/<version>/`, one small
//! JSON file per source file, so parallel workers never contend.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use threadlint_rules::lock_order::LockSummary;
use threadlint_rules::model::Span;
use threadlint_rules::{Fix, Related, Severity};

use crate::engine::{Diagnostic, Settings};
use crate::fingerprint::fnv1a;
use crate::suppression::Suppressions;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The default cache folder, in the current folder.
pub const DEFAULT_DIR: &str = ".threadlint_cache";

pub struct Cache {
    dir: PathBuf,
}

/// Identifies the running executable: its modification time.
fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::metadata)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos().to_string())
            .unwrap_or_default()
    })
}

#[derive(Serialize, Deserialize)]
struct CachedDiagnostic {
    code: Option<String>,
    name: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    span: Span,
    related: Vec<Related>,
    fix: Option<Fix>,
}

/// What analysing a file produced, before the whole-program pass.
#[derive(Serialize, Deserialize)]
pub struct Entry {
    key: String,
    diagnostics: Vec<CachedDiagnostic>,
    pub suppressions: Suppressions,
    pub summary: Option<LockSummary>,
}

/// Names that diagnostics can carry, mapped back to `'static` strings on load.
fn intern(name: &str) -> Option<&'static str> {
    if let Some(rule) = threadlint_rules::registry::find(name) {
        return Some(rule.name);
    }
    crate::engine::PROBLEM_NAMES
        .iter()
        .copied()
        .find(|p| *p == name)
}

impl Entry {
    pub fn new(
        key: String,
        diagnostics: &[Diagnostic],
        suppressions: Suppressions,
        summary: Option<LockSummary>,
    ) -> Self {
        Entry {
            key,
            diagnostics: diagnostics
                .iter()
                .map(|d| CachedDiagnostic {
                    code: d.code.map(str::to_string),
                    name: d.name.to_string(),
                    severity: d.severity,
                    message: d.message.clone(),
                    help: d.help.clone(),
                    span: d.span,
                    related: d.related.clone(),
                    fix: d.fix.clone(),
                })
                .collect(),
            suppressions,
            summary,
        }
    }

    /// The diagnostics, or `None` if a name is not known to this version.
    pub fn diagnostics(&self) -> Option<Vec<Diagnostic>> {
        self.diagnostics
            .iter()
            .map(|d| {
                Some(Diagnostic {
                    code: match &d.code {
                        Some(code) => Some(threadlint_rules::registry::find(code)?.code),
                        None => None,
                    },
                    name: intern(&d.name)?,
                    severity: d.severity,
                    message: d.message.clone(),
                    help: d.help.clone(),
                    span: d.span,
                    related: d.related.clone(),
                    fix: d.fix.clone(),
                })
            })
            .collect()
    }
}

impl Cache {
    /// Opens (creating if needed) the cache in `dir`; `None` when it cannot be created, in
    /// which case the run simply goes uncached.
    pub fn open(dir: &Path) -> Option<Cache> {
        let versioned = dir.join(VERSION);
        std::fs::create_dir_all(&versioned).ok()?;
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "# Created by threadlint.\n*\n");
        }
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = std::fs::write(&tag, "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by threadlint.\n");
        }
        Some(Cache { dir: versioned })
    }

    /// The key of a file's results: its path, text and settings, and this build of threadlint
    /// (the version, and the executable's modification time, so that a rebuilt binary with
    /// changed rules never reads results of the old one).
    pub fn key(path: &Path, source: &str, settings: &Settings) -> String {
        let settings_key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            settings.selection.codes(),
            settings.rules,
            settings.severity,
            settings
                .per_file_ignores
                .iter()
                .map(|p| (&p.pattern, &p.rules))
                .collect::<Vec<_>>(),
            settings.root
        );
        format!(
            "{:016x}",
            fnv1a(&[
                VERSION,
                build_id(),
                &path.to_string_lossy(),
                &settings_key,
                source
            ])
        )
    }

    fn entry_path(&self, path: &Path) -> PathBuf {
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.dir.join(format!(
            "{:016x}.json",
            fnv1a(&[&absolute.to_string_lossy()])
        ))
    }

    pub fn get(&self, path: &Path, key: &str) -> Option<Entry> {
        let text = std::fs::read_to_string(self.entry_path(path)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == key).then_some(entry)
    }

    /// Stores an entry; a failure to write only costs the next run a parse.
    pub fn put(&self, path: &Path, entry: &Entry) {
        if let Ok(text) = serde_json::to_string(entry) {
            let target = self.entry_path(path);
            let temporary = target.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&temporary, text).is_ok() {
                let _ = std::fs::rename(&temporary, &target);
            }
        }
    }
}
