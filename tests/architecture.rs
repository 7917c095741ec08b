//! Invariants of the code base that ARCHITECTURE.md states, checked on the source.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a source file without its unit tests: `tests.rs` files, and an inline
/// `#[cfg(test)] mod NAME {`, which clippy (`items_after_test_module`) keeps at the end of its
/// file.
fn non_test_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let rest = &text[offset + line.len()..];
        let next = rest.lines().next().unwrap_or("").trim();
        if line.trim() == "#[cfg(test)]" && next.starts_with("mod ") && next.ends_with('{') {
            return text[..offset].to_string();
        }
        offset += line.len();
    }
    text
}

/// String literals of the form `"TL" + three digits` (not an escaped quote inside a message).
fn rule_code_literals(code: &str) -> Vec<(usize, String)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("\"TL") {
        let escaped = at > 0 && bytes[at - 1] == b'\\';
        let digits = &bytes[at + 3..bytes.len().min(at + 6)];
        let closes = bytes.get(at + 6) == Some(&b'"');
        if !escaped && digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) && closes {
            let line = code[..at].matches('\n').count() + 1;
            found.push((line, code[at..at + 7].to_string()));
        }
    }
    found
}

/// The pipeline, the binary and the language server read what a rule is from the registry
/// (`Rule::supersedes`, `Rule::guards_fixes`, severity, languages): none names a rule code.
#[test]
fn no_rule_code_strings_outside_the_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("analyzer/src"), &mut files);
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut offenders = Vec::new();
    for file in &files {
        for (line, literal) in rule_code_literals(&non_test_code(file)) {
            offenders.push(format!(
                "{}:{line}: {literal}",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "rule codes named outside rules/ (declare the behaviour on the rule in rules/src/registry.rs instead):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_inline_test_modules_are_left_out() {
    let dir = std::env::temp_dir().join(format!("threadlint-architecture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let file = dir.join("sample.rs");
    let code = "#[cfg(test)]\nmod model_dump;\nfn a() {}\n#[cfg(test)]\nfn b() {}\nfn c() {}\n#[cfg(test)]\nmod tests {\n    fn d() {}\n}\n";
    std::fs::write(&file, code).expect("written");
    let kept = non_test_code(&file);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(kept.contains("fn a()") && kept.contains("fn c()"), "{kept}");
    assert!(!kept.contains("fn d()"), "{kept}");
}

#[test]
fn the_code_literal_scan_finds_what_it_must() {
    let code = "let a = \"TL004\";\nlet b = \"e.g. [\\\"TL002\\\"]\";\nlet c = \"TL00\";\n";
    assert_eq!(rule_code_literals(code), [(1, "\"TL004\"".to_string())]);
}

/// Rules are typed: a rule's findings are made from its violation type, whose code is bound in
/// `rules/src/codes.rs` alone. No other file of the rules crate, tests included, spells a code
/// as a string (`"TL0...`).
#[test]
fn rule_codes_are_bound_in_codes_rs_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("rules/src"), &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("rules/src/codes.rs")),
        "the code table moved: update this test"
    );
    let mut offenders = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("rules/src/codes.rs")) {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (number, line) in text.lines().enumerate() {
            if line.contains("\"TL0") {
                offenders.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(root).unwrap_or(file).display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "rule code strings outside rules/src/codes.rs (make the finding from the rule's violation type; bind a new code in codes.rs):\n{}",
        offenders.join("\n")
    );
}
