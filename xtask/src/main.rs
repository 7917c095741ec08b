//! Development tasks, run as `cargo xtask TASK` (the alias is in `.cargo/config.toml`).
//!
//! `cargo xtask new-rule NAME --languages python,rust [--code TLNNN] [--severity warning|error]
//! [--summary TEXT]` starts a rule: the rule file with its documentation skeleton and its
//! violation type, its registration (`rules/src/rules/mod.rs`, the code bound to the violation
//! type in `rules/src/codes.rs`, the catalogue size in `rules/src/registry.rs` when the code is
//! new), a fixture per language, and the README's rule table row. The code defaults to the
//! next one after the catalogue.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask new-rule NAME --languages python,rust [--code TLNNN] [--severity warning|error] [--summary TEXT]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let result = match args.first().map(String::as_str) {
        Some("new-rule") => NewRule::parse(&args[1..]).and_then(|rule| rule.write(&root)),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            println!("{NEXT_STEPS}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

const NEXT_STEPS: &str = "next:
  1. write the doc comment (it is the rule's page), the violation type's fields, message and
     help, and `check` in the rule file;
  2. put positives (`# expect: CODE` / `// expect: CODE`) and look-alike negatives in the fixtures;
  3. UPDATE_DOCS=1 cargo test --test docs          # docs/rules/CODE.md and the index
  4. INSTA_UPDATE=always cargo test --test fixtures  # then read the new snapshots";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Python,
    Rust,
}

impl Language {
    fn parse(text: &str) -> Result<Language, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "python" => Ok(Language::Python),
            "rust" => Ok(Language::Rust),
            other => Err(format!("unknown language `{other}`: python or rust")),
        }
    }

    /// The variant of `threadlint_rules::model::Language`, and the README's spelling.
    fn variant(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Language::Python => "py",
            Language::Rust => "rs",
        }
    }
}

/// What `new-rule` was asked for.
#[derive(Debug)]
struct NewRule {
    name: String,
    code: Option<u32>,
    languages: Vec<Language>,
    severity: String,
    summary: String,
}

impl NewRule {
    fn parse(args: &[String]) -> Result<NewRule, String> {
        let mut name = None;
        let mut code = None;
        let mut languages = Vec::new();
        let mut severity = "Warning".to_string();
        let mut summary = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--code" => {
                    let text = value("--code")?;
                    let digits = text.trim_start_matches("TL").trim_start_matches("tl");
                    code = Some(
                        digits
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..1000).contains(n) && digits.len() == 3)
                            .ok_or_else(|| format!("`{text}` is not a code like TL020"))?,
                    );
                }
                "--languages" => {
                    for language in value("--languages")?.split(',') {
                        let language = Language::parse(language)?;
                        if !languages.contains(&language) {
                            languages.push(language);
                        }
                    }
                }
                "--severity" => {
                    severity = match value("--severity")?.as_str() {
                        "warning" => "Warning".into(),
                        "error" => "Error".into(),
                        other => return Err(format!("severity `{other}`: warning or error")),
                    };
                }
                "--summary" => summary = Some(value("--summary")?),
                flag if flag.starts_with('-') => {
                    return Err(format!("unknown option {flag}\n{USAGE}"))
                }
                positional if name.is_none() => name = Some(positional.to_string()),
                extra => return Err(format!("unexpected `{extra}`\n{USAGE}")),
            }
        }
        let name = name.ok_or_else(|| USAGE.to_string())?;
        let kebab = !name.is_empty()
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !kebab {
            return Err(format!(
                "`{name}` is not a rule name: lower-case words joined by `-`, e.g. `wait-not-in-loop`"
            ));
        }
        if languages.is_empty() {
            return Err(format!("--languages is required\n{USAGE}"));
        }
        Ok(NewRule {
            summary: summary.unwrap_or_else(|| format!("What `{name}` catches, in one line.")),
            name,
            code,
            languages,
            severity,
        })
    }

    /// Writes every file of the new rule under `root` (a checkout of the workspace) and
    /// returns the paths written.
    fn write(&self, root: &Path) -> Result<Vec<PathBuf>, String> {
        let registry_path = root.join("rules/src/registry.rs");
        let codes_path = root.join("rules/src/codes.rs");
        let mod_path = root.join("rules/src/rules/mod.rs");
        let readme_path = root.join("README.md");
        let registry = read(&registry_path)?;
        let codes = read(&codes_path)?;
        let modules = read(&mod_path)?;
        let readme = read(&readme_path)?;

        let catalogue = catalogue_size(&registry)?;
        let code_number = self.code.unwrap_or(catalogue + 1);
        let code = format!("TL{code_number:03}");
        let module = format!("{}_{}", code.to_lowercase(), self.name.replace('-', "_"));
        if modules
            .lines()
            .any(|line| line.starts_with(&format!("pub mod {}_", code.to_lowercase())))
        {
            return Err(format!("{code} already has a rule"));
        }
        if modules
            .lines()
            .any(|line| line.ends_with(&format!("_{};", self.name.replace('-', "_"))))
        {
            return Err(format!("a rule is already named `{}`", self.name));
        }

        let mut written = Vec::new();
        let rule_path = root.join(format!("rules/src/rules/{module}.rs"));
        write_new(&rule_path, &self.rule_file())?;
        written.push(rule_path);
        for &language in &self.languages {
            let path = root.join(format!(
                "fixtures/{}/{code}_{}.{}",
                language.folder(),
                self.name.replace('-', "_"),
                language.extension()
            ));
            write_new(&path, &self.fixture(&code, language))?;
            written.push(path);
        }

        let old_modules = modules.clone();
        let modules = insert_sorted(&modules, "pub mod tl", &format!("pub mod {module};"))?;
        write(&mod_path, &modules)?;
        written.push(mod_path);

        let codes = insert_sorted(
            &codes,
            "    \"TL",
            &format!("    \"{code}\" => {module}::{},", self.violation()),
        )?;
        write(&codes_path, &codes)?;
        written.push(codes_path);
        if code_number > catalogue {
            let registry = registry.replace(
                &format!("pub const CATALOGUE_SIZE: u32 = {catalogue};"),
                &format!("pub const CATALOGUE_SIZE: u32 = {code_number};"),
            );
            write(&registry_path, &registry)?;
            written.push(registry_path);
        }

        let languages: Vec<&str> = self.languages.iter().map(|l| l.variant()).collect();
        let row = format!("| {code} | {} | {} |", self.name, languages.join(", "));
        let mut readme = insert_sorted(&readme, "| TL", &row)?;
        let before = not_implemented(&old_modules, catalogue);
        let after = not_implemented(&modules, catalogue.max(code_number));
        if before != after {
            if !readme.contains(&before) {
                return Err(format!("README.md: cannot find the sentence `{before}`"));
            }
            readme = readme.replace(&before, &after);
        }
        write(&readme_path, &readme)?;
        written.push(readme_path);
        Ok(written)
    }

    /// The violation type's name: the rule's name in `UpperCamelCase`.
    fn violation(&self) -> String {
        self.name
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }

    fn rule_file(&self) -> String {
        let languages: Vec<&str> = self.languages.iter().map(|l| l.variant()).collect();
        let violation = self.violation();
        let mut file = String::new();
        file.push_str(
            "use crate::declare_rule;\nuse crate::diagnostic::{Finding, FixAvailability, Violation};\nuse crate::registry::{Check, Context};\n\ndeclare_rule! {\n",
        );
        let doc = [
            "## What it does",
            "Checks for ... (the pattern, in terms of the objects the model resolves: kinds,",
            "flavors, where they come from).",
            "",
            "## Why is this bad?",
            "What goes wrong at run time, and when.",
            "",
            "Not reported: the look-alikes that are fine, and why.",
            "",
            "## Example",
            "```LANGUAGE",
            "```",
            "",
            "Use instead:",
            "```LANGUAGE",
            "```",
            "",
            "## References",
            "- [Python docs: threading](https://docs.python.org/3/library/threading.html)",
        ];
        let fence = self.languages[0].folder();
        for line in doc {
            let line = line.replace("LANGUAGE", fence);
            if line.is_empty() {
                file.push_str("    ///\n");
            } else {
                let _ = writeln!(file, "    /// {line}");
            }
        }
        let _ = write!(
            file,
            "    pub static RULE = {{\n        violation: {violation},\n        name: \"{name}\",\n        severity: {severity},\n        languages: [{languages}],\n        summary: {summary:?},\n        check: Check::File(check),\n    }};\n}}\n\n",
            name = self.name,
            severity = self.severity,
            languages = languages.join(", "),
            summary = self.summary,
        );
        let _ = write!(
            file,
            "/// What one finding says: the fields its message and help are made of (an enum when the\n/// rule has several distinct messages). Its code is bound in `rules/src/codes.rs`.\npub struct {violation} {{\n    /// The object as the code writes it.\n    pub object: String,\n}}\n\nimpl Violation for {violation} {{\n    /// `Sometimes` once `check` offers a fix (and the page documents it).\n    const FIX: FixAvailability = FixAvailability::None;\n\n    fn message(&self) -> String {{\n        let object = &self.object;\n        format!(\"`{{object}}` ...: what is wrong, and why\")\n    }}\n\n    fn help(&self) -> String {{\n        \"What to write instead\".to_string()\n    }}\n}}\n\n/// Walks each function of `cx.model` (`crate::model::events`, and\n/// `crate::held::walk_held` for the locks held at each event) and reports each site with\n/// `{violation} {{ .. }}.at(span)` (`at_with_fix` for a fix), naming the resolved object.\nfn check(cx: &Context) -> Vec<Finding> {{\n    let findings = Vec::new();\n    for _function in &cx.model.functions {{}}\n    findings\n}}\n"
        );
        file
    }

    fn fixture(&self, code: &str, language: Language) -> String {
        let comment = match language {
            Language::Python => "#",
            Language::Rust => "//",
        };
        let header = match language {
            Language::Python => format!("\"\"\"{code} {}: {}\"\"\"\n", self.name, self.summary),
            Language::Rust => format!("{comment} {code} in Rust: {}\n", self.summary),
        };
        format!(
            "{header}\n{comment} Each line the rule must report ends with `{comment} expect: {code}`; every other\n{comment} line must stay silent: write the look-alikes that are fine here too.\n"
        )
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    if path.exists() {
        return Err(format!("{} already exists", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    write(path, text)
}

/// The README's sentence on the catalogue codes without a rule file (as `tests/readme.rs`
/// checks it): `TL015 of the catalogue is not implemented yet.`
fn not_implemented(modules: &str, catalogue: u32) -> String {
    let missing: Vec<u32> = (1..=catalogue)
        .filter(|n| !modules.contains(&format!("pub mod tl{n:03}_")))
        .collect();
    if missing.is_empty() {
        return "Every code of the catalogue is implemented.".into();
    }
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in &missing {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == n => *last = n,
            _ => runs.push((n, n)),
        }
    }
    let runs: Vec<String> = runs
        .iter()
        .map(|&(first, last)| match last - first {
            0 => format!("TL{first:03}"),
            1 => format!("TL{first:03}, TL{last:03}"),
            _ => format!("TL{first:03}–TL{last:03}"),
        })
        .collect();
    format!(
        "{} of the catalogue {} not implemented yet.",
        runs.join(", "),
        if missing.len() == 1 { "is" } else { "are" }
    )
}

fn catalogue_size(registry: &str) -> Result<u32, String> {
    registry
        .lines()
        .find_map(|line| line.strip_prefix("pub const CATALOGUE_SIZE: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').parse().ok())
        .ok_or_else(|| "rules/src/registry.rs has no `pub const CATALOGUE_SIZE: u32 = N;`".into())
}

/// `text` with `line` inserted into the run of consecutive lines starting with `prefix`, in
/// sorted position (the first such run: the `pub mod` list, `RULES`, the README's table).
fn insert_sorted(text: &str, prefix: &str, line: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .ok_or_else(|| format!("no line starting with `{prefix}`"))?;
    let end = lines[start..]
        .iter()
        .position(|l| !l.starts_with(prefix))
        .map_or(lines.len(), |n| start + n);
    let at = lines[start..end]
        .iter()
        .position(|l| *l > line)
        .map_or(end, |n| start + n);
    let mut out: Vec<&str> = lines[..at].to_vec();
    out.push(line);
    out.extend(&lines[at..]);
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_string()).collect()
    }

    /// The files `new-rule` edits, copied from this workspace into a temporary one.
    fn scratch_workspace() -> tempfile::TempDir {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = tempfile::tempdir().expect("a temporary folder");
        for file in [
            "README.md",
            "rules/src/codes.rs",
            "rules/src/registry.rs",
            "rules/src/rules/mod.rs",
        ] {
            let target = dir.path().join(file);
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("folders");
            std::fs::copy(workspace.join(file), &target).expect("a copy");
        }
        dir
    }

    #[test]
    fn new_rule_writes_the_rule_its_registration_fixtures_and_readme_row() {
        let dir = scratch_workspace();
        let root = dir.path();
        let catalogue =
            catalogue_size(&read(&root.join("rules/src/registry.rs")).unwrap()).unwrap();
        let rule = NewRule::parse(&args(&[
            "future-never-awaited",
            "--languages",
            "python,rust",
            "--summary",
            "A future that nobody awaits.",
        ]))
        .unwrap();
        let written = rule.write(root).unwrap();
        let code = format!("TL{:03}", catalogue + 1);
        let module = format!("{}_future_never_awaited", code.to_lowercase());
        assert_eq!(written.len(), 7, "{written:?}");

        let rule_file = read(&root.join(format!("rules/src/rules/{module}.rs"))).unwrap();
        syn::parse_file(&rule_file).expect("the rule file is Rust");
        for part in [
            "/// ## What it does",
            "/// ## Why is this bad?",
            "/// ## Example",
            "violation: FutureNeverAwaited,",
            "pub struct FutureNeverAwaited {",
            "impl Violation for FutureNeverAwaited {",
            "const FIX: FixAvailability = FixAvailability::None;",
            "name: \"future-never-awaited\"",
            "languages: [Python, Rust]",
            "summary: \"A future that nobody awaits.\"",
            "fn check(cx: &Context) -> Vec<Finding>",
        ] {
            assert!(
                rule_file.contains(part),
                "{part} missing from:\n{rule_file}"
            );
        }
        // The skeleton declares no fix: a fix needs its `## Fix` section. No code in the file.
        assert!(!rule_file.contains("## Fix"));
        assert!(!rule_file.contains(&format!("\"{code}\"")), "{rule_file}");

        let modules = read(&root.join("rules/src/rules/mod.rs")).unwrap();
        let listed: Vec<&str> = modules
            .lines()
            .filter(|l| l.starts_with("pub mod "))
            .collect();
        assert!(listed.contains(&format!("pub mod {module};").as_str()));
        assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");

        let codes = read(&root.join("rules/src/codes.rs")).unwrap();
        assert!(codes.contains(&format!(
            "    \"{code}\" => {module}::FutureNeverAwaited,\n}}"
        )));
        let registry = read(&root.join("rules/src/registry.rs")).unwrap();
        assert_eq!(catalogue_size(&registry).unwrap(), catalogue + 1);

        let readme = read(&root.join("README.md")).unwrap();
        let row = format!("| {code} | future-never-awaited | Python, Rust |");
        let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| TL")).collect();
        assert_eq!(table.last(), Some(&row.as_str()));

        for path in [
            format!("fixtures/python/{code}_future_never_awaited.py"),
            format!("fixtures/rust/{code}_future_never_awaited.rs"),
        ] {
            let fixture = read(&root.join(&path)).unwrap();
            assert!(fixture.contains(&format!("expect: {code}")), "{path}");
        }

        // A second run for the same code or name refuses to overwrite.
        let again = NewRule::parse(&args(&[
            "other-name",
            "--languages",
            "rust",
            "--code",
            &code,
        ]))
        .unwrap()
        .write(root);
        assert!(again.unwrap_err().contains("already has a rule"));
        let same_name = NewRule::parse(&args(&["future-never-awaited", "--languages", "rust"]))
            .unwrap()
            .write(root);
        assert!(same_name.unwrap_err().contains("already named"));
    }

    #[test]
    fn a_reserved_catalogue_code_goes_in_code_order_and_keeps_the_catalogue_size() {
        let dir = scratch_workspace();
        let root = dir.path();
        let registry = read(&root.join("rules/src/registry.rs")).unwrap();
        let catalogue = catalogue_size(&registry).unwrap();
        // A code of the catalogue that no rule file has yet (TL015 when this was written).
        let modules = read(&root.join("rules/src/rules/mod.rs")).unwrap();
        let Some(free) = (1..=catalogue).find(|n| !modules.contains(&format!("pub mod tl{n:03}_")))
        else {
            return;
        };
        let code = format!("TL{free:03}");
        NewRule::parse(&args(&[
            "reserved-rule",
            "--languages",
            "python",
            "--code",
            &code,
        ]))
        .unwrap()
        .write(root)
        .unwrap();
        let registry = read(&root.join("rules/src/registry.rs")).unwrap();
        assert_eq!(catalogue_size(&registry).unwrap(), catalogue);
        let codes = read(&root.join("rules/src/codes.rs")).unwrap();
        let entries: Vec<&str> = codes
            .lines()
            .filter(|l| l.starts_with("    \"TL"))
            .collect();
        assert!(entries.iter().any(|l| l.contains(&code)), "{entries:?}");
        assert!(entries.windows(2).all(|w| w[0] < w[1]), "{entries:?}");
        let readme = read(&root.join("README.md")).unwrap();
        let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| TL")).collect();
        assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
        assert!(!root
            .join(format!("fixtures/rust/{code}_reserved_rule.rs"))
            .exists());
    }

    #[test]
    fn bad_arguments_say_what_is_allowed() {
        for (given, says) in [
            (
                &["Bad_Name", "--languages", "python"][..],
                "not a rule name",
            ),
            (&["ok-name"][..], "--languages is required"),
            (&["ok-name", "--languages", "go"][..], "python or rust"),
            (
                &["ok-name", "--languages", "rust", "--code", "X1"][..],
                "not a code",
            ),
            (
                &["ok-name", "--languages", "rust", "--severity", "fatal"][..],
                "warning or error",
            ),
        ] {
            let error = NewRule::parse(&args(given)).unwrap_err();
            assert!(error.contains(says), "{given:?}: {error}");
        }
    }
}
