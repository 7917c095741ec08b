//! Problems with a file itself rather than with its code: each is a diagnostic without a rule
//! code, named by its kind, never a panic or an abort.

use serde::{Deserialize, Serialize};

/// The kind of a problem with a file; its name (`io-error`) is what users see and what the
/// cache stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// The parser reported an error (rules still run on what parsed).
    InvalidSyntax,
    /// The file or folder could not be read (exit status 2).
    IoError,
    /// The file is not UTF-8.
    UnsupportedEncoding,
    /// The file is over the size limit and was skipped.
    FileTooLarge,
    /// Code nested beyond the front-end's depth limit was skipped.
    TooDeeplyNested,
    /// A function exceeded an analysis budget; some checks skipped the rest of it.
    FileTooComplex,
    /// A `noqa` comment names a code that is not in the catalogue.
    UnknownNoqaCode,
    /// threadlint failed on the file, which was not checked.
    InternalError,
}

impl Problem {
    /// Every kind, in the order of the documentation.
    pub const ALL: [Problem; 8] = [
        Problem::InvalidSyntax,
        Problem::IoError,
        Problem::UnsupportedEncoding,
        Problem::FileTooLarge,
        Problem::TooDeeplyNested,
        Problem::FileTooComplex,
        Problem::UnknownNoqaCode,
        Problem::InternalError,
    ];

    /// The name users see (`invalid-syntax`).
    pub fn name(self) -> &'static str {
        match self {
            Problem::InvalidSyntax => "invalid-syntax",
            Problem::IoError => "io-error",
            Problem::UnsupportedEncoding => "unsupported-encoding",
            Problem::FileTooLarge => "file-too-large",
            Problem::TooDeeplyNested => "too-deeply-nested",
            Problem::FileTooComplex => "file-too-complex",
            Problem::UnknownNoqaCode => "unknown-noqa-code",
            Problem::InternalError => "internal-error",
        }
    }

    pub fn from_name(name: &str) -> Option<Problem> {
        Problem::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The file could not be read at all, so it was not checked.
    pub fn is_unreadable(self) -> bool {
        matches!(
            self,
            Problem::IoError | Problem::UnsupportedEncoding | Problem::FileTooLarge
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serde_names_and_round_trip() {
        for problem in Problem::ALL {
            let json = serde_json::to_string(&problem).expect("serialises");
            assert_eq!(json, format!("\"{}\"", problem.name()));
            assert_eq!(Problem::from_name(problem.name()), Some(problem));
        }
    }

    #[test]
    fn no_problem_is_named_like_a_rule() {
        for problem in Problem::ALL {
            assert!(threadlint_rules::registry::find(problem.name()).is_none());
        }
    }
}
