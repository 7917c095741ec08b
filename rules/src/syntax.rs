//! How each language writes the constructs that messages and help name: rules phrase what
//! differs by language through [`Syntax`] (`model.language.syntax()`) instead of branching on
//! the language, where the sentence is otherwise the same.

use crate::model::Language;

/// The per-language spelling of constructs that several messages name.
pub trait Syntax: Sync {
    /// A condition wait that re-checks its predicate itself.
    fn predicate_wait(&self) -> &'static str;

    /// A loop that waits until `<predicate>` holds.
    fn wait_loop(&self) -> &'static str;

    /// A statement holding `lock` for a block, as written where the lock is taken (`lock` is
    /// the acquisition's text): Python's `with` statement; in Rust the locking expression
    /// itself.
    fn scoped_acquire(&self, lock: &str) -> String;
}

struct PythonSyntax;

struct RustSyntax;

impl Syntax for PythonSyntax {
    fn predicate_wait(&self) -> &'static str {
        "`wait_for(predicate)`"
    }

    fn wait_loop(&self) -> &'static str {
        "`while not <predicate>:`"
    }

    fn scoped_acquire(&self, lock: &str) -> String {
        format!("with {lock}:")
    }
}

impl Syntax for RustSyntax {
    fn predicate_wait(&self) -> &'static str {
        "`Condvar::wait_while`"
    }

    fn wait_loop(&self) -> &'static str {
        "`while !<predicate> { .. }`"
    }

    fn scoped_acquire(&self, lock: &str) -> String {
        lock.to_string()
    }
}

impl Language {
    /// How this language writes what messages name.
    pub fn syntax(self) -> &'static dyn Syntax {
        match self {
            Language::Python => &PythonSyntax,
            Language::Rust => &RustSyntax,
        }
    }
}
