//! The cheap first look at a file: a file that mentions none of the names any rule needs is
//! not parsed at all. Every object the rules reason about reaches a Python file through an
//! import of one of these modules (or a call of `sleep` or `input`, or a blocking call in
//! an `async def`), and a Rust file through these paths
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
    "urllib",
    "requests",
    "httpx",
    // The built-in, called (a word alone matches every `inputs` and `input_file`).
    "input(",
    // Every call TL019 reports is in a coroutine, and TL003 polls with `await trio.sleep(..)`
    // or `await trio.lowlevel.checkpoint()` there: `async def` lets through `open()`,
    // `os.system()` and the other blocking calls of no concurrency module.
    // A coroutine (not every mention of `asyncio` or `asynchat`).
    "async def",
    // A rule code, as in a `noqa` comment to check.
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
    // A module's re-exports (`pub use pool::Pool;` in `lib.rs`): the link step follows them
    // to the locks, lock-holding types and functions of other files.
    "pub use",
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
    cell.get_or_init(|| {
        // Leftmost-first semantics let the SIMD (Teddy) prefilter run: a whole file is
        // usually scanned to its end without a match.
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(words)
            .expect("fixed word list builds")
    })
}

/// Words of calls that only the strict set of `missing-timeout` and the async rules report
/// (a socket or a subprocess waited for without a timeout): they make a file worth parsing only
/// with that set on, or in a file with coroutines. A lock that guards such a call comes from a
/// concurrency module (in the list above) or from another file of the project (the link step
/// looks at skipped files again for those).
const PYTHON_STRICT: &[&str] = &["socket", "subprocess"];

fn strict_matcher() -> &'static AhoCorasick {
    static CELL: OnceLock<AhoCorasick> = OnceLock::new();
    CELL.get_or_init(|| AhoCorasick::new(PYTHON_STRICT).expect("fixed word list builds"))
}

/// Whether any rule could report anything in `source`, with `missing-timeout`'s strict set on
/// or off.
pub fn may_have_findings(language: Language, source: &str, strict: bool) -> bool {
    matcher(language).is_match(source)
        || (language == Language::Python
            && (strict || source.contains("async def"))
            && strict_matcher().is_match(source))
}

/// Which of a set of names a text mentions as a whole word: the second look at files the first
/// one skipped, for the names of other files' objects and classes (a file that uses one can do so
/// without naming any concurrency API).
pub struct Names {
    names: Option<AhoCorasick>,
    /// Every name is an identifier: a leftmost-longest search finds a whole-word occurrence
    /// whenever there is one (a shorter name at the same start ends inside an identifier, and
    /// no name can straddle a word boundary), so overlapping matches need not be tried.
    identifiers: bool,
}

impl Names {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().filter(|n| !n.is_empty()).collect();
        let identifiers = names.iter().all(|name| name.bytes().all(is_word_byte));
        let kind = if identifiers {
            aho_corasick::MatchKind::LeftmostLongest
        } else {
            aho_corasick::MatchKind::Standard
        };
        Names {
            names: (!names.is_empty())
                .then(|| {
                    AhoCorasick::builder()
                        .match_kind(kind)
                        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                        .build(&names)
                        .or_else(|_| AhoCorasick::builder().match_kind(kind).build(&names))
                        .ok()
                })
                .flatten(),
            identifiers,
        }
    }

    /// Whether `text` holds one of the names, not as part of a longer identifier.
    pub fn any_in(&self, text: &str) -> bool {
        let Some(names) = &self.names else {
            return false;
        };
        let bytes = text.as_bytes();
        let whole = |start: usize, end: usize| {
            let before = start.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(end).copied();
            !before.is_some_and(is_word_byte) && !after.is_some_and(is_word_byte)
        };
        if self.identifiers {
            names
                .find_iter(text)
                .any(|found| whole(found.start(), found.end()))
        } else {
            names
                .find_overlapping_iter(text)
                .any(|found| whole(found.start(), found.end()))
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
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
    fn a_longer_name_does_not_hide_a_whole_word_one() {
        let names = Names::new(["Pool", "Pool_x", "Lock"]);
        assert!(names.any_in("Pool_xy = 1\nuse(Pool)\n"));
        assert!(names.any_in("xLock; Lock"));
        assert!(!names.any_in("Pool_xy Locks"));
        // Names that are not identifiers are still found as whole words.
        let dotted = Names::new(["a.b", "b"]);
        assert!(dotted.any_in("x = a.b"));
        assert!(!dotted.any_in("ab.bc"));
    }

    #[test]
    fn files_without_concurrency_are_skipped() {
        assert!(!may_have_findings(
            Language::Python,
            "import os\nprint(os.getcwd())\n",
            false
        ));
        assert!(may_have_findings(
            Language::Python,
            "from threading import Lock\n",
            false
        ));
        assert!(may_have_findings(
            Language::Python,
            "import time\ntime.sleep(1)\n",
            false
        ));
        assert!(may_have_findings(
            Language::Rust,
            "use std::sync::Mutex;\n",
            false
        ));
        // A subprocess waited for is reported only by the strict set, or in a coroutine.
        let run = "import subprocess\nsubprocess.run(['ls'])\n";
        assert!(!may_have_findings(Language::Python, run, false));
        assert!(may_have_findings(Language::Python, run, true));
        let in_coroutine = "import subprocess\nasync def f():\n    subprocess.run(['ls'])\n";
        assert!(may_have_findings(Language::Python, in_coroutine, false));
        assert!(may_have_findings(
            Language::Python,
            "async def main(path):\n    with open(path) as f:\n        return f.read()\n",
            false
        ));
        assert!(may_have_findings(
            Language::Python,
            "from requests import get\nget(URL)\n",
            false
        ));
        // Each of these has a finding (TL019, TL003) and names no concurrency module.
        for source in [
            "import os\nasync def main():\n    os.system('make')\n",
            "async def ask():\n    return input('name? ')\n",
            "import trio\nasync def spin(box):\n    while box.busy:\n        await trio.lowlevel.checkpoint()\n",
        ] {
            assert!(may_have_findings(Language::Python, source, false), "{source}");
        }
        assert!(!may_have_findings(
            Language::Rust,
            "fn main() { println!(\"hi\"); }\n",
            false
        ));
    }

    /// Every fixture with a finding to report passes the prefilter on its code alone: its
    /// comments (the `# expect:` markers name rule codes, which are words of the list) are
    /// blanked first, and so are the docstrings of the Python ones.
    #[test]
    fn every_fixture_with_findings_passes_on_its_code_alone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut checked = 0;
        for (folder, language, comment) in [
            ("python", Language::Python, "#"),
            ("rust", Language::Rust, "//"),
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(source) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if !source.contains("expect: TL") || path.to_string_lossy().contains(".fixed.") {
                    continue;
                }
                let code: String = source
                    .lines()
                    .map(|line| line.split(comment).next().unwrap_or(""))
                    .filter(|line| !line.trim_start().starts_with("\"\"\""))
                    .collect::<Vec<_>>()
                    .join("\n");
                checked += 1;
                let strict = path.to_string_lossy().contains("_strict");
                assert!(
                    may_have_findings(language, &code, strict),
                    "the prefilter skips {}",
                    path.display()
                );
            }
        }
        assert!(checked > 20, "only {checked} fixtures were found");
    }
}
