//! Fixing a source: rounds of lint and fix until nothing changes, each fix withheld when it
//! would make the file worse ([`Hazards`]: more deadlock or error findings, or a path through a
//! function that leaves other locks held).

use std::collections::BTreeMap;
use std::path::Path;

use threadlint_rules::lock_order;
use threadlint_rules::model::Language;
use threadlint_rules::registry::Check;
use threadlint_rules::{Context, Finding, Fix, Severity, RULES};

use crate::fix::apply_fixes;
use crate::lines::LineIndex;
use crate::suppression::Suppressions;

use crate::engine::*;

/// The outcome of fixing one source.
pub struct FixResult {
    pub source: String,
    pub fixed: usize,
    /// The code of each fix applied.
    pub codes: Vec<&'static str>,
    /// Fixes left out because the fixed code would be worse: a new error (or a new finding of
    /// a rule that guards fixes, `Rule::guards_fixes`), or a path through a function that
    /// releases a lock differently.
    pub withheld: usize,
    /// A round found nothing more to apply; `false` when the round limit cut fixing short.
    pub converged: bool,
    /// threadlint failed on the file (the source is returned unchanged).
    pub error: Option<String>,
}

/// How many rounds of fixes [`fix_source`] applies at most.
pub const FIX_ROUNDS: usize = 10;

/// Applies every applicable fix to `source`, re-analysing after each round until nothing more
/// applies (at most [`FIX_ROUNDS`] rounds). Each fix must keep the file parsing, and the fixed
/// file is linted again: fixes that add an error-severity finding (or one of a rule that
/// guards fixes, `Rule::guards_fixes`),
/// or change what a path releases, are dropped and the rest retried. Runs with the large
/// stacks of the analysis pool; a panic leaves the source unchanged and is returned as
/// `error`.
pub fn fix_source(path: &Path, source: &str, settings: &Settings, unsafe_fixes: bool) -> FixResult {
    run_isolated(|| fix_rounds(path, source, settings, unsafe_fixes, &every_rule)).unwrap_or_else(
        |message| FixResult {
            source: source.to_string(),
            fixed: 0,
            codes: Vec::new(),
            withheld: 0,
            converged: true,
            error: Some(message),
        },
    )
}

/// [`fix_source`] with the rules given as `lint` (every rule, except in tests).
fn fix_rounds(
    path: &Path,
    source: &str,
    settings: &Settings,
    unsafe_fixes: bool,
    lint: &dyn Fn(&Context) -> Vec<Finding>,
) -> FixResult {
    let language = language_of(path).unwrap_or(Language::Python);
    let errors = |text: &str| parse_at(language, text, Some(path)).syntax_errors;
    let mut current = source.to_string();
    let mut fixed = 0;
    let mut withheld = 0;
    let mut codes = Vec::new();
    let mut converged = false;
    for _ in 0..FIX_ROUNDS {
        withheld = 0;
        let parsed = parse_at(language, &current, Some(path));
        let Some(model) = parsed.model else {
            converged = true;
            break;
        };
        let lines = LineIndex::new(&current);
        let suppressions = Suppressions::from_comments(&current, &lines, &parsed.comments);
        let context = Context::new(&model, &current, &settings.rules);
        let findings = lint(&context);
        let fixable: Vec<&Finding> = findings
            .iter()
            .filter(|f| settings.is_enabled_for(f.code, path))
            .filter(|f| !suppressions.suppresses(lines.line_of(f.span.start), Some(f.code)))
            .filter(|f| {
                f.fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability.is_applied(unsafe_fixes))
            })
            .collect();
        let fixes: Vec<&Fix> = fixable.iter().filter_map(|f| f.fix.as_ref()).collect();
        if fixes.is_empty() {
            converged = true;
            break;
        }
        let before = Hazards::of(&context, &findings, path, settings);
        let is_worse = |text: &str| {
            let parsed = parse_at(language, text, Some(path));
            parsed.model.is_some_and(|model| {
                let context = Context::new(&model, text, &settings.rules);
                let findings = lint(&context);
                Hazards::of(&context, &findings, path, settings).worse_than(&before)
            })
        };
        let mut applied = apply_fixes(&current, &fixes, &errors);
        if applied.count > 0 && is_worse(&applied.source) {
            // Keep the fixes that do no harm, one at a time, in source order.
            let mut kept: Vec<usize> = Vec::new();
            for &index in &applied.chosen {
                let mut trial: Vec<&Fix> = kept.iter().map(|&k| fixes[k]).collect();
                trial.push(fixes[index]);
                let attempt = apply_fixes(&current, &trial, &errors);
                if attempt.count == trial.len() && !is_worse(&attempt.source) {
                    kept.push(index);
                }
            }
            // Refused fixes are offered again each round: the last round's count is theirs.
            withheld = applied.chosen.len() - kept.len();
            let chosen: Vec<&Fix> = kept.iter().map(|&k| fixes[k]).collect();
            applied = apply_fixes(&current, &chosen, &errors);
            applied.chosen = kept;
        }
        if applied.count == 0 {
            converged = true;
            break;
        }
        fixed += applied.count;
        codes.extend(applied.chosen.iter().map(|&index| fixable[index].code));
        current = applied.source;
    }
    FixResult {
        source: current,
        fixed,
        codes,
        withheld,
        converged,
        error: None,
    }
}

/// Every per-file rule for the model's language, whatever the selection: a fix is judged by
/// everything it could break.
fn every_rule(context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RULES {
        if let (Check::File(check), true) =
            (rule.check, rule.languages.contains(&context.model.language))
        {
            findings.extend(check(context));
        }
    }
    threadlint_rules::registry::drop_superseded(&mut findings);
    findings
}

/// What a fix must not make worse in a file: how many findings of each code that deadlock or
/// raise (error severity, or a rule that guards fixes), and what each
/// path through each function leaves locked.
struct Hazards {
    counts: BTreeMap<&'static str, usize>,
    releases: Vec<(
        String,
        Option<std::collections::BTreeSet<crate::fix::Balance>>,
    )>,
}

impl Hazards {
    fn of(context: &Context, findings: &[Finding], path: &Path, settings: &Settings) -> Self {
        let shown = display_path(path);
        let summary = lock_order::summarize(context, &shown);
        let cycles = lock_order::check(&[(0, shown.as_str(), &summary)]);
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let all = findings.iter().chain(cycles.iter().map(|(_, f)| f));
        for finding in all {
            let severity = settings
                .severity
                .get(finding.code)
                .copied()
                .unwrap_or_else(|| {
                    threadlint_rules::registry::find(finding.code)
                        .map_or(Severity::Warning, |r| r.severity)
                });
            if severity == Severity::Error || threadlint_rules::registry::guards_fixes(finding.code)
            {
                *counts.entry(finding.code).or_default() += 1;
            }
        }
        Hazards {
            counts,
            releases: crate::fix::release_paths(context.model),
        }
    }

    fn worse_than(&self, before: &Hazards) -> bool {
        self.counts
            .iter()
            .any(|(code, &n)| n > before.counts.get(code).copied().unwrap_or(0))
            || crate::fix::release_paths_differ(&before.releases, &self.releases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadlint_rules::model::Span;

    #[test]
    fn fixing_that_never_settles_is_not_converged() {
        use threadlint_rules::rules::tl002_wait_not_in_loop::WaitNotInLoop;
        use threadlint_rules::Violation;
        // A rule whose fix always finds something more to insert.
        let endless = |_: &Context| {
            let fix = Fix {
                applicability: threadlint_rules::Applicability::Safe,
                message: String::new(),
                edits: vec![threadlint_rules::Edit {
                    span: Span::new(0, 0),
                    content: "# again\n".into(),
                }],
            };
            let violation = WaitNotInLoop::Wait {
                call: "cond.wait()".into(),
                guarded: true,
                language: threadlint_rules::model::Language::Python,
            };
            vec![violation.at_with_fix(Span::new(0, 0), Some(fix))]
        };
        let settings = Settings::default();
        let source = "import threading\n";
        let result = fix_rounds(Path::new("a.py"), source, &settings, false, &endless);
        assert!(!result.converged);
        assert_eq!(result.fixed, FIX_ROUNDS);
        let settled = fix_rounds(Path::new("a.py"), source, &settings, false, &every_rule);
        assert!(settled.converged);
    }
}
