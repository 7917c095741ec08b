//! The cheap first look at a file: a file that mentions none of the names any rule needs is
//! not parsed at all. Every object the rules reason about reaches a Python file through an
//! import of one of these modules (or a call of `sleep`), and a Rust file through these paths
//! and types, so skipping the others loses no finding. (It does mean that a syntax error in a
//! file with no concurrency in it is not reported: threadlint is not a syntax checker.)

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use threadlint_rules::model::Language;

const PYTHON: &[&str] = &[
    "thread",
    "Thread",
    "multiprocessing",
    "concurrent",
    "queue",
    "Queue",
    "sleep",
    "subprocess",
    "socket",
    "urllib",
    "requests",
    "httpx", // A rule code, as in a `noqa` comment to check.
    "TL0",
    "TL1",
    "TL2",
    "TL3",
    "TL4",
    "TL5",
    "TL6",
    "TL7",
    "TL8",
    "TL9",
];

const RUST: &[&str] = &[
    "sync",
    "thread",
    "lock",
    "Lock",
    "Mutex",
    "Condvar",
    "Atomic",
    "spawn",
    "sleep",
    "mpsc",
    "crossbeam",
    "tokio",
    "park",
    "TL0",
    "TL1",
    "TL2",
    "TL3",
    "TL4",
    "TL5",
    "TL6",
    "TL7",
    "TL8",
    "TL9",
];

fn matcher(language: Language) -> &'static AhoCorasick {
    static PY: OnceLock<AhoCorasick> = OnceLock::new();
    static RS: OnceLock<AhoCorasick> = OnceLock::new();
    let (cell, words) = match language {
        Language::Python => (&PY, PYTHON),
        Language::Rust => (&RS, RUST),
    };
    cell.get_or_init(|| AhoCorasick::new(words).expect("fixed word list builds"))
}

/// Whether any rule could report anything in `source`.
pub fn may_have_findings(language: Language, source: &str) -> bool {
    matcher(language).is_match(source)
}

/// Which of a set of names a text mentions as a whole word: the second look at files the first
/// one skipped, for the names of other files' objects and classes (a file that uses one can do so
/// without naming any concurrency API).
pub struct Names {
    names: Option<AhoCorasick>,
}

impl Names {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().filter(|n| !n.is_empty()).collect();
        Names {
            names: (!names.is_empty())
                .then(|| AhoCorasick::new(names).ok())
                .flatten(),
        }
    }

    /// Whether `text` holds one of the names, not as part of a longer identifier.
    pub fn any_in(&self, text: &str) -> bool {
        let Some(names) = &self.names else {
            return false;
        };
        let bytes = text.as_bytes();
        let word = |b: u8| b == b'_' || b.is_ascii_alphanumeric();
        names.find_overlapping_iter(text).any(|found| {
            let before = found.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(found.end()).copied();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whole_words_only() {
        let names = Names::new(["ORDERS_LOCK", "Pool"]);
        assert!(names.any_in("from .locks import ORDERS_LOCK\n"));
        assert!(names.any_in("class P(Pool):"));
        assert!(!names.any_in("MY_ORDERS_LOCK = 1\nThreadPool\nPools"));
        assert!(!Names::new([]).any_in("anything"));
    }

    #[test]
    fn files_without_concurrency_are_skipped() {
        assert!(!may_have_findings(
            Language::Python,
            "import os\nprint(os.getcwd())\n"
        ));
        assert!(may_have_findings(
            Language::Python,
            "from threading import Lock\n"
        ));
        assert!(may_have_findings(
            Language::Python,
            "import time\ntime.sleep(1)\n"
        ));
        assert!(may_have_findings(Language::Rust, "use std::sync::Mutex;\n"));
        assert!(!may_have_findings(
            Language::Rust,
            "fn main() { println!(\"hi\"); }\n"
        ));
    }
}
