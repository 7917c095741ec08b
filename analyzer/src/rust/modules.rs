//! Where a Rust file sits in its crate.
//!
//! `locate` finds a file's crate (the nearest `Cargo.toml` with a `[package]`), its target
//! root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `tests/*.rs`, `examples/*.rs`,
//! `benches/*.rs`) and its module path, following the `mod` declarations from the root as the
//! compiler does (`src/a/b.rs` or `src/a/b/mod.rs`, `#[path = ".."]`, inline `mod x { .. }`).
//! What a path means from there is the lowering's to say (`lower/resolve.rs`); paths into
//! other files are followed in the link step (`ProjectIndex::canonical`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Files followed from a crate root at most, and `mod` nesting at most.
const MAX_FILES: usize = 10_000;
const MAX_NESTING: usize = 64;

/// A Rust file's place in its crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrateFile {
    /// The package name with `-` read as `_`: how other crates (and the package's tests and
    /// examples) name its library.
    pub package: String,
    /// The directory of the package's `Cargo.toml`.
    pub manifest_dir: PathBuf,
    /// The crate the file is compiled in: the library, or a binary, test, example or bench
    /// target named after its file.
    pub crate_name: String,
    /// Whether the file belongs to the package's library target.
    pub in_library: bool,
    /// The module path, starting with the crate name (`["my_crate", "a", "b"]`).
    pub module: Vec<String>,
}

/// Finds the crate, target and module of the file at `path`. `None` when no `Cargo.toml` with
/// a `[package]` is above it, or when no target root reaches it.
pub fn locate(path: &Path) -> Option<CrateFile> {
    let path = path.canonicalize().ok()?;
    let (manifest_dir, package) = find_package(&path)?;
    let relative = path.strip_prefix(&manifest_dir).ok()?;
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // The targets whose roots could reach the file: the first that does is its crate.
    let dir = parts.first().map_or("", String::as_str);
    let candidates: Vec<(String, bool, PathBuf)> = match dir {
        "src" => {
            let mut roots = vec![
                (package.clone(), true, manifest_dir.join("src/lib.rs")),
                (package.clone(), false, manifest_dir.join("src/main.rs")),
            ];
            roots.extend(target_roots(&manifest_dir.join("src/bin")).iter().cloned());
            roots
        }
        "tests" | "examples" | "benches" => target_roots(&manifest_dir.join(dir)).to_vec(),
        _ => return None,
    };
    let (crate_name, in_library, module) =
        candidates.into_iter().find_map(|(name, library, root)| {
            let module = cached_module_files(&root, &name).get(&path)?.clone();
            Some((name, library, module))
        })?;
    Some(CrateFile {
        package,
        manifest_dir,
        crate_name,
        in_library,
        module,
    })
}

/// The roots of the targets in `dir` (`tests/`, `examples/`, `benches/`, `src/bin/`): each
/// `name.rs`, and each `name/main.rs`, named `name`.
fn target_roots(dir: &Path) -> std::sync::Arc<Vec<(String, bool, PathBuf)>> {
    type Roots = HashMap<
        PathBuf,
        (
            Option<std::time::SystemTime>,
            std::sync::Arc<Vec<(String, bool, PathBuf)>>,
        ),
    >;
    static ROOTS: std::sync::OnceLock<std::sync::Mutex<Roots>> = std::sync::OnceLock::new();
    let roots = ROOTS.get_or_init(Default::default);
    // A folder's modification time changes when a file is added or removed in it.
    let modified = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
    if let Some((when, found)) = roots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(dir)
    {
        if *when == modified {
            return found.clone();
        }
    }
    let found = std::sync::Arc::new(read_target_roots(dir));
    roots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(dir.to_path_buf(), (modified, found.clone()));
    found
}

fn read_target_roots(dir: &Path) -> Vec<(String, bool, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut roots: Vec<(String, bool, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let main = path.join("main.rs");
                main.is_file()
                    .then(|| (name.replace('-', "_"), false, main))
            } else {
                let stem = name.strip_suffix(".rs")?;
                Some((stem.replace('-', "_"), false, path))
            }
        })
        .collect();
    roots.sort();
    roots
}

/// The nearest manifest with a `[package] name` at or above `path`, and that name with `-`
/// read as `_`.
fn find_package(path: &Path) -> Option<(PathBuf, String)> {
    let mut dir = path.parent();
    while let Some(current) = dir {
        if let Some(table) = super::read_manifest(&current.join("Cargo.toml")) {
            if let Some(name) = table
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
            {
                return Some((current.to_path_buf(), name.replace('-', "_")));
            }
        }
        dir = current.parent();
    }
    None
}

/// [`module_files`], computed once per crate root in a process: every file of a crate asks.
fn cached_module_files(
    root: &Path,
    crate_name: &str,
) -> std::sync::Arc<HashMap<PathBuf, Vec<String>>> {
    type Tree = std::sync::Arc<HashMap<PathBuf, Vec<String>>>;
    type Trees = HashMap<(PathBuf, String), std::sync::Arc<std::sync::OnceLock<Tree>>>;
    static TREES: std::sync::OnceLock<std::sync::Mutex<Trees>> = std::sync::OnceLock::new();
    let trees = TREES.get_or_init(Default::default);
    let key = (root.to_path_buf(), crate_name.to_string());
    // One slot per root, filled by the first thread that asks; the others wait for it rather
    // than walk the same crate at the same time.
    let slot = trees
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(key)
        .or_default()
        .clone();
    slot.get_or_init(|| std::sync::Arc::new(module_files(root, crate_name)))
        .clone()
}

/// Every file reached from the crate root `root` through `mod` declarations, with its module
/// path (`[crate_name, ..]`).
pub fn module_files(root: &Path, crate_name: &str) -> HashMap<PathBuf, Vec<String>> {
    let mut found = HashMap::new();
    let Ok(root) = root.canonicalize() else {
        return found;
    };
    let mut work = vec![(root, vec![crate_name.to_string()], true)];
    while let Some((file, module, mod_rs)) = work.pop() {
        if found.len() >= MAX_FILES || found.contains_key(&file) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        found.insert(file.clone(), module.clone());
        let Ok(parsed) = syn::parse_file(&text) else {
            continue;
        };
        let Some(dir) = file.parent() else { continue };
        // Where the children of this file's module live: beside a `mod.rs`-like file, in a
        // directory named after any other.
        let children_dir = if mod_rs {
            dir.to_path_buf()
        } else {
            let stem = file
                .file_stem()
                .map(std::ffi::OsStr::to_os_string)
                .unwrap_or_default();
            dir.join(stem)
        };
        let mut decls = Vec::new();
        out_of_line_mods(&parsed.items, &[], &mut decls, 0);
        for decl in decls {
            let mut child = module.clone();
            child.extend(decl.inline.iter().cloned());
            child.push(decl.name.clone());
            let (target, child_mod_rs) = match &decl.path {
                // Outside inline modules, relative to the directory of the file; inside them,
                // to the inline modules' directory.
                Some(attr) if decl.inline.is_empty() => (dir.join(attr), true),
                Some(attr) => (join_all(&children_dir, &decl.inline).join(attr), true),
                None => {
                    let base = join_all(&children_dir, &decl.inline);
                    let flat = base.join(format!("{}.rs", decl.name));
                    if flat.is_file() {
                        (flat, false)
                    } else {
                        (base.join(&decl.name).join("mod.rs"), true)
                    }
                }
            };
            if let Ok(target) = target.canonicalize() {
                work.push((target, child, child_mod_rs));
            }
        }
    }
    found
}

fn join_all(base: &Path, parts: &[String]) -> PathBuf {
    parts
        .iter()
        .fold(base.to_path_buf(), |dir, part| dir.join(part))
}

/// A `mod name;` declaration, inside the inline modules `inline` of its file.
struct ModDecl {
    inline: Vec<String>,
    name: String,
    path: Option<String>,
}

fn out_of_line_mods(items: &[syn::Item], inline: &[String], out: &mut Vec<ModDecl>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    for item in items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let name = module.ident.to_string();
        match &module.content {
            Some((_, items)) => {
                let mut nested = inline.to_vec();
                nested.push(name);
                out_of_line_mods(items, &nested, out, depth + 1);
            }
            None => out.push(ModDecl {
                inline: inline.to_vec(),
                name,
                path: path_attribute(&module.attrs),
            }),
        }
    }
}

fn path_attribute(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| {
        let syn::Meta::NameValue(meta) = &attr.meta else {
            return None;
        };
        if !meta.path.is_ident("path") {
            return None;
        }
        match &meta.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) => Some(text.value()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests;
