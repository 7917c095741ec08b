//! A mutation fuzzer over the fixtures and a small corpus of real code, in both languages, in
//! check and fix modes. For every mutant: no panic; two runs give the same diagnostics; fixing
//! (`--fix --unsafe-fixes`) a file that parses leaves a file that parses, and is deterministic.
//!
//! It runs for `THREADLINT_FUZZ_SECONDS` (default 3) from seed `THREADLINT_FUZZ_SEED` (default
//! fixed, so that the normal suite is reproducible); a failing mutant is written to the
//! test's temporary folder and its path printed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use threadlint_analyzer::engine::{self, Input, Settings};
use threadlint_rules::model::Language;

/// xorshift64*: small and reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that steer mutants towards what the front-ends and rules look at.
const PYTHON_TOKENS: &[&str] = &[
    "with lock:\n",
    "lock.acquire()\n",
    "lock.release()\n",
    "cond.wait()\n",
    "if x:\n",
    "while True:\n",
    "try:\n",
    "finally:\n",
    "except:\n",
    "else:\n",
    "async def f():\n",
    "await ",
    "time.sleep(1)\n",
    "threading.Lock()",
    "self._lock",
    "    ",
    "\t",
    "\n",
    ":",
    "(",
    ")",
    "[",
    "]",
    "\"\"\"",
    "'",
    "\\\n",
    "# noqa: TL001\n",
    "# threadlint: noqa\n",
    "é",
    "\r\n",
    "def g(a, b):\n",
    "return\n",
    "global x\n",
    "x += 1\n",
    "lambda: ",
];

const RUST_TOKENS: &[&str] = &[
    "let _g = m.lock().unwrap();\n",
    "let _ = m.lock();\n",
    "drop(g);\n",
    "{",
    "}",
    "(",
    ")",
    "<",
    ">",
    ";",
    "\n",
    "fn f(m: &Mutex<u8>) ",
    "async fn f() ",
    ".await",
    "loop ",
    "if x ",
    "match x { _ => {} }",
    "cv.wait(g)",
    "std::thread::sleep(d);\n",
    "macro_rules! m { () => {} }",
    "r#\"",
    "\"",
    "'a",
    "b'x'",
    "/* ",
    " */",
    "// noqa: TL017\n",
    "unsafe ",
    "impl S ",
    "é",
    "0x1234_5678",
    "1e10",
    "#[cfg(test)]\n",
    "use std::sync::{Mutex, Condvar};\n",
];

struct Sample {
    path: PathBuf,
    text: String,
}

fn language(path: &Path) -> Language {
    engine::language_of(path).unwrap_or(Language::Python)
}

/// The fixtures, this project's own Rust sources, and, when a `python3` is at hand, a few
/// modules of its standard library that use threads.
fn corpus() -> Vec<Sample> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in [
        "fixtures/python",
        "fixtures/rust",
        "rules/src/rules",
        "analyzer/src/rust",
    ] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| engine::language_of(p).is_some())
            .collect();
        found.sort();
        paths.extend(found);
    }
    let stdlib = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(stdlib) = stdlib {
        for module in [
            "threading.py",
            "queue.py",
            "concurrent/futures/thread.py",
            "concurrent/futures/_base.py",
            "asyncio/locks.py",
            "multiprocessing/pool.py",
        ] {
            let path = stdlib.join(module);
            if path.is_file() {
                paths.push(path);
            }
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let name = format!("{}", path.file_name()?.to_string_lossy());
            Some(Sample {
                path: PathBuf::from(name),
                text,
            })
        })
        .collect()
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i <= text.len())
        .collect()
}

/// One to four random edits of `text`; `other` is another sample to splice from.
fn mutate(rng: &mut Rng, text: &str, other: &str, tokens: &[&str]) -> String {
    let mut out = text.to_string();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        let at = boundary(&out, rng.below(len + 1));
        let end = boundary(&out, at + rng.below(200));
        match rng.below(8) {
            0 => out.replace_range(at..end, ""),
            1 => out.insert_str(at, tokens[rng.below(tokens.len())]),
            2 => {
                let piece = out[at..end].to_string();
                out.insert_str(at, &piece);
            }
            3 => {
                // Swap two lines.
                let starts = line_starts(&out);
                let a = rng.below(starts.len());
                let b = rng.below(starts.len());
                let lines: Vec<&str> = out.split_inclusive('\n').collect();
                if a < lines.len() && b < lines.len() {
                    let mut lines: Vec<String> =
                        lines.iter().map(std::string::ToString::to_string).collect();
                    lines.swap(a, b);
                    out = lines.concat();
                }
            }
            4 => {
                // Splice a piece of another file.
                let from = boundary(other, rng.below(other.len() + 1));
                let to = boundary(other, from + rng.below(400));
                out.insert_str(at, &other[from..to]);
            }
            5 => {
                // Re-indent a line.
                let starts = line_starts(&out);
                let line = starts[rng.below(starts.len())];
                let indent = ["", " ", "    ", "\t", "        "][rng.below(5)];
                out.insert_str(line, indent);
            }
            6 => out.truncate(at),
            _ => {
                // Repeat a token many times: long lines, deep nesting, many events.
                let token = tokens[rng.below(tokens.len())];
                out.insert_str(at, &token.repeat(1 + rng.below(300)));
            }
        }
    }
    out
}

/// The diagnostics of a check, as comparable text.
fn check(path: &Path, text: &str) -> Vec<String> {
    let report = engine::check(
        Input::Source {
            path: path.to_path_buf(),
            text: text.to_string(),
        },
        &Settings::default(),
    );
    report
        .diagnostics()
        .map(|(_, d)| format!("{:?} {} {:?} {}", d.code, d.name, d.span, d.message))
        .collect()
}

fn parses(path: &Path, text: &str) -> bool {
    let parsed = engine::parse_at(language(path), text, Some(path));
    parsed.model.is_some() && parsed.syntax_errors == 0
}

/// What is wrong with one mutant (`Err`), or how many fixes it took (`Ok`).
fn examine(path: &Path, text: &str) -> Result<usize, String> {
    let first = check(path, text);
    let second = check(path, text);
    if first != second {
        return Err(format!("two checks differ:\n{first:#?}\n{second:#?}"));
    }
    let settings = Settings::default();
    let fixed = threadlint_analyzer::fixing::fix_source(path, text, &settings, true);
    let again = threadlint_analyzer::fixing::fix_source(path, text, &settings, true);
    if fixed.source != again.source {
        return Err("two fixes differ".into());
    }
    if fixed.fixed > 0 && parses(path, text) && !parses(path, &fixed.source) {
        return Err(format!(
            "the fixes ({:?}) made a file that parsed unparsable:\n{}",
            fixed.codes, fixed.source
        ));
    }
    Ok(fixed.fixed)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutants_neither_panic_nor_break_fixes_and_results_are_stable() {
    let seconds = env_number("THREADLINT_FUZZ_SECONDS", 3);
    let seed = env_number("THREADLINT_FUZZ_SEED", 0x7468_7265_6164);
    let samples = corpus();
    assert!(
        samples.len() >= 30,
        "the corpus is missing: {}",
        samples.len()
    );
    // The binary fixes on its main thread: give the fuzzer the same stack.
    let worker = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let mut rng = Rng(seed | 1);
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let mut runs = 0u64;
            let mut fixed = 0u64;
            let mut failures = Vec::new();
            while Instant::now() < deadline || runs < samples.len() as u64 {
                let index = (runs as usize) % samples.len();
                let sample = &samples[index];
                let lang = language(&sample.path);
                let others: Vec<&Sample> = samples
                    .iter()
                    .filter(|s| language(&s.path) == lang)
                    .collect();
                let other = &others[rng.below(others.len())].text;
                let tokens = match lang {
                    Language::Python => PYTHON_TOKENS,
                    Language::Rust => RUST_TOKENS,
                };
                let mutant = mutate(&mut rng, &sample.text, other, tokens);
                let path = sample.path.clone();
                let outcome = std::panic::catch_unwind(|| examine(&path, &mutant));
                let problem = match outcome {
                    Ok(Ok(fixes)) => {
                        fixed += u64::from(fixes > 0);
                        None
                    }
                    Ok(Err(problem)) => Some(problem),
                    Err(panic) => Some(format!(
                        "panic: {}",
                        panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic
                                .downcast_ref::<&str>()
                                .map(std::string::ToString::to_string))
                            .unwrap_or_default()
                    )),
                };
                if let Some(problem) = problem {
                    let saved = Path::new(env!("CARGO_TARGET_TMPDIR"))
                        .join(format!("fuzz-{seed:x}-{runs}-{}", sample.path.display()));
                    let _ = std::fs::write(&saved, &mutant);
                    failures.push(format!("{}: {problem}", saved.display()));
                    if failures.len() >= 5 {
                        break;
                    }
                }
                runs += 1;
            }
            (runs, fixed, failures)
        })
        .unwrap();
    let (runs, fixed, failures) = worker.join().expect("the fuzzer aborted");
    eprintln!("{runs} mutants from seed {seed:#x}, {fixed} of them fixed");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
