//! `docs/rules/<code>.md` are generated from the rules' doc comments. This test fails when they
//! drift; `UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::path::Path;

use threadlint_rules::RULES;

fn index() -> String {
    let mut page = String::from(
        "# Rules\n\n<!-- Generated from rules/src/rules/*.rs: run `UPDATE_DOCS=1 cargo test --test docs`. -->\n\n| Code | Name | Severity | Languages | What it catches |\n|---|---|---|---|---|\n",
    );
    for rule in RULES {
        let languages: Vec<&str> = rule.languages.iter().map(|l| l.name()).collect();
        page.push_str(&format!(
            "| [{code}]({code}.md) | {name} | {severity} | {languages} | {summary} |\n",
            code = rule.code,
            name = rule.name,
            severity = rule.severity.as_str(),
            languages = languages.join(", "),
            summary = rule.summary.replace('|', "\\|"),
        ));
    }
    page
}

#[test]
fn rule_docs_are_generated_from_the_doc_comments() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut pages: Vec<(String, String)> = RULES
        .iter()
        .map(|rule| (format!("{}.md", rule.code), rule.markdown_page()))
        .collect();
    pages.push(("README.md".into(), index()));
    let mut stale = Vec::new();
    for (name, want) in &pages {
        let path = dir.join(name);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != *want {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, want).unwrap();
            } else {
                stale.push(name.clone());
            }
        }
    }
    // No page for a rule that no longer exists.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !pages.iter().any(|(page, _)| *page == name) {
            if update {
                std::fs::remove_file(entry.path()).unwrap();
            } else {
                stale.push(format!("{name} (no such rule)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is out of date for {stale:?}: run `UPDATE_DOCS=1 cargo test --test docs`"
    );
}

#[test]
fn every_rule_doc_has_the_required_sections() {
    for rule in RULES {
        let doc = rule.documentation();
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "Use instead:",
        ] {
            assert!(doc.contains(section), "{} doc lacks `{section}`", rule.code);
        }
        assert!(!rule.summary.is_empty());
    }
}
