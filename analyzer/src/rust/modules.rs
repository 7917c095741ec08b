//! Where a Rust file sits in its crate, and what a `use` path means from there.
//!
//! `locate` finds a file's crate (the nearest `Cargo.toml` with a `[package]`), its target
//! root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `tests/*.rs`, `examples/*.rs`,
//! `benches/*.rs`) and its module path, following the `mod` declarations from the root as the
//! compiler does (`src/a/b.rs` or `src/a/b/mod.rs`, `#[path = ".."]`, inline `mod x { .. }`).
//! `Resolver` turns a `use` path into an absolute item path (`my_crate::a::b::NAME`) through
//! `crate::`, `self::`, `super::`, `::name`, the library's crate name, imports, renames, globs
//! and `pub use` re-exports of the modules whose scopes it has been given.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Files followed from a crate root at most, and `mod` nesting at most.
const MAX_FILES: usize = 10_000;
const MAX_NESTING: usize = 64;
/// Imports followed in a row when resolving one path.
const MAX_HOPS: usize = 32;

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

/// What a module binds by name: its `use` declarations (with whether they are `pub`, the
/// re-exports a later link step follows), its glob imports, and its own items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleScope {
    /// `use a::b as c;` binds `c` to the path `a::b` as written (made absolute by `Resolver`).
    pub imports: BTreeMap<String, Import>,
    /// `use a::*;`
    pub globs: Vec<Import>,
    /// Names defined in the module itself (statics, structs, functions, child modules).
    pub items: HashSet<String>,
}

/// One `use` binding as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub segments: Vec<String>,
    /// `use ::name`: an external crate, whatever the module binds.
    pub leading_colon: bool,
    /// `pub use` (or `pub(crate) use`): visible to other modules.
    pub public: bool,
}

#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "Tested, but not called by the lowering, which resolves paths in lower/resolve.rs"
    )
)]
impl ModuleScope {
    /// The scope of the top-level items of a parsed file (or inline module's items).
    pub fn of_items(items: &[syn::Item]) -> ModuleScope {
        let mut scope = ModuleScope::default();
        for item in items {
            let name = match item {
                syn::Item::Use(item) => {
                    let public = !matches!(item.vis, syn::Visibility::Inherited);
                    let leading = item.leading_colon.is_some();
                    scope.add_use(&item.tree, &mut Vec::new(), leading, public);
                    continue;
                }
                syn::Item::Static(s) => &s.ident,
                syn::Item::Const(c) => &c.ident,
                syn::Item::Struct(s) => &s.ident,
                syn::Item::Enum(e) => &e.ident,
                syn::Item::Fn(f) => &f.sig.ident,
                syn::Item::Mod(m) => &m.ident,
                syn::Item::Type(t) => &t.ident,
                syn::Item::Trait(t) => &t.ident,
                _ => continue,
            };
            scope.items.insert(name.to_string());
        }
        scope
    }

    fn add_use(
        &mut self,
        tree: &syn::UseTree,
        prefix: &mut Vec<String>,
        leading: bool,
        public: bool,
    ) {
        let import = |segments: Vec<String>| Import {
            segments,
            leading_colon: leading,
            public,
        };
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.add_use(&path.tree, prefix, leading, public);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let ident = name.ident.to_string();
                if ident == "self" {
                    if let Some(last) = prefix.last() {
                        self.imports.insert(last.clone(), import(prefix.clone()));
                    }
                } else {
                    let mut full = prefix.clone();
                    full.push(ident.clone());
                    self.imports.insert(ident, import(full));
                }
            }
            syn::UseTree::Rename(rename) => {
                let ident = rename.ident.to_string();
                let mut full = prefix.clone();
                if ident != "self" {
                    full.push(ident);
                }
                if rename.rename != "_" {
                    self.imports.insert(rename.rename.to_string(), import(full));
                }
            }
            syn::UseTree::Glob(_) => self.globs.push(import(prefix.clone())),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.add_use(item, prefix, leading, public);
                }
            }
        }
    }
}

/// Resolves paths to absolute item paths, from the scopes of the modules it knows (keyed by
/// absolute module path). A module it does not know binds nothing: a path through it is taken
/// as written. Tests, examples and binaries name the library by its crate name, so its
/// modules' scopes resolve their paths too.
#[derive(Clone, Debug, Default)]
pub struct Resolver {
    pub scopes: HashMap<Vec<String>, ModuleScope>,
}

#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "Tested, but not called by the lowering, which resolves paths in lower/resolve.rs"
    )
)]
impl Resolver {
    /// The absolute path that `segments` (written in module `from`, with a leading `::` when
    /// `leading_colon`) names. External paths stay as written (`parking_lot::Mutex`).
    pub fn resolve(
        &self,
        from: &[String],
        segments: &[String],
        leading_colon: bool,
    ) -> Vec<String> {
        let mut seen = 0;
        self.resolve_hops(from, segments, leading_colon, &mut seen)
    }

    fn resolve_hops(
        &self,
        from: &[String],
        segments: &[String],
        leading_colon: bool,
        hops: &mut usize,
    ) -> Vec<String> {
        *hops += 1;
        let Some(first) = segments.first() else {
            return from.to_vec();
        };
        if leading_colon || *hops > MAX_HOPS {
            return segments.to_vec();
        }
        let rest = &segments[1..];
        let crate_root = from.first().cloned().unwrap_or_default();
        let (module, rest): (Vec<String>, &[String]) = match first.as_str() {
            "crate" => (vec![crate_root], rest),
            "self" => (from.to_vec(), rest),
            "super" => {
                let mut module = from.to_vec();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    if module.len() > 1 {
                        module.pop();
                    }
                    rest = &rest[1..];
                }
                (module, rest)
            }
            _ => {
                // A name bound in `from`: its own item, an import, a glob; else a crate.
                let scope = self.scopes.get(from);
                if let Some(import) = scope.and_then(|s| s.imports.get(first)) {
                    if !scope.is_some_and(|s| s.items.contains(first)) {
                        let mut target =
                            self.resolve_hops(from, &import.segments, import.leading_colon, hops);
                        target.extend(rest.iter().cloned());
                        return self.follow(target, hops);
                    }
                }
                if scope.is_some_and(|s| s.items.contains(first)) {
                    let mut path = from.to_vec();
                    path.extend(segments.iter().cloned());
                    return self.follow(path, hops);
                }
                if let Some(found) = self.through_globs(from, segments, hops) {
                    return found;
                }
                return self.follow(segments.to_vec(), hops);
            }
        };
        let mut path = module;
        path.extend(rest.iter().cloned());
        self.follow(path, hops)
    }

    /// An absolute path through a module that re-exports the next name (`pub use`) or takes
    /// it from a glob resolves to where that name is defined.
    fn follow(&self, path: Vec<String>, hops: &mut usize) -> Vec<String> {
        for split in 1..path.len() {
            let (module, rest) = path.split_at(split);
            let Some(scope) = self.scopes.get(module) else {
                continue;
            };
            let name = &rest[0];
            if scope.items.contains(name) {
                continue;
            }
            if let Some(import) = scope.imports.get(name) {
                let mut target =
                    self.resolve_hops(module, &import.segments, import.leading_colon, hops);
                target.extend(rest[1..].iter().cloned());
                return if *hops > MAX_HOPS {
                    target
                } else {
                    self.follow(target, hops)
                };
            }
            if let Some(found) = self.through_globs(module, rest, hops) {
                return found;
            }
        }
        path
    }

    /// `segments` found through a glob import of `module` that leads to a known module
    /// defining (or re-exporting) its first name.
    fn through_globs(
        &self,
        module: &[String],
        segments: &[String],
        hops: &mut usize,
    ) -> Option<Vec<String>> {
        let scope = self.scopes.get(module)?;
        let first = segments.first()?;
        for glob in &scope.globs {
            if *hops > MAX_HOPS {
                return None;
            }
            let target = self.resolve_hops(module, &glob.segments, glob.leading_colon, hops);
            if target == module {
                continue;
            }
            let Some(source) = self.scopes.get(&target) else {
                continue;
            };
            if source.items.contains(first) || source.imports.contains_key(first) {
                let mut path = target;
                path.extend(segments.iter().cloned());
                return Some(self.follow(path, hops));
            }
            // A glob of a module that globs in turn (a prelude of preludes).
            if let Some(found) = self.through_globs(&target, segments, hops) {
                return Some(found);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
