//! Module names from the package layout, and relative imports made absolute.
//!
//! A file's module path is its chain of enclosing packages (folders with an `__init__.py`) and its
//! own stem: `src/shop/orders/queue.py` is `shop.orders.queue` when `shop/` and `shop/orders/`
//! hold an `__init__.py` (the `src/` folder, holding none, is where the chain stops), and
//! `shop/__init__.py` is the package `shop` itself. A file outside any package is a top-level
//! module named by its stem. Namespace packages (folders without `__init__.py`) end the chain,
//! so their modules are named from the innermost regular package down.

use std::path::Path;

/// Where a Python file sits in its project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModulePath {
    /// The dotted module name (`shop.orders.queue`; `shop` for `shop/__init__.py`).
    pub name: String,
    /// The file is a package's `__init__.py`: relative imports start from the module itself.
    pub is_package: bool,
}

/// How deep a package chain is followed before giving up (a symlink loop, a pathological tree).
const MAX_PACKAGE_DEPTH: usize = 64;

/// The module path of the Python file at `path`, from the `__init__.py` files around it.
pub fn module_path(path: &Path) -> Option<ModulePath> {
    let stem = path.file_stem()?.to_str()?;
    if !is_identifier(stem) {
        return None;
    }
    let is_package = stem == "__init__";
    let mut parts: Vec<&str> = Vec::new();
    if !is_package {
        parts.push(stem);
    }
    let mut folder = path.parent();
    for _ in 0..MAX_PACKAGE_DEPTH {
        let Some(dir) = folder else { break };
        let has_init = dir.join("__init__.py").is_file();
        if !has_init {
            break;
        }
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            break;
        };
        if !is_identifier(name) {
            break;
        }
        parts.push(name);
        folder = dir.parent();
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    Some(ModulePath {
        name: parts.join("."),
        is_package,
    })
}

/// The absolute module named by `from <dots><target> import ...` in `module`: `level` dots, then
/// `target` (none for `from . import x`). `None` when the dots climb above the top package.
pub fn resolve_relative(module: &ModulePath, level: u32, target: Option<&str>) -> Option<String> {
    let mut parts: Vec<&str> = module.name.split('.').collect();
    if !module.is_package {
        parts.pop();
    }
    for _ in 1..level {
        parts.pop()?;
    }
    if let Some(target) = target.filter(|t| !t.is_empty()) {
        parts.extend(target.split('.'));
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

/// The modules a source imports from, read off its `import` and `from ... import` lines
/// without parsing it (absolute; relative ones through `module`). A quick look for files that
/// are otherwise not analysed; it may list more than a parser would (an import in a string).
pub fn imported_modules(source: &str, module: Option<&ModulePath>) -> Vec<String> {
    let mut found = Vec::new();
    // The lines that start with `import ` or `from ` once their indentation is trimmed, found
    // with two vectorised searches rather than by walking every line (this runs on every file
    // the prefilter skips, on every run).
    let mut starts: Vec<usize> = memchr::memmem::find_iter(source.as_bytes(), b"import ")
        .chain(memchr::memmem::find_iter(source.as_bytes(), b"from "))
        .filter(|&at| {
            let line_start = source[..at].rfind('\n').map_or(0, |newline| newline + 1);
            source[line_start..at].chars().all(char::is_whitespace)
        })
        .collect();
    starts.sort_unstable();
    for start in starts {
        let line = source[start..].split('\n').next().unwrap_or_default();
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("import ") {
            for item in rest.split(',') {
                if let Some(name) = item.split_whitespace().next() {
                    found.push(name.trim_end_matches(';').to_string());
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let Some(target) = rest.split_whitespace().next() else {
                continue;
            };
            let level = target.chars().take_while(|&c| c == '.').count();
            let name = &target[level..];
            if level == 0 {
                found.push(name.to_string());
            } else if let Some(here) = module {
                let name = (!name.is_empty()).then_some(name);
                if let Some(absolute) = resolve_relative(here, level as u32, name) {
                    found.push(absolute);
                }
            }
        }
    }
    found
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary folder");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
            std::fs::write(path, "").expect("a file");
        }
        dir
    }

    #[test]
    fn names_modules_from_packages() {
        let dir = tree(&[
            "src/shop/__init__.py",
            "src/shop/orders/__init__.py",
            "src/shop/orders/queue.py",
            "script.py",
            "ns/loose.py",
        ]);
        let name = |p: &str| module_path(&dir.path().join(p)).map(|m| (m.name, m.is_package));
        assert_eq!(
            name("src/shop/orders/queue.py"),
            Some(("shop.orders.queue".into(), false))
        );
        assert_eq!(
            name("src/shop/orders/__init__.py"),
            Some(("shop.orders".into(), true))
        );
        assert_eq!(name("script.py"), Some(("script".into(), false)));
        assert_eq!(name("ns/loose.py"), Some(("loose".into(), false)));
        assert_eq!(name("src/shop/my-file.py"), None);
    }

    #[test]
    fn reads_imported_modules_off_the_text() {
        let module = ModulePath {
            name: "shop.orders".into(),
            is_package: false,
        };
        let source = "import os, shop.locks as L\nfrom . import ledger\n  from ..db.pool import (\n    Pool,\n)\nfrom shop import locks\n";
        assert_eq!(
            imported_modules(source, Some(&module)),
            vec!["os", "shop.locks", "shop", "db.pool", "shop"]
        );
        // Indentation of any whitespace, CRLF line ends, the words inside other lines, a
        // last line without its newline.
        let source = "\x0cimport a\r\nx = 'from b import c'\r\n\tfrom d import e\n\u{3000}import f; import g\nimport  h\nfrom";
        assert_eq!(imported_modules(source, None), vec!["a", "d", "f", "h"]);
    }

    #[test]
    fn resolves_relative_imports() {
        let module = ModulePath {
            name: "shop.orders.queue".into(),
            is_package: false,
        };
        let package = ModulePath {
            name: "shop.orders".into(),
            is_package: true,
        };
        assert_eq!(
            resolve_relative(&module, 1, Some("locks")),
            Some("shop.orders.locks".into())
        );
        assert_eq!(
            resolve_relative(&module, 1, None),
            Some("shop.orders".into())
        );
        assert_eq!(
            resolve_relative(&module, 2, Some("db.pool")),
            Some("shop.db.pool".into())
        );
        assert_eq!(
            resolve_relative(&package, 1, Some("locks")),
            Some("shop.orders.locks".into())
        );
        assert_eq!(resolve_relative(&package, 2, None), Some("shop".into()));
        assert_eq!(resolve_relative(&module, 4, Some("x")), None);
    }
}
