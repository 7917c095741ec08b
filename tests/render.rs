//! Snapshots of the human-readable output: what a person sees in a terminal or a CI log.

use std::process::Command;

fn render(format: &str, fixture: &str, select: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_threadlint"))
        .args([
            "check",
            "--output-format",
            format,
            "--select",
            select,
            fixture,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn full_output_with_fixes_and_help() {
    insta::assert_snapshot!(render(
        "full",
        "fixtures/python/TL002_wait_not_in_loop.py",
        "TL002"
    ));
}

#[test]
fn full_output_of_a_lock_order_cycle_with_related_sites() {
    insta::assert_snapshot!(render(
        "full",
        "fixtures/python/TL004_lock_order_inversion.py",
        "TL004"
    ));
}

#[test]
fn full_output_of_reacquisition_through_a_call() {
    insta::assert_snapshot!(render(
        "full",
        "fixtures/python/TL007_nonreentrant_reacquire.py",
        "TL007"
    ));
}

#[test]
fn concise_output() {
    insta::assert_snapshot!(render(
        "concise",
        "fixtures/python/TL001_bare_acquire.py",
        "TL001"
    ));
}

#[test]
fn full_output_of_thread_leaks_with_their_advice() {
    insta::assert_snapshot!(render(
        "full",
        "fixtures/rust/TL014_thread_leak.rs",
        "TL014"
    ));
}
