//! The Python front-end: `ruff_python_parser` (with error recovery) and the lowering into the
//! concurrency model.

mod lower;
pub mod modules;
mod names;
#[cfg(test)]
mod tests;

use ruff_python_ast::PySourceType;
use ruff_text_size::Ranged;
use threadlint_rules::model::{FileModel, Span};
use threadlint_rules::project::ProjectIndex;

/// A syntax error, located.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

/// The model of one Python file, with what got in the way of building it.
pub struct Lowered {
    pub model: FileModel,
    pub syntax_errors: Vec<SyntaxError>,
    /// Some code was nested too deeply to analyse and was left out.
    pub depth_exceeded: bool,
    /// Every comment, for suppressions.
    pub comments: Vec<Span>,
}

/// Parses and lowers one Python source. Rules still run on what parsed when there are syntax
/// errors (the parser recovers). With the file's `module` path, relative imports resolve and
/// identities are project-wide; with a project `index`, imported names resolve to the objects
/// other files define.
pub fn lower(
    source: &str,
    module: Option<modules::ModulePath>,
    index: Option<&ProjectIndex>,
) -> Lowered {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let syntax_errors = parsed
        .errors()
        .iter()
        .map(|error| SyntaxError {
            span: Span::new(
                error.location.start().to_u32(),
                error.location.end().to_u32(),
            ),
            message: error.error.to_string(),
        })
        .collect();
    let comments = parsed
        .tokens()
        .iter()
        .filter(|token| token.kind() == ruff_python_ast::token::TokenKind::Comment)
        .map(|token| Span::new(token.range().start().to_u32(), token.range().end().to_u32()))
        .collect();
    let (model, depth_exceeded) =
        lower::Lowerer::new(source, module, index).lower(&parsed.syntax().body);
    debug_assert!(parsed.syntax().range().end().to_usize() <= source.len());
    Lowered {
        model,
        syntax_errors,
        depth_exceeded,
        comments,
    }
}
