//! The Rust front-end: `syn` (with proc-macro2 span locations) and the lowering into the
//! concurrency model. Guards are modelled as the compiler drops them: a `let` guard lives to the
//! end of its block, a temporary one to the end of its statement, a `match`/`if let` scrutinee's
//! through the match (and, before edition 2024, through the `else` of an `if let`).

mod lower;
mod macros;
pub mod modules;
mod names;
mod positions;
mod scan;
mod spans;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use threadlint_rules::model::{FileModel, Span};

/// A syntax error, located.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

/// The Rust edition a file is compiled with: it decides when `if let` scrutinee temporaries die.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edition {
    E2015,
    E2018,
    #[default]
    E2021,
    E2024,
}

impl Edition {
    pub fn parse(text: &str) -> Option<Edition> {
        Some(match text.trim() {
            "2015" => Edition::E2015,
            "2018" => Edition::E2018,
            "2021" => Edition::E2021,
            "2024" => Edition::E2024,
            _ => return None,
        })
    }
}

/// Sources nested deeper than this (in brackets) are not parsed: the parser recurses per level.
pub const MAX_NESTING: usize = 256;

/// The model of one Rust file, with what got in the way of building it.
pub struct Lowered {
    /// `None` when the file could not be parsed at all.
    pub model: Option<FileModel>,
    pub syntax_errors: Vec<SyntaxError>,
    /// Some code was nested too deeply to analyse and was left out.
    pub depth_exceeded: bool,
    /// Every `//` comment, for suppressions.
    pub comments: Vec<Span>,
}

/// Parses and lowers one Rust source compiled with `edition`.
#[cfg(test)]
pub fn lower(source: &str, edition: Edition) -> Lowered {
    lower_in(source, edition, None, None)
}

/// [`lower`] for a file whose place in its crate is known: its statics are named by their
/// module path, so that other files of the crate name the same objects, and with a project
/// `index` the statics it uses from other files of the crate resolve to theirs.
pub fn lower_in(
    source: &str,
    edition: Edition,
    place: Option<&modules::CrateFile>,
    index: Option<&threadlint_rules::project::ProjectIndex>,
) -> Lowered {
    let scanned = scan::scan(source);
    let comments = scanned.comments;
    if scanned.max_depth > MAX_NESTING {
        return Lowered {
            model: None,
            syntax_errors: Vec::new(),
            depth_exceeded: true,
            comments,
        };
    }
    let (text, base) = match source.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8() as u32),
        None => (source, 0),
    };
    let positions = positions::Positions::new(text, base);
    let blanked;
    let parsed_text = if scanned.long_numbers.is_empty() {
        text
    } else {
        let numbers: Vec<Span> = scanned
            .long_numbers
            .iter()
            .filter_map(|n| Some(Span::new(n.start.checked_sub(base)?, n.end - base)))
            .collect();
        blanked = scan::blank_long_numbers(text, &numbers);
        blanked.as_str()
    };
    let result = match syn::parse_file(parsed_text) {
        Ok(file) => {
            let arena = macros::MacroArena::build(&file, &positions);
            let (model, depth_exceeded) = lower::Lowerer::new(source, &positions, edition, &arena)
                .in_project(place, index)
                .lower(&file);
            Lowered {
                model: Some(model),
                syntax_errors: Vec::new(),
                depth_exceeded,
                comments,
            }
        }
        Err(error) => {
            let syntax_errors = error
                .into_iter()
                .map(|e| syntax_error(&e, &positions, scanned.problem.as_ref()))
                .collect();
            Lowered {
                model: None,
                syntax_errors,
                depth_exceeded: false,
                comments,
            }
        }
    };
    // proc-macro2 keeps every parsed source in a thread-local map so that spans can be
    // located; nothing refers to those spans any more, so free it (a long-running language
    // server would otherwise grow without bound).
    proc_macro2::extra::invalidate_current_thread_spans();
    result
}

fn syntax_error(
    error: &syn::Error,
    positions: &positions::Positions,
    lexical: Option<&(Span, String)>,
) -> SyntaxError {
    let message = error.to_string();
    // The tokenizer's own message ("cannot parse string into token stream") says nothing; the
    // scanner knows which literal or delimiter is at fault.
    if message.contains("cannot parse string into token stream") || message == "lex error" {
        if let Some((span, what)) = lexical {
            return SyntaxError {
                span: *span,
                message: what.clone(),
            };
        }
        return SyntaxError {
            span: positions.span(error.span()),
            message: "the file could not be split into Rust tokens".into(),
        };
    }
    SyntaxError {
        span: positions.span(error.span()),
        message,
    }
}

/// The edition of the crate `path` belongs to: the `edition` of the nearest `Cargo.toml` with
/// a `[package]` (following `edition.workspace = true` to the workspace root). Defaults to 2021
/// when there is no manifest; a manifest without `edition` means 2015, as for Cargo.
pub fn edition_for(path: &Path) -> Edition {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Edition>>> = OnceLock::new();
    let Some(dir) = path.parent() else {
        return Edition::default();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock() {
        if let Some(&edition) = map.get(dir) {
            return edition;
        }
    }
    let edition = find_edition(dir);
    if let Ok(mut map) = cache.lock() {
        map.insert(dir.to_path_buf(), edition);
    }
    edition
}

fn find_edition(dir: &Path) -> Edition {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut current = Some(start.as_path());
    while let Some(dir) = current {
        let manifest = dir.join("Cargo.toml");
        if let Some(table) = read_manifest(&manifest) {
            if let Some(package) = table.get("package") {
                return match package.get("edition") {
                    Some(toml::Value::String(text)) => Edition::parse(text).unwrap_or_default(),
                    Some(toml::Value::Table(t))
                        if t.get("workspace").and_then(toml::Value::as_bool) == Some(true) =>
                    {
                        workspace_edition(Some(dir)).unwrap_or_default()
                    }
                    _ => Edition::E2015,
                };
            }
        }
        current = dir.parent();
    }
    Edition::default()
}

/// `[workspace.package] edition` of the nearest workspace manifest at or above `dir`.
fn workspace_edition(mut dir: Option<&Path>) -> Option<Edition> {
    while let Some(current) = dir {
        if let Some(table) = read_manifest(&current.join("Cargo.toml")) {
            if let Some(workspace) = table.get("workspace") {
                let text = workspace.get("package")?.get("edition")?.as_str()?;
                return Edition::parse(text);
            }
        }
        dir = current.parent();
    }
    None
}

/// The parsed `Cargo.toml` at `path`, parsed once per version of the file in a process: every
/// file of a crate asks for its manifest, and a large one (tokio's) costs more to parse than
/// a small source file.
pub(crate) fn read_manifest(path: &Path) -> Option<std::sync::Arc<toml::Table>> {
    type Manifests = HashMap<
        PathBuf,
        (
            std::time::SystemTime,
            u64,
            Option<std::sync::Arc<toml::Table>>,
        ),
    >;
    static CACHE: OnceLock<Mutex<Manifests>> = OnceLock::new();
    let metadata = std::fs::metadata(path).ok()?;
    let version = (metadata.modified().ok()?, metadata.len());
    let cache = CACHE.get_or_init(Default::default);
    if let Some((modified, len, table)) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(path)
    {
        if (*modified, *len) == version {
            return table.clone();
        }
    }
    let table = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .map(std::sync::Arc::new);
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(path.to_path_buf(), (version.0, version.1, table.clone()));
    table
}
