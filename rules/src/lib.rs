//! threadlint's concurrency model and rule catalogue.
//!
//! Front-ends (in `threadlint_analyzer`) lower source files into a [`model::FileModel`]; every
//! rule in [`rules`] reads only that model (and the source text, to build fixes). Nothing here
//! knows about a parser.

pub mod codes;
pub mod diagnostic;
pub mod held;
pub mod lock_order;
pub mod model;
pub mod project;
pub mod registry;
pub mod rules;
pub mod source;
pub mod syntax;
pub mod waits;

pub use diagnostic::{
    Applicability, Edit, Finding, Fix, FixAvailability, Related, Severity, StepKind, Trace,
    TraceStep, Violation,
};
pub const HOMEPAGE: &str = "https://github.com/threadlint/threadlint";

pub use registry::{Context, Rule, RuleSettings, RULES};
