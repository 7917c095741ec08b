//! What a rule reports: a [`Violation`] of its own type, made into a [`Finding`] with its span,
//! message, help, related locations and fix.

use crate::model::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// How safe a fix is to apply without a person looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Shown, never applied.
    DisplayOnly,
    /// Changes behaviour in some cases (e.g. when an exception is raised): `--unsafe-fixes`.
    Unsafe,
    /// Meaning unchanged for correct programs: `--fix`.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::DisplayOnly => "display-only",
            Applicability::Unsafe => "unsafe",
            Applicability::Safe => "safe",
        }
    }

    /// Whether `--fix` applies it (`unsafe_fixes`: with `--unsafe-fixes`).
    pub fn is_applied(self, unsafe_fixes: bool) -> bool {
        match self {
            Applicability::Safe => true,
            Applicability::Unsafe => unsafe_fixes,
            Applicability::DisplayOnly => false,
        }
    }
}

/// Replace the text in `span` with `content` (empty `content` deletes, empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub span: Span,
    pub content: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub applicability: Applicability,
    /// What the fix does, as a help line (`Replace 'if' with 'while'`).
    pub message: String,
    /// Non-overlapping edits on the original source.
    pub edits: Vec<Edit>,
}

/// Another place that explains a finding (the other sites of a lock-order cycle).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// `None` when it is in the same file as the finding.
    pub file: Option<String>,
    pub span: Span,
    pub message: String,
}

/// The path one thread takes to a finding, step by step (a lock-order cycle has one for each
/// of its sides: where the outer lock is taken, the calls made while holding it, and where the
/// inner one is taken). SARIF writes them as a result's `codeFlows`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub message: String,
    pub steps: Vec<TraceStep>,
}

/// One place a [`Trace`] passes, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// `None` when it is in the same file as the finding.
    pub file: Option<String>,
    pub span: Span,
    pub message: String,
    pub kind: StepKind,
    /// How many calls deep from the function where the trace starts.
    pub depth: u32,
}

/// What happens at a [`TraceStep`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// A lock is acquired.
    Acquire,
    /// A function is called.
    Call,
}

impl StepKind {
    /// The SARIF `threadFlowLocation.kinds` word.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Acquire => "acquire",
            StepKind::Call => "call",
        }
    }
}

/// One finding of one rule in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub span: Span,
    /// One sentence: the object, what is wrong, why.
    pub message: String,
    /// What to write instead.
    pub help: String,
    pub related: Vec<Related>,
    /// How threads get there, for the rules whose findings take several steps.
    pub traces: Vec<Trace>,
    pub fix: Option<Fix>,
}

impl Finding {
    /// A finding of `code`, for the registry and its tests; rules make theirs from a
    /// [`Violation`].
    pub(crate) fn new(code: &'static str, span: Span, message: String, help: String) -> Self {
        Finding {
            code,
            span,
            message,
            help,
            related: Vec::new(),
            traces: Vec::new(),
            fix: None,
        }
    }

    #[must_use]
    pub fn with_related(mut self, related: Vec<Related>) -> Self {
        self.related = related;
        self
    }

    #[must_use]
    pub fn with_traces(mut self, traces: Vec<Trace>) -> Self {
        self.traces = traces;
        self
    }
}

/// Whether a rule's findings come with a fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FixAvailability {
    /// Never: its documentation page has no `## Fix` section.
    None,
    /// Where the code allows one (its page's `## Fix` section says where).
    Sometimes,
    /// On every finding.
    Always,
}

/// What one rule reports, as its own type: the fields its message and help are made of. The
/// code is bound to the type in one place, [`crate::codes`].
///
/// A rule has one violation type (an enum where it has several distinct messages), named in
/// its `declare_rule!`, which takes the rule's code and fix availability from it.
pub trait Violation: crate::codes::Code + Sized {
    /// Whether findings of this kind can carry a fix.
    const FIX: FixAvailability;

    /// One sentence: the object, what is wrong, why.
    fn message(&self) -> String;

    /// What to write instead.
    fn help(&self) -> String;

    /// The finding of this violation at `span`, without a fix.
    fn at(self, span: Span) -> Finding {
        Finding::new(Self::CODE, span, self.message(), self.help())
    }

    /// The finding of this violation at `span` with `fix`, which a violation declared
    /// without fixes ([`FixAvailability::None`]) never carries.
    fn at_with_fix(self, span: Span, fix: Option<Fix>) -> Finding {
        debug_assert!(
            fix.is_none() || Self::FIX != FixAvailability::None,
            "{} declares no fix but produced one",
            Self::CODE
        );
        let mut finding = self.at(span);
        if Self::FIX != FixAvailability::None {
            finding.fix = fix;
        }
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tl003_sleep_polling::SleepPolling;
    use crate::rules::tl012_thread_run_called::ThreadRunCalled;

    fn fix() -> Fix {
        Fix {
            applicability: Applicability::Unsafe,
            message: "Replace".into(),
            edits: vec![Edit {
                span: Span::new(0, 1),
                content: "x".into(),
            }],
        }
    }

    #[test]
    fn a_violation_makes_its_rules_finding_with_its_message_and_help() {
        let violation = ThreadRunCalled {
            receiver: "worker".into(),
            kind: "Thread",
        };
        let (message, help) = (violation.message(), violation.help());
        let finding = violation.at_with_fix(Span::new(3, 7), Some(fix()));
        assert_eq!(
            finding.code,
            crate::registry::find("thread-run-called").map_or("", |r| r.code)
        );
        assert_eq!((finding.message, finding.help), (message, help));
        assert_eq!(finding.fix, Some(fix()));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "declares no fix but produced one")]
    fn a_violation_declared_without_a_fix_cannot_carry_one() {
        let violation = SleepPolling {
            call: "time.sleep(1)".into(),
            checked: "ready".into(),
            async_code: false,
            spins: false,
            help: String::new(),
        };
        let _ = violation.at_with_fix(Span::new(0, 1), Some(fix()));
    }
}
