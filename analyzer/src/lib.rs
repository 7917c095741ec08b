//! threadlint's pipeline: files in, diagnostics out.
//!
//! [`discover`] finds files; [`engine`] reads, parses (per language: [`python`]), lowers to the
//! model, runs the rules of `threadlint_rules`, joins the lock-order summaries of every file,
//! applies [`suppression`]s and sorts; [`fix`] applies fixes to text.

pub mod baseline;
pub mod cache;
pub mod config;
pub mod diagnostic;
pub mod discover;
mod display;
pub mod document;
pub mod engine;
pub mod fingerprint;
pub mod fix;
pub mod fixing;
pub mod lines;
#[cfg(test)]
mod model_dump;
pub mod noqa;
pub(crate) mod prefilter;
mod problem;
pub(crate) mod python;
pub mod read;
pub(crate) mod rust;
pub mod selection;
pub mod settings;
pub(crate) mod suppression;

pub use engine::{check, Diagnostic, FileReport, Input, Report, Settings};
pub use problem::Problem;
