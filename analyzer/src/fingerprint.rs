//! Stable identities of findings that survive unrelated edits: built from the code, the path,
//! the message and the flagged line's text with whitespace normalised, never the line number.
//! Used by the baseline, GitLab's `fingerprint` and SARIF's `partialFingerprints`.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, FileReport};

/// 64-bit FNV-1a: small, stable across platforms and versions.
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// [`fnv1a`] as a [`std::hash::Hasher`], for values that derive `Hash` (the settings in a cache
/// key): unlike the standard library's hasher, stable across Rust releases.
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The flagged line with runs of whitespace folded, so re-indenting does not change it.
pub(crate) fn normalised_line(file: &FileReport, diagnostic: &Diagnostic) -> String {
    let line = file.lines.line_of(diagnostic.span.start);
    file.lines
        .line_text(&file.source, line)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fingerprint of one diagnostic, without disambiguation.
pub fn base(path: &str, file: &FileReport, diagnostic: &Diagnostic) -> u64 {
    fnv1a(&[
        diagnostic.code.unwrap_or(diagnostic.name),
        path,
        &diagnostic.message,
        &normalised_line(file, diagnostic),
    ])
}

/// Gives each fingerprint in a report an occurrence number, so that two identical findings
/// (the same call twice in one file) stay distinct: `hash:1`, `hash:2`.
#[derive(Default)]
pub struct Disambiguator {
    seen: HashMap<u64, usize>,
}

impl Disambiguator {
    pub fn next(&mut self, hash: u64) -> String {
        let count = self.seen.entry(hash).or_insert(0);
        *count += 1;
        format!("{hash:016x}:{count}")
    }
}
