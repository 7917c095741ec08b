//! Which rules run: `--select`, `--ignore`, `--extend-select` with codes, prefixes and `ALL`.

use threadlint_rules::registry::catalogue_codes;
use threadlint_rules::RULES;

/// A rule selector: `ALL`, a code (`TL002`), a prefix (`TL00`), or a rule name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Selector(String);

impl Selector {
    /// Parses a selector; an error names what is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("ALL") {
            return Ok(Selector("ALL".into()));
        }
        if let Some(rule) = threadlint_rules::registry::find(text) {
            return Ok(Selector(rule.code.into()));
        }
        let upper = text.to_ascii_uppercase();
        if !upper.is_empty() && catalogue_codes().any(|code| code.starts_with(&upper)) {
            return Ok(Selector(upper));
        }
        Err(format!(
            "unknown rule selector `{text}`: expected `ALL`, a code such as `TL002`, a code prefix such as `TL00`, or a rule name such as `wait-not-in-loop`"
        ))
    }

    fn matches(&self, code: &str) -> bool {
        self.0 == "ALL" || code.starts_with(&self.0)
    }

    /// How specific the selector is: a longer prefix wins over a shorter one.
    fn specificity(&self) -> usize {
        if self.0 == "ALL" {
            0
        } else {
            self.0.len()
        }
    }
}

/// The resolved set of enabled rule codes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleSelection {
    enabled: Vec<&'static str>,
}

impl Default for RuleSelection {
    fn default() -> Self {
        RuleSelection {
            enabled: RULES.iter().map(|r| r.code).collect(),
        }
    }
}

impl RuleSelection {
    /// `select` replaces the default set (every rule) when given; `extend_select` adds to it;
    /// `ignore` removes. Between a select and an ignore, the more specific selector wins, as in
    /// ruff (`--select TL00 --ignore TL002` keeps every TL00x but TL002).
    pub fn resolve(
        select: Option<&[Selector]>,
        extend_select: &[Selector],
        ignore: &[Selector],
    ) -> Self {
        let default = [Selector("ALL".into())];
        let select = select.unwrap_or(&default);
        let enabled = RULES
            .iter()
            .map(|rule| rule.code)
            .filter(|code| {
                let selected = select
                    .iter()
                    .chain(extend_select)
                    .filter(|s| s.matches(code))
                    .map(Selector::specificity)
                    .max();
                let ignored = ignore
                    .iter()
                    .filter(|s| s.matches(code))
                    .map(Selector::specificity)
                    .max();
                match (selected, ignored) {
                    (Some(s), Some(i)) => s > i,
                    (Some(_), None) => true,
                    _ => false,
                }
            })
            .collect();
        RuleSelection { enabled }
    }

    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(&code)
    }

    pub fn codes(&self) -> &[&'static str] {
        &self.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(list: &[&str]) -> Vec<Selector> {
        list.iter().map(|s| Selector::parse(s).unwrap()).collect()
    }

    #[test]
    fn more_specific_selector_wins() {
        let s = RuleSelection::resolve(Some(&sel(&["TL00"])), &[], &sel(&["TL002"]));
        assert!(s.is_enabled("TL001"));
        assert!(!s.is_enabled("TL002"));
        let s = RuleSelection::resolve(Some(&sel(&["TL002"])), &[], &sel(&["ALL"]));
        assert!(s.is_enabled("TL002"));
        assert!(!s.is_enabled("TL001"));
    }

    #[test]
    fn names_and_unknown_selectors() {
        assert_eq!(
            Selector::parse("wait-not-in-loop").unwrap(),
            Selector("TL002".into())
        );
        assert!(Selector::parse("XYZ1").is_err());
        let s = RuleSelection::resolve(Some(&sel(&["TL001"])), &sel(&["TL002"]), &[]);
        assert_eq!(s.codes(), ["TL001", "TL002"]);
    }
}
