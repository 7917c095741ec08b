//! Per-file results cached by content: a file whose text, path, settings and tool version are
//! unchanged is not parsed again. Entries live in `.threadlint_cache/<version>/`, one small
//! binary file per source file (postcard's encoding of [`Entry`], which decodes several times
//! faster than JSON: decoding was a third of a cached run), so parallel workers never
//! contend; each starts with a checksum of the encoding, and one that does not match is a
//! miss.

pub(crate) mod run;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use threadlint_rules::lock_order::LockSummary;

use crate::diagnostic::Diagnostic;
use crate::fingerprint::fnv1a;
use crate::settings::Settings;
use crate::suppression::Suppressions;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The default cache folder, in the current folder.
pub const DEFAULT_DIR: &str = ".threadlint_cache";

pub struct Cache {
    dir: PathBuf,
    /// The last run's first looks at files, by path (loaded on first use).
    seen: std::sync::OnceLock<rustc_hash::FxHashMap<String, Seen>>,
    /// This run's first looks, stored at its end.
    observed: std::sync::Mutex<rustc_hash::FxHashMap<String, Seen>>,
}

/// What the first look at a file found, with the size and modification time it had then: a
/// file whose size and time are unchanged is not read again to find it (as ruff's cache and
/// git's index do). A file modified within [`RACY_SECONDS`] of being looked at is not
/// recorded: a second write in the same tick of the file system's clock would go unseen.
#[derive(Clone, Serialize, Deserialize)]
pub struct Seen {
    pub len: u64,
    pub modified: u64,
    /// [`Cache::settings_key`] of the file's settings.
    pub settings: u64,
    pub first: FirstLook,
}

#[derive(Clone, Serialize, Deserialize)]
pub enum FirstLook {
    /// The prefilter skipped it: what the link step needs of it, and where in its project it
    /// was (its imports depend on that too: a package's `__init__.py` added, a crate renamed).
    Skipped {
        imports: Vec<String>,
        text_hash: u64,
        place: String,
    },
    /// It was analysed and stored under this key, at this place in its project (the module
    /// it was then is in the stored summary).
    Analysed { key: String, place: String },
}

/// How recent a modification makes a file's size and time no proof that its text is the one
/// recorded.
pub const RACY_SECONDS: u64 = 2;

/// The store of [`Seen`]s: by path, written by one build of threadlint.
#[derive(Default, Serialize, Deserialize)]
struct Manifest {
    build: String,
    files: rustc_hash::FxHashMap<String, Seen>,
}

/// A file's size and modification time (nanoseconds since the epoch), unless it was modified
/// too recently for them to prove anything ([`RACY_SECONDS`]).
pub fn stamp(path: &Path) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    if now.saturating_sub(modified).as_secs() < RACY_SECONDS {
        return None;
    }
    Some((metadata.len(), u64::try_from(modified.as_nanos()).ok()?))
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

/// What analysing a file produced, before the whole-program pass.
#[derive(Serialize, Deserialize)]
pub struct Entry {
    key: String,
    /// An entry naming a code or problem this build does not know fails to load: a miss.
    pub diagnostics: Vec<Diagnostic>,
    pub suppressions: Suppressions,
    pub summary: Option<LockSummary>,
}

impl Entry {
    /// The key the entry was stored under.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn new(
        key: String,
        diagnostics: &[Diagnostic],
        suppressions: Suppressions,
        summary: Option<LockSummary>,
    ) -> Self {
        Entry {
            key,
            diagnostics: diagnostics.to_vec(),
            suppressions,
            summary,
        }
    }
}

/// An entry as stored: the xxh3 checksum of the encoded entry (8 bytes, little-endian), then
/// the encoding.
fn with_checksum(encoded: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(8 + encoded.len());
    stored.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(encoded).to_le_bytes());
    stored.extend_from_slice(encoded);
    stored
}

/// The encoding of a stored entry whose checksum matches; other damage than a changed
/// checksum goes unnoticed with a chance of about 2^-64.
fn verified(stored: &[u8]) -> Option<&[u8]> {
    let (checksum, encoded) = stored.split_at_checked(8)?;
    (checksum == xxhash_rust::xxh3::xxh3_64(encoded).to_le_bytes()).then_some(encoded)
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
        Some(Cache {
            dir: versioned,
            seen: std::sync::OnceLock::new(),
            observed: std::sync::Mutex::new(rustc_hash::FxHashMap::default()),
        })
    }

    /// The hash of a file's settings, part of its key.
    pub fn settings_key(settings: &Settings) -> u64 {
        let mut hasher = crate::fingerprint::Fnv1a::default();
        std::hash::Hash::hash(settings, &mut hasher);
        std::hash::Hasher::finish(&hasher)
    }

    /// What the last run's first look at `path` found, if its size, modification time and
    /// settings are still those of `stamp` and `settings`.
    pub fn seen(&self, path: &Path, stamp: (u64, u64), settings: u64) -> Option<FirstLook> {
        let seen = self.seen.get_or_init(|| {
            std::fs::read(self.dir.join("seen.bin"))
                .ok()
                .and_then(|stored| postcard::from_bytes::<Manifest>(verified(&stored)?).ok())
                .filter(|manifest| manifest.build == build_id())
                .map(|manifest| manifest.files)
                .unwrap_or_default()
        });
        let found = seen.get(path.to_string_lossy().as_ref())?;
        (found.len == stamp.0 && found.modified == stamp.1 && found.settings == settings)
            .then(|| found.first.clone())
    }

    /// Records this run's first look at `path`.
    pub fn observe(&self, path: &Path, stamp: (u64, u64), settings: u64, first: FirstLook) {
        let seen = Seen {
            len: stamp.0,
            modified: stamp.1,
            settings,
            first,
        };
        self.observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_string_lossy().into_owned(), seen);
    }

    /// Stores the first looks of the last run and this one (this one's where both have a
    /// file), when this run looked at a file anew.
    pub fn store_seen(&self) {
        let observed = std::mem::take(
            &mut *self
                .observed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let previous = self.seen.get();
        let changed = observed.iter().any(|(path, seen)| {
            previous.and_then(|p| p.get(path)).is_none_or(|old| {
                old.len != seen.len
                    || old.modified != seen.modified
                    || old.settings != seen.settings
            })
        });
        if !changed {
            return;
        }
        let mut files = previous.cloned().unwrap_or_default();
        files.extend(observed);
        let manifest = Manifest {
            build: build_id().to_string(),
            files,
        };
        if let Ok(encoded) = postcard::to_stdvec(&manifest) {
            self.write(&self.dir.join("seen.bin"), &with_checksum(&encoded));
        }
    }

    /// The key of a file's results: its path, its place in its project (the module a Python
    /// file is, the crate of a Rust one: a package's `__init__.py` added above it changes what
    /// it defines and imports), text and settings, and this build of threadlint (the
    /// version, and the executable's modification time, so that a rebuilt binary with changed
    /// rules never reads results of the old one).
    pub fn key(path: &Path, place: &str, source: &str, settings: &Settings) -> String {
        Cache::key_with(path, place, source, Cache::settings_key(settings))
    }

    /// [`Cache::key`] with the settings already hashed ([`Cache::settings_key`]).
    pub fn key_with(path: &Path, place: &str, source: &str, settings: u64) -> String {
        let settings_key = format!("{settings:016x}");
        // xxh3: the text of every file is hashed on every run, cached or not, and FNV-1a's
        // byte-at-a-time loop was a tenth of a cached run.
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for part in [
            VERSION,
            build_id(),
            &path.to_string_lossy(),
            place,
            &settings_key,
            source,
        ] {
            hasher.update(part.as_bytes());
            hasher.update(&[0xff]);
        }
        format!("{:016x}", hasher.digest())
    }

    fn entry_path(&self, path: &Path) -> PathBuf {
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.dir.join(format!(
            "{:016x}.bin",
            fnv1a(&[&absolute.to_string_lossy()])
        ))
    }

    /// The stored entry for `path` if its key is `key` and its checksum holds. A damaged entry
    /// (a flipped bit that still parses would otherwise be served, run after run) is a miss:
    /// the file is analysed again and the entry rewritten.
    pub fn get(&self, path: &Path, key: &str) -> Option<Entry> {
        self.get_matching(path, |stored| stored == key)
    }

    /// The stored entry for `path` whose key `matches` accepts (and whose checksum holds).
    pub fn get_matching(&self, path: &Path, matches: impl Fn(&str) -> bool) -> Option<Entry> {
        let stored = std::fs::read(self.entry_path(path)).ok()?;
        let encoded = verified(&stored)?;
        let entry: Entry = postcard::from_bytes(encoded).ok()?;
        matches(&entry.key).then_some(entry)
    }

    /// The key of a file analysed with the project index: `key` and a fingerprint of what the
    /// index answered for the names the file looked up, so that a change in another file that
    /// alters one of those answers makes the entry stale.
    pub fn linked_key(key: &str, fingerprint: u64) -> String {
        format!("{key}+{fingerprint:016x}")
    }

    /// The fingerprint part of a [`Cache::linked_key`] whose base is `key`, if `stored` is one.
    pub fn linked_fingerprint(stored: &str, key: &str) -> Option<u64> {
        let rest = stored.strip_prefix(key)?.strip_prefix('+')?;
        u64::from_str_radix(rest, 16).ok()
    }

    /// The key of a set of names searched for in skipped files ([`Cache::answer_key`]).
    pub fn names_key(names: &[&str]) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for name in names {
            hasher.update(name.as_bytes());
            hasher.update(&[0xff]);
        }
        hasher.digest()
    }

    /// The key of the answer to "does this text name any of these names", for a text with
    /// the hash `text_hash` and names with [`Cache::names_key`] `names`, by this build.
    pub fn answer_key(names: u64, text_hash: u64) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(build_id().as_bytes());
        hasher.update(&names.to_le_bytes());
        hasher.update(&text_hash.to_le_bytes());
        hasher.digest()
    }

    /// The answers of the link step's name search stored by the last run (empty when there
    /// are none, or they are damaged).
    pub fn name_answers(&self) -> rustc_hash::FxHashMap<u64, bool> {
        std::fs::read(self.dir.join("names.bin"))
            .ok()
            .and_then(|stored| postcard::from_bytes(verified(&stored)?).ok())
            .unwrap_or_default()
    }

    /// Stores the answers of this run's name search (only those: answers for texts that
    /// changed since are not kept).
    pub fn store_name_answers(&self, answers: &rustc_hash::FxHashMap<u64, bool>) {
        if let Ok(encoded) = postcard::to_stdvec(answers) {
            self.write(&self.dir.join("names.bin"), &with_checksum(&encoded));
        }
    }

    /// Writes `bytes` to `target` through a temporary file, so that a reader never sees half
    /// of it; a failure only costs the next run the work.
    fn write(&self, target: &Path, bytes: &[u8]) {
        let temporary = target.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&temporary, bytes).is_ok() {
            let _ = std::fs::rename(&temporary, target);
        }
    }

    /// Stores an entry; a failure to write only costs the next run a parse.
    pub fn put(&self, path: &Path, entry: &Entry) {
        if let Ok(encoded) = postcard::to_stdvec(entry) {
            self.write(&self.entry_path(path), &with_checksum(&encoded));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let entry = Entry::new("00ff".into(), &[], Suppressions::default(), None);
        let encoded = postcard::to_stdvec(&entry).expect("encodes");
        let mut bytes = with_checksum(&encoded);
        assert_eq!(verified(&bytes), Some(encoded.as_slice()));
        for index in 0..bytes.len() {
            for bit in 0..8 {
                bytes[index] ^= 1 << bit;
                assert_eq!(verified(&bytes), None, "byte {index}, bit {bit}");
                bytes[index] ^= 1 << bit;
            }
        }
    }

    #[test]
    fn an_entry_without_a_checksum_is_a_miss() {
        let entry = Entry::new("00ff".into(), &[], Suppressions::default(), None);
        let encoded = postcard::to_stdvec(&entry).expect("encodes");
        assert_eq!(verified(&encoded), None);
        assert_eq!(verified(&encoded[..3]), None);
    }

    fn diagnostic(code: Option<&'static str>, name: &'static str) -> Diagnostic {
        Diagnostic {
            code,
            name,
            severity: threadlint_rules::Severity::Warning,
            message: "m".into(),
            help: Some("h".into()),
            span: threadlint_rules::model::Span::new(3, 9),
            related: Vec::new(),
            traces: Vec::new(),
            fix: None,
        }
    }

    #[test]
    fn diagnostics_round_trip_and_unknown_names_fail_to_load() {
        let rule = threadlint_rules::RULES[0];
        // A fix after the (empty) traces: a field left out of the encoding would shift it.
        let mut with_fix = diagnostic(Some(rule.code), rule.name);
        with_fix.fix = Some(threadlint_rules::Fix {
            applicability: threadlint_rules::Applicability::Safe,
            message: "fix".into(),
            edits: vec![threadlint_rules::Edit {
                span: threadlint_rules::model::Span::new(3, 4),
                content: "x".into(),
            }],
        });
        let stored = vec![
            with_fix,
            Diagnostic::problem(
                crate::Problem::InvalidSyntax,
                threadlint_rules::Severity::Error,
                threadlint_rules::model::Span::new(0, 1),
                "bad".into(),
            ),
        ];
        let encoded = postcard::to_stdvec(&stored).expect("encodes");
        let loaded: Vec<Diagnostic> = postcard::from_bytes(&encoded).expect("loads");
        assert_eq!(loaded, stored);
        assert_eq!(
            loaded[1].problem_kind(),
            Some(crate::Problem::InvalidSyntax)
        );
        // Strings are stored with their length: a name of the same length keeps the
        // encoding valid, and only the lookup of the name fails.
        let replace = |from: &str, to: &str| {
            assert_eq!(from.len(), to.len());
            let at = encoded
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .expect("stored");
            let mut bytes = encoded.clone();
            bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
            bytes
        };
        let unknown_name = replace("invalid-syntax", "no-such-proble");
        assert!(postcard::from_bytes::<Vec<Diagnostic>>(&unknown_name).is_err());
        let unknown_code = replace(rule.code, "TL999");
        assert!(postcard::from_bytes::<Vec<Diagnostic>>(&unknown_code).is_err());
    }

    #[test]
    fn the_key_changes_with_every_setting() {
        let path = Path::new("a.py");
        let base = Settings::default();
        let key = |settings: &Settings| Cache::key(path, "a", "x = 1\n", settings);
        assert_eq!(key(&base), key(&base.clone()));
        let mut strict = base.clone();
        strict.rules.missing_timeout_strict = true;
        let mut severity = base.clone();
        severity.severity.insert(
            threadlint_rules::RULES[0].code,
            threadlint_rules::Severity::Error,
        );
        let mut selection = base.clone();
        selection.selection = crate::selection::RuleSelection::resolve(
            Some(&[crate::selection::Selector::parse("TL002").expect("a code")]),
            &[],
            &[],
        );
        let mut root = base.clone();
        root.root = Some("sub".into());
        let options = crate::config::parse_options(
            Path::new("threadlint.toml"),
            &"[per-file-ignores]\n\"tests/*\" = [\"TL003\"]\n"
                .parse()
                .expect("TOML"),
        )
        .expect("valid options");
        let mut ignores = base.clone();
        ignores.per_file_ignores = options.per_file_ignores;
        let keys: std::collections::BTreeSet<String> =
            [&base, &strict, &severity, &selection, &root, &ignores]
                .iter()
                .map(|s| key(s))
                .collect();
        assert_eq!(keys.len(), 6);
        assert_ne!(
            Cache::key(path, "pkg.a", "x = 1\n", &base),
            Cache::key(path, "a", "x = 1\n", &base),
            "a module moved into a package"
        );
    }
}
