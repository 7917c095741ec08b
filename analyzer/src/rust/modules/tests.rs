//! Module paths of files in small crates written to a temporary directory, and `use` paths
//! resolved across their modules.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::locate;

/// A fresh directory holding `files` (path, text).
fn crate_dir(files: &[(&str, &str)]) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "threadlint-modules-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn module_of(dir: &Path, file: &str) -> Option<String> {
    locate(&dir.join(file)).map(|f| f.module.join("::"))
}

const MANIFEST: (&str, &str) = ("Cargo.toml", "[package]\nname = \"my-crate\"\n");

#[test]
fn module_paths_follow_mod_declarations_from_each_target_root() {
    let dir = crate_dir(&[
        MANIFEST,
        (
            "src/lib.rs",
            "pub mod a;\nmod c;\n#[path = \"elsewhere/odd.rs\"]\nmod d;\nmod e { mod f; }",
        ),
        ("src/a.rs", "pub mod b;"),
        ("src/a/b.rs", ""),
        ("src/c/mod.rs", "mod g;"),
        ("src/c/g.rs", ""),
        ("src/elsewhere/odd.rs", ""),
        ("src/e/f.rs", ""),
        ("src/orphan.rs", ""),
        ("src/main.rs", "mod cli;"),
        ("src/cli.rs", ""),
        ("src/bin/tool-x.rs", ""),
        ("tests/api.rs", "mod common;"),
        ("tests/common/mod.rs", ""),
        ("examples/demo.rs", ""),
        ("benches/speed.rs", ""),
    ]);
    assert_eq!(module_of(&dir, "src/lib.rs").as_deref(), Some("my_crate"));
    assert_eq!(module_of(&dir, "src/a.rs").as_deref(), Some("my_crate::a"));
    assert_eq!(
        module_of(&dir, "src/a/b.rs").as_deref(),
        Some("my_crate::a::b")
    );
    assert_eq!(
        module_of(&dir, "src/c/mod.rs").as_deref(),
        Some("my_crate::c")
    );
    assert_eq!(
        module_of(&dir, "src/c/g.rs").as_deref(),
        Some("my_crate::c::g")
    );
    assert_eq!(
        module_of(&dir, "src/elsewhere/odd.rs").as_deref(),
        Some("my_crate::d")
    );
    assert_eq!(
        module_of(&dir, "src/e/f.rs").as_deref(),
        Some("my_crate::e::f")
    );
    // Nothing declares it: not part of the crate.
    assert_eq!(module_of(&dir, "src/orphan.rs"), None);
    // `src/cli.rs` is reached from the binary's root, not the library's.
    assert_eq!(
        module_of(&dir, "src/cli.rs").as_deref(),
        Some("my_crate::cli")
    );
    let cli = locate(&dir.join("src/cli.rs")).expect("located");
    assert!(!cli.in_library);
    assert_eq!(module_of(&dir, "src/main.rs").as_deref(), Some("my_crate"));
    assert_eq!(
        module_of(&dir, "src/bin/tool-x.rs").as_deref(),
        Some("tool_x")
    );
    assert_eq!(module_of(&dir, "tests/api.rs").as_deref(), Some("api"));
    assert_eq!(
        module_of(&dir, "tests/common/mod.rs").as_deref(),
        Some("api::common")
    );
    assert_eq!(module_of(&dir, "examples/demo.rs").as_deref(), Some("demo"));
    assert_eq!(
        module_of(&dir, "benches/speed.rs").as_deref(),
        Some("speed")
    );
    let lib = locate(&dir.join("src/a/b.rs")).expect("located");
    assert!(lib.in_library);
    assert_eq!(lib.package, "my_crate");
    let test = locate(&dir.join("tests/api.rs")).expect("located");
    assert!(!test.in_library);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_without_a_package_manifest_has_no_crate() {
    let dir = crate_dir(&[("Cargo.toml", "[workspace]\n"), ("src/lib.rs", "")]);
    assert_eq!(locate(&dir.join("src/lib.rs")), None);
    let _ = std::fs::remove_dir_all(&dir);
}
