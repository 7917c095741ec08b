//! What a rule reports: a [`Finding`] with its span, message, help, related locations and fix.

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
    pub fn new(code: &'static str, span: Span, message: String, help: impl Into<String>) -> Self {
        Finding {
            code,
            span,
            message,
            help: help.into(),
            related: Vec::new(),
            traces: Vec::new(),
            fix: None,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
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
