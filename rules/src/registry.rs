//! The rule catalogue: every rule's code, name, severity, documentation and checker.

use crate::diagnostic::{Finding, FixAvailability, Severity};
use crate::model::{FileModel, Language};

/// Options that change what rules report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleSettings {
    /// `missing-timeout.strict`: TL005 also checks the strict call set.
    pub missing_timeout_strict: bool,
}

/// What a per-file rule sees: the model, the source, the settings, and facts derived from the
/// model that several rules share (computed once per file, on first use).
pub struct Context<'a> {
    pub model: &'a FileModel,
    pub source: &'a str,
    pub settings: &'a RuleSettings,
    nested: std::cell::OnceCell<crate::held::NestedAcquisitions>,
    handoff: std::cell::OnceCell<std::collections::HashSet<crate::model::ObjId>>,
    indent: std::cell::OnceCell<String>,
    fix_text: std::cell::Cell<usize>,
}

impl<'a> Context<'a> {
    pub fn new(model: &'a FileModel, source: &'a str, settings: &'a RuleSettings) -> Self {
        Context {
            model,
            source,
            settings,
            nested: std::cell::OnceCell::new(),
            handoff: std::cell::OnceCell::new(),
            indent: std::cell::OnceCell::new(),
            fix_text: std::cell::Cell::new(0),
        }
    }

    /// Every lock acquired while another is held (TL004, TL007).
    pub fn nested_acquisitions(&self) -> &[crate::held::NestedAcquisition] {
        &self.nested().pairs
    }

    /// Functions with more nested acquisitions than the analysis keeps
    /// ([`crate::held::MAX_NESTED_PER_FUNCTION`]); empty unless a rule asked for them.
    pub fn over_budget(&self) -> &[crate::model::FnId] {
        self.nested.get().map_or(&[], |n| &n.over_budget)
    }

    fn nested(&self) -> &crate::held::NestedAcquisitions {
        self.nested
            .get_or_init(|| crate::held::nested_acquisitions(self.model))
    }

    /// Locks handed between threads (TL001, TL004, TL007, TL009).
    pub fn handoff_locks(&self) -> &std::collections::HashSet<crate::model::ObjId> {
        self.handoff
            .get_or_init(|| crate::held::handoff_locks(self.model))
    }

    /// Reserves `bytes` of source for a fix that rewrites (re-indents) that much text; false
    /// when the file's budget is spent, and the fix is then not offered. Fixes of one file
    /// whose regions do not overlap rewrite at most the file once; the budget of twice the
    /// file keeps fixes over overlapping regions (a thousand `acquire()` calls before one
    /// `release()`) linear in the file instead of quadratic.
    pub fn reserve_fix_text(&self, bytes: u32) -> bool {
        let budget = 2 * self.source.len() + 64 * 1024;
        let used = self.fix_text.get() + bytes as usize;
        if used > budget {
            return false;
        }
        self.fix_text.set(used);
        true
    }

    /// One level of indentation as the file writes it ([`crate::source::indent_unit`]). Fixes
    /// ask for it once per finding; the file is measured once, not once per finding.
    pub fn indent_unit(&self, near: &str) -> String {
        if near.contains('\t') {
            return "\t".into();
        }
        self.indent
            .get_or_init(|| crate::source::indent_unit(self.source, ""))
            .clone()
    }
}

/// How a rule is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// On one file's model.
    File(fn(&Context) -> Vec<Finding>),
    /// On the summaries of every file (the whole-program pass), see [`crate::lock_order`].
    Program,
}

/// One rule of the catalogue.
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub languages: &'static [Language],
    /// One line: what it catches.
    pub summary: &'static str,
    /// The rule's documentation page (Markdown), taken from its doc comment.
    pub doc: &'static str,
    pub check: Check,
    /// Whether its findings can carry a fix: its violation type's [`crate::Violation::FIX`].
    /// The page has a `## Fix` section exactly when this is not `None`.
    pub fix: FixAvailability,
    /// Codes whose findings this rule's finding replaces when both report the same span: the
    /// fix of this one removes the other's cause too, so the site carries one finding (and
    /// `--add-noqa` writes one code).
    pub supersedes: &'static [&'static str],
    /// A fix that adds a finding of this rule is withheld, whatever severity the configuration
    /// gives the rule: its findings are deadlocks, never a fair price for a fix.
    pub guards_fixes: bool,
}

impl Rule {
    /// The documentation page with the doc comment's leading spaces removed.
    pub fn documentation(&self) -> String {
        let mut page = String::new();
        for line in self.doc.lines() {
            page.push_str(line.strip_prefix(' ').unwrap_or(line));
            page.push('\n');
        }
        page
    }

    /// The full Markdown page written to `docs/rules/<code>.md`.
    pub fn markdown_page(&self) -> String {
        let languages: Vec<&str> = self.languages.iter().map(|l| l.name()).collect();
        format!(
            "# {code} {name}\n\n<!-- Generated from rules/src/rules/{file}.rs: edit the doc comment there. -->\n\nSeverity: {severity}. Languages: {languages}. Fix: {fix}.\n\n{summary}\n\n{doc}",
            code = self.code,
            name = self.name,
            file = self.file_stem(),
            severity = self.severity.as_str(),
            languages = languages.join(", "),
            fix = if self.fix == FixAvailability::None { "none" } else { "yes, see below" },
            summary = self.summary,
            doc = self.documentation(),
        )
    }

    pub fn file_stem(&self) -> String {
        format!(
            "{}_{}",
            self.code.to_lowercase(),
            self.name.replace('-', "_")
        )
    }

    pub fn url(&self) -> String {
        format!("{}/blob/main/docs/rules/{}.md", crate::HOMEPAGE, self.code)
    }
}

/// Declares a rule; its doc comment becomes its documentation page. `violation` is the type
/// its findings are made of: the rule's code (bound in [`crate::codes`]) and fix availability
/// are that type's. `supersedes` names the violation types of the rules it supersedes.
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $ident:ident = {
            violation: $violation:ty,
            name: $name:literal,
            severity: $severity:ident,
            languages: [$($language:ident),* $(,)?],
            summary: $summary:literal,
            $(supersedes: [$($superseded:ty),* $(,)?],)?
            $(guards_fixes: $guards:literal,)?
            check: $check:expr $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $ident: $crate::registry::Rule = $crate::registry::Rule {
            code: <$violation as $crate::codes::Code>::CODE,
            name: $name,
            severity: $crate::diagnostic::Severity::$severity,
            languages: &[$($crate::model::Language::$language),*],
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            check: $check,
            fix: <$violation as $crate::diagnostic::Violation>::FIX,
            supersedes: &[$($(<$superseded as $crate::codes::Code>::CODE),*)?],
            guards_fixes: $crate::registry::flag(&[$($guards)?]),
        };
    };
}

/// An optional boolean field of [`declare_rule!`]: false when absent.
#[doc(hidden)]
pub const fn flag(given: &[bool]) -> bool {
    matches!(given, [true])
}

pub use crate::codes::RULES;

/// Looks a rule up by code (`TL002`) or name (`wait-not-in-loop`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|rule| rule.code.eq_ignore_ascii_case(code_or_name) || rule.name == code_or_name)
}

/// Drops each finding that another rule's finding on the same span supersedes
/// ([`Rule::supersedes`]).
pub fn drop_superseded(findings: &mut Vec<Finding>) {
    let superseded: Vec<(&'static str, crate::model::Span)> = findings
        .iter()
        .filter_map(|f| find(f.code).map(|rule| (rule, f.span)))
        .flat_map(|(rule, span)| rule.supersedes.iter().map(move |&code| (code, span)))
        .collect();
    if !superseded.is_empty() {
        findings.retain(|f| !superseded.contains(&(f.code, f.span)));
    }
}

/// Whether a fix that adds a finding of `code` is withheld ([`Rule::guards_fixes`]).
pub fn guards_fixes(code: &str) -> bool {
    find(code).is_some_and(|rule| rule.guards_fixes)
}

/// The catalogue's codes run from 1 to this number, including the ones not implemented for
/// any language yet: suppression comments naming those are not reported as unknown.
pub const CATALOGUE_SIZE: u32 = 19;

/// Whether `code` (upper case) is a code of the catalogue.
pub fn is_catalogue_code(code: &str) -> bool {
    code.strip_prefix("TL")
        .filter(|digits| digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u32>().ok())
        .is_some_and(|n| (1..=CATALOGUE_SIZE).contains(&n))
}

/// Every code of the catalogue, in order.
pub fn catalogue_codes() -> impl Iterator<Item = String> {
    (1..=CATALOGUE_SIZE).map(|n| format!("TL{n:03}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superseded_codes_are_rules_of_the_same_languages() {
        for rule in RULES {
            for &code in rule.supersedes {
                let other = find(code).unwrap_or_else(|| panic!("{}: unknown {code}", rule.code));
                assert_ne!(other.code, rule.code, "{} supersedes itself", rule.code);
                assert!(
                    rule.languages.iter().any(|l| other.languages.contains(l)),
                    "{} supersedes {code}, which shares no language with it",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn a_finding_is_dropped_only_where_its_superseder_reports_the_same_span() {
        let Some(rule) = RULES.iter().find(|r| !r.supersedes.is_empty()) else {
            return;
        };
        let other = rule.supersedes[0];
        let span = crate::model::Span::new(10, 20);
        let elsewhere = crate::model::Span::new(30, 40);
        let mut findings = vec![
            Finding::new(rule.code, span, String::new(), String::new()),
            Finding::new(other, span, String::new(), String::new()),
            Finding::new(other, elsewhere, String::new(), String::new()),
        ];
        drop_superseded(&mut findings);
        let left: Vec<_> = findings.iter().map(|f| (f.code, f.span)).collect();
        assert_eq!(left, [(rule.code, span), (other, elsewhere)]);
    }

    #[test]
    fn codes_are_the_catalogue_in_order_once_each() {
        let codes: Vec<&str> = RULES.iter().map(|rule| rule.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "RULES in code order, each code once");
        assert!(
            codes.iter().all(|code| is_catalogue_code(code)),
            "{codes:?}"
        );
    }

    #[test]
    fn a_rule_has_a_fix_section_exactly_when_it_declares_a_fix() {
        for rule in RULES {
            assert_eq!(
                rule.fix != FixAvailability::None,
                rule.documentation().contains("## Fix"),
                "{}: declared fix availability {:?} against its page's `## Fix` section",
                rule.code,
                rule.fix
            );
        }
    }
}
