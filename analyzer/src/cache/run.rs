//! The outcome of a whole run over folders, stored with the state of every file it was given.
//!
//! The whole-program pass makes a file's findings depend on other files, so per-file entries
//! alone still leave a cached run joining every summary, building the project index and
//! checking lock order again. When nothing a run depends on has changed since the last run over
//! the same folders, its outcome is that run's: no file added or removed, none with another
//! size or modification time, none moved to another place in its project (a package's
//! `__init__.py` added above it, a crate renamed), none given other settings, and the same
//! build of threadlint. Then only the files the report shows are read, to quote them. Anything
//! else (a file changed, a folder that could not be read, a file modified too recently for its
//! time to prove anything) is a miss, and the run goes file by file as before.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{build_id, stamp, verified, with_checksum, Cache};
use crate::diagnostic::{display_path, Diagnostic, FileReport, Report};
use crate::engine::{read_source, Jobs};
use crate::lines::LineIndex;
use crate::settings::SettingsSource;

/// Which run a stored outcome is of, and the state of its files.
pub(crate) struct RunState {
    /// The folders given, the working folder and the options: the record's name.
    identity: u64,
    /// Every file given, with its size, modification time, place and settings.
    state: u64,
}

/// What a run over folders reported, as [`Report`] holds it, without the text.
#[derive(Serialize, Deserialize)]
struct RunRecord {
    build: String,
    state: u64,
    checked: usize,
    cached: usize,
    files: Vec<StoredFile>,
}

#[derive(Serialize, Deserialize)]
struct StoredFile {
    path: String,
    diagnostics: Vec<Diagnostic>,
    /// The report quotes its text: it has diagnostics, or one of them points into it (and it
    /// could be read).
    quoted: bool,
}

/// How many files' states are hashed by one task.
const CHUNK: usize = 64;

impl Cache {
    /// The state of the run's files, `None` when one of them cannot prove it is unchanged (it
    /// is gone, or was modified within [`super::RACY_SECONDS`]).
    pub(crate) fn run_state(
        &self,
        jobs: &Jobs,
        settings: &dyn SettingsSource,
        no_prefilter: bool,
    ) -> Option<RunState> {
        let mut identity = xxhash_rust::xxh3::Xxh3::new();
        let cwd = std::env::current_dir().ok()?;
        identity.update(cwd.to_string_lossy().as_bytes());
        identity.update(&[u8::from(no_prefilter), 0xff]);
        let mut paths: Vec<&Path> = jobs.files.iter().map(|(path, _)| path.as_path()).collect();
        // Already in this order when found by a walk: a stable sort only checks it.
        paths.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        // The settings of a folder are shared by its files: hashed once per settings object.
        let mut keys: rustc_hash::FxHashMap<*const crate::settings::Settings, u64> =
            rustc_hash::FxHashMap::default();
        let with_settings: Vec<(&Path, u64)> = paths
            .iter()
            .map(|path| {
                let settings = settings.settings_for(path);
                let key = *keys
                    .entry(Arc::as_ptr(&settings))
                    .or_insert_with(|| Cache::settings_key(&settings));
                (*path, key)
            })
            .collect();
        let hashes: Vec<Option<u64>> = with_settings
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                for (path, settings) in chunk {
                    let (len, modified) = stamp(path)?;
                    let language = crate::engine::language_of(path)?;
                    hasher.update(path.to_string_lossy().as_bytes());
                    hasher.update(&[0xff]);
                    hasher.update(crate::engine::place_in_project(language, path).as_bytes());
                    hasher.update(&[0xff]);
                    for number in [len, modified, *settings] {
                        hasher.update(&number.to_le_bytes());
                    }
                }
                Some(hasher.digest())
            })
            .collect();
        let mut state = xxhash_rust::xxh3::Xxh3::new();
        state.update(build_id().as_bytes());
        for hash in hashes {
            state.update(&hash?.to_le_bytes());
        }
        Some(RunState {
            identity: identity.digest(),
            state: state.digest(),
        })
    }

    fn run_path(&self, state: &RunState) -> PathBuf {
        self.dir.join(format!("run-{:016x}.bin", state.identity))
    }

    /// The report of the last run with the same identity, if its files were in `state` then
    /// and the files it quotes can still be read.
    pub(crate) fn stored_run(&self, state: &RunState) -> Option<Report> {
        let stored = std::fs::read(self.run_path(state)).ok()?;
        let record: RunRecord = postcard::from_bytes(verified(&stored)?).ok()?;
        if record.build != build_id() || record.state != state.state {
            return None;
        }
        let files = record
            .files
            .into_par_iter()
            .map(|file| {
                let path = PathBuf::from(file.path);
                if !file.quoted {
                    return Some(FileReport::without_text(path, file.diagnostics));
                }
                let text = read_source(&path).ok()?;
                Some(FileReport {
                    path,
                    lines: Arc::new(LineIndex::new(&text)),
                    source: Arc::from(text),
                    diagnostics: file.diagnostics,
                })
            })
            .collect::<Option<Vec<FileReport>>>()?;
        Some(Report {
            files,
            checked: record.checked,
            parsed: 0,
            cached: record.cached,
        })
    }

    /// Stores `report` as the outcome of the run in `state`, unless it holds something a run
    /// must try again (a file that could not be read, or made threadlint fail).
    pub(crate) fn store_run(&self, state: &RunState, report: &Report) {
        // Text that is not UTF-8, or too large, stays so until the file changes; a failed read
        // or a failure of threadlint may not.
        let retry = report.diagnostics().any(|(_, diagnostic)| {
            matches!(
                diagnostic.problem_kind(),
                Some(crate::Problem::IoError | crate::Problem::InternalError)
            )
        });
        if retry {
            return;
        }
        // Files the report points into from another file's diagnostic (a related location, a
        // step of a trace).
        let pointed: std::collections::HashSet<&str> = report
            .diagnostics()
            .flat_map(|(_, d)| {
                d.related.iter().filter_map(|r| r.file.as_deref()).chain(
                    d.traces
                        .iter()
                        .flat_map(|t| &t.steps)
                        .filter_map(|s| s.file.as_deref()),
                )
            })
            .collect();
        let mut files = Vec::with_capacity(report.files.len());
        for file in &report.files {
            let Some(path) = file.path.to_str() else {
                return;
            };
            // A file reported as unreadable (not UTF-8, too large) has no text to quote.
            let quoted = !file.source.is_empty()
                && (!file.diagnostics.is_empty()
                    || (!pointed.is_empty()
                        && pointed.contains(display_path(&file.path).as_str())));
            files.push(StoredFile {
                path: path.to_string(),
                diagnostics: file.diagnostics.clone(),
                quoted,
            });
        }
        let record = RunRecord {
            build: build_id().to_string(),
            state: state.state,
            checked: report.checked,
            cached: report.cached + report.parsed,
            files,
        };
        if let Ok(encoded) = postcard::to_stdvec(&record) {
            self.write(&self.run_path(state), &with_checksum(&encoded));
        }
    }
}
